"""The index's Lua scripts: one `.lua` file each in index/lua/, opening with what its KEYS and ARGV are.

A script that says it uses checks.lua runs with those shared functions in front of it.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from redis import Redis
from redis.commands.core import Script

_USES_CHECKS = "-- Uses checks.lua"


def register(redis: Redis, name: str) -> Script:
    """The script index/lua/<name>.lua, registered with this client (loaded into Redis on first use)."""
    return redis.register_script(source(name))


@cache
def source(name: str) -> str:
    text = _read(name)
    return _read("checks") + text if _USES_CHECKS in text else text


@cache
def _read(name: str) -> str:
    return resources.files("imagecache.index").joinpath(f"lua/{name}.lua").read_text(encoding="utf-8")
