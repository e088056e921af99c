"""The house rules that keep the folder listing the architecture (import-linter checks the layers in make lint)."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from testkit.processes import ROOT

PACKAGES = ("imagecache", "workers", "client/imagecache_client")
MAX_LINES = 400


def modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n for path in modules() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_two_classes_share_a_name() -> None:
    homes: dict[str, list[str]] = defaultdict(list)
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                homes[node.name].append(str(path.relative_to(ROOT)))
    assert {name: places for name, places in homes.items() if len(places) > 1} == {}


def test_no_package_holds_singular_and_plural_twins() -> None:
    folders = {path.parent for path in modules()}
    twins = []
    for folder in folders:
        names = {entry.stem for entry in folder.iterdir() if entry.suffix == ".py" or (entry / "__init__.py").exists()}
        twins += [f"{folder.relative_to(ROOT)}/{name}" for name in names if name + "s" in names]
    assert twins == []


def test_lua_scripts_say_their_keys_and_argv() -> None:
    scripts = sorted((ROOT / "imagecache").glob("*/lua/*.lua"))
    assert {script.parent.parent.name for script in scripts} == {"index", "queueing"}
    for script in scripts:
        opening = script.read_text().split("\n\n", 1)[0]
        if not opening.startswith("-- Functions"):  # the shared functions a script says it uses
            assert re.search(r"^-- KEYS", opening, re.M) and re.search(r"^-- ARGV", opening, re.M), script.name


def test_every_module_says_why_it_exists() -> None:
    silent = [
        str(p.relative_to(ROOT))
        for p in modules()
        if p.stat().st_size and ast.get_docstring(ast.parse(p.read_text())) is None
    ]
    assert silent == []


def test_benchmarks_and_the_test_kit_import_nothing_from_the_tests() -> None:
    """bench/ and testkit/ share what runs real services; neither leans on a test module."""
    leaning = []
    for path in sorted([*(ROOT / "bench").rglob("*.py"), *(ROOT / "testkit").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            leaning += [f"{path.relative_to(ROOT)}: {name}" for name in names if name.split(".")[0] == "tests"]
    assert leaning == []
