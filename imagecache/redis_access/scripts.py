"""The Lua scripts of the Redis adapters: one `.lua` file each, in the adapter's lua/ folder, opening with what its
KEYS and ARGV are. The index's live in index/lua/, the RQ queue's in queueing/lua/.

A script with a line `-- Uses <name>.lua` runs with that file's shared functions (from the same folder) in front of
it; `-- Uses <package>:<name>.lua` takes them from another adapter's folder (the index's request script enqueues its
new entry's job with the queue's own function). A shared file may use others: each comes once, before its users.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from redis import Redis
from redis.commands.core import Script

_USES = re.compile(r"^-- Uses (?:([\w.]+):)?(\w+)\.lua", re.M)


def register(redis: Redis, name: str, package: str = "imagecache.index") -> Script:
    """The script <package>/lua/<name>.lua, registered with this client (loaded into Redis on first use)."""
    return redis.register_script(source(name, package))


@cache
def source(name: str, package: str = "imagecache.index") -> str:
    shared: list[tuple[str, str]] = []
    _shared_by(name, package, shared)
    return "".join(_read(used, where) for used, where in shared) + _read(name, package)


def _shared_by(name: str, package: str, found: list[tuple[str, str]], chain: tuple[tuple[str, str], ...] = ()) -> None:
    """The shared files a script uses, their own first, each once, into `found`. `chain`: the files whose uses
    lead here, so that a file using itself, however indirectly, is named instead of followed forever."""
    chain = (*chain, (name, package))
    for where, used in _USES.findall(_read(name, package)):
        key = (used, where or package)
        if key in chain:
            path = " -> ".join(f"{folder}:{file}.lua" for file, folder in (*chain, key))
            raise ValueError(f"Lua files that use each other: {path}")
        if key not in found:
            _shared_by(*key, found, chain)
            found.append(key)


@cache
def _read(name: str, package: str) -> str:
    return resources.files(package).joinpath(f"lua/{name}.lua").read_text(encoding="utf-8")
