"""`imagecache health`: a container's health check, right for whichever part the container runs.

The web (and the simulator) are asked over HTTP; a worker, maintenance or the
callback deliverer by the freshness of its own heartbeat (ops/heartbeat.py),
which it writes only after reaching Redis. Without a role given, the role is
read from the command line of the container's main process (PID 1).
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from pathlib import Path

from imagecache.config import Config
from imagecache.ops.heartbeat import STALE_AFTER, age

ROLES = ("web", "worker", "maintenance", "callbacks", "simulate-upstream")
HTTP_PORTS = {"web": 8000, "simulate-upstream": 9555}
HTTP_PATHS = {"web": "/health/live", "simulate-upstream": "/_sim/stats"}


@dataclass(frozen=True)
class Checked:
    role: str
    pid: int
    port: int | None


def checked_process(role: str | None, pid: int, port: int | None) -> Checked:
    """The role and port to check: as given, else as the process's own command line says."""
    words = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    found = role or next((word for word in words if word in ROLES), None)
    if found is None:
        raise ValueError(f"process {pid} runs none of {', '.join(ROLES)}: name the role")
    if port is None and "--port" in words[:-1]:
        port = int(words[words.index("--port") + 1])
    return Checked(found, pid, port)


def problem(checked: Checked, config: Config) -> str | None:
    """Why the process is not healthy, or None."""
    if checked.role in HTTP_PORTS:
        return _http_problem(checked)
    most = STALE_AFTER.get(checked.role, 3 * config.cache_maintenance_period + 30)
    seconds = age(checked.role, checked.pid)
    if seconds is None:
        where = " (the container's main process; outside a container give --pid)" if checked.pid == 1 else ""
        return f"{checked.role} (pid {checked.pid}{where}) has not yet reached Redis"
    if seconds > most:
        return f"{checked.role} (pid {checked.pid}) last reached Redis {seconds:.0f} s ago (more than {most:.0f} s)"
    return None


def _http_problem(checked: Checked) -> str | None:
    url = f"http://127.0.0.1:{checked.port or HTTP_PORTS[checked.role]}{HTTP_PATHS[checked.role]}"
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return None if answer.status == 200 else f"{url} answered {answer.status}"
    except OSError as exc:
        return f"{url}: {exc}"
