"""Byte counts as people read them (server pages and the client's command line alike; stdlib only)."""

from __future__ import annotations

import re

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)
SIZE_EXAMPLES = "512M, 5G or 5GiB"


def parse_size(text: str) -> int:
    """'5G', '5GiB', '5 GB', '512M', '1048576' as bytes (K, M, G, T: powers of 1024); ValueError for anything
    else, saying what is accepted."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size: write bytes or a size such as {SIZE_EXAMPLES}")
    return int(float(match[1]) * _UNITS[match[2].upper()])


def human_bytes(count: float) -> str:
    """1536 → '1.5 KiB'."""
    if count < 1024:
        return f"{count:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        count /= 1024
        if count < 1024:
            return f"{count:.1f} {unit}"
    return f"{count / 1024:.1f} TiB"
