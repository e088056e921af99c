"""Byte counts as people read them (server pages and the client's command line alike; stdlib only)."""

from __future__ import annotations


def human_bytes(count: float) -> str:
    """1536 → '1.5 KiB'."""
    if count < 1024:
        return f"{count:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        count /= 1024
        if count < 1024:
            return f"{count:.1f} {unit}"
    return f"{count / 1024:.1f} TiB"
