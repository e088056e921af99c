"""What the command line reads: input files (JSON, JSON lists), sizes and counts, and the error that means exit 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from imagecache_client.sizes import parse_size

ASSET_PATHS = ("s3://", "/")  # how asset paths start: a line of a list that starts so and is not JSON is one


class UsageError(Exception):
    """Bad arguments or unreadable input files: exit code 2."""


def read_text(name: str) -> str:
    """An input file argument ('-' is stdin)."""
    try:
        return sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{name}: {getattr(exc, 'strerror', None) or exc}") from None


def read_json(name: str) -> Any:
    try:
        return json.loads(read_text(name), parse_constant=_no_constants)
    except ValueError as exc:
        raise UsageError(f"{name}: not JSON: {exc}") from None


def read_list(name: str) -> list[Any]:
    """A JSON list, or one JSON value per line (blank lines and # comments skipped; a line that is no JSON but
    starts with s3:// or / is that asset path, as a string)."""
    text = read_text(name)
    try:
        whole = json.loads(text, parse_constant=_no_constants)
    except ValueError:
        whole = None
    if isinstance(whole, list):
        return whole
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            try:
                items.append(json.loads(line, parse_constant=_no_constants))
            except ValueError as exc:
                if line.strip().startswith(ASSET_PATHS):
                    items.append(line.strip())
                    continue
                raise UsageError(f"{name}:{number}: not JSON: {exc}") from None
    return items


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def byte_count(text: str) -> int:
    """'500M', '5G', '1048576' (sizes.parse_size)."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return int(text)
