"""Hosts on one machine: a network namespace each, joined by one bridge, for tests of what crosses a network.

Each host reaches the others only by their addresses on the bridge (the root
namespace, where the test runs, has the bridge's first address). Every name
carries this network's tag, so two runs on one machine never meet, and
`close` (run on leaving the `with`, a failing test included) kills every
process started in a host and removes every namespace and link made here.
Needs root and iproute2's `ip`.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType


def available() -> str:
    """Why namespaces cannot be made here ('' when they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2's ip is not installed"
    return ""


def _wait_group_gone(group: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise TimeoutError(f"process group {group} outlived SIGKILL")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class Host:
    """One namespace: its address on the bridge, and the processes started in it."""

    def __init__(self, name: str, namespace: str, address: str, link: str) -> None:
        self.name = name
        self.namespace = namespace
        self.address = address
        self.link = link  # its end of the veth pair on the bridge, in the root namespace
        self.processes: list[subprocess.Popen[bytes]] = []

    def spawn(
        self, argv: list[str], env: Mapping[str, str], log_path: Path, cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """Start argv inside this host, in a process group of its own, logging to log_path."""
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace, *argv],
                env={**os.environ, **env},
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def cut(self) -> None:
        """Take its link down: nothing reaches it, nothing leaves it."""
        _ip("link", "set", self.link, "down")

    def mend(self) -> None:
        """Its link up again, and what it learnt of its neighbours while cut forgotten (else it answers 'no route
        to host' for a while)."""
        _ip("link", "set", self.link, "up")
        _ip("-n", self.namespace, "neigh", "flush", "all")

    def kill(self) -> None:
        """SIGKILL every process started here, children included, as a host that dies takes them all; returns
        once every one is gone (so whatever their sockets send as they close has been sent)."""
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            _wait_group_gone(process.pid)
        self.processes.clear()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM every process started here; SIGKILL what is still there after timeout."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()


class Network:
    def __init__(self, names: list[str]) -> None:
        self.tag = uuid.uuid4().hex[:5]
        self.bridge = f"icb{self.tag}"
        subnet = f"10.{random.randint(200, 249)}.{random.randint(0, 255)}"
        self.gateway = f"{subnet}.1"
        self.hosts = {
            name: Host(name, f"imagecache-{self.tag}-{name}", f"{subnet}.{10 + n}", f"ic{self.tag}v{n}")
            for n, name in enumerate(names)
        }

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def __enter__(self) -> Network:
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _build(self) -> None:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for host in self.hosts.values():
            _ip("netns", "add", host.namespace)
            _ip("link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", host.namespace)
            _ip("link", "set", host.link, "master", self.bridge, "up")
            inside = ("-n", host.namespace)
            _ip(*inside, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _ip(*inside, "link", "set", "eth0", "up")
            _ip(*inside, "link", "set", "lo", "up")

    def close(self) -> None:
        """Every process killed, every namespace and link removed; safe to call on a half-built network."""
        for host in self.hosts.values():
            host.kill()
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True)
            subprocess.run(["ip", "link", "del", host.link], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)

    def leftovers(self) -> list[str]:
        """Namespaces and links of this network still there (none after close)."""
        namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
        return [line for line in (namespaces + links).splitlines() if self.tag in line]
