"""The Lua scripts of the Redis adapters: one `.lua` file each, in the adapter's lua/ folder, opening with what its
KEYS and ARGV are. The index's live in index/lua/, the RQ queue's in queueing/lua/.

A script with a line `-- Uses <name>.lua` runs with that file's shared functions (from the same folder) in front of
it.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from redis import Redis
from redis.commands.core import Script

_USES = re.compile(r"^-- Uses (\w+)\.lua", re.M)


def register(redis: Redis, name: str, package: str = "imagecache.index") -> Script:
    """The script <package>/lua/<name>.lua, registered with this client (loaded into Redis on first use)."""
    return redis.register_script(source(name, package))


@cache
def source(name: str, package: str = "imagecache.index") -> str:
    text = _read(name, package)
    return "".join(_read(used, package) for used in _USES.findall(text)) + text


@cache
def _read(name: str, package: str) -> str:
    return resources.files(package).joinpath(f"lua/{name}.lua").read_text(encoding="utf-8")
