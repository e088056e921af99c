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


# Third-party internals we lean on, each for a reason no public call serves.
FOREIGN_PRIVATE = {
    "client/imagecache_client/object_store.py": "minio's SDK has no public call for a conditional multipart upload",
    "client/imagecache_client/versioned_cli.py": "argparse names its subparsers' type only privately",
    "imagecache/ops/docs_reference.py": "argparse lists a parser's subcommands only privately",
    "imagecache/ops/logs.py": "the logging HOWTO's switch for looking up each record's caller is logging._srcfile",
    "imagecache/redis_access/readiness.py": "redis-py's readiness check under gevent is replaceable only privately",
}


def module_names() -> dict[str, Path]:
    """Every module of the packages by its dotted name."""
    named = {}
    for path in modules():
        package = "imagecache_client" if "imagecache_client" in path.parts else None
        parts = list(path.relative_to(ROOT / "client" if package else ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        named[".".join(parts)] = path
    return named


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The package modules a module imports, TYPE_CHECKING blocks included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in known}


def test_no_import_cycles_of_any_kind() -> None:
    known = module_names()
    graph = {name: imports(path, known) - {name} for name, path in known.items()}
    cycles = set()

    def visit(name: str, trail: list[str]) -> None:
        for imported in graph[name]:
            if imported in trail:
                cycles.add(" -> ".join([*trail[trail.index(imported) :], imported]))
            elif imported not in done:
                visit(imported, [*trail, imported])
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    assert sorted(cycles) == []


def test_no_module_touches_another_objects_private_names() -> None:
    touching = []
    for path in modules():
        if str(path.relative_to(ROOT)) in FOREIGN_PRIVATE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            private = isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
            if private and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                touching.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert touching == []


MAX_PARAMETERS = 8


def test_no_function_takes_more_than_8_parameters() -> None:
    """Past eight, the values belong together in a value object (ProductionRules, BlobKeeping, Followups)."""
    wide = []
    for path in [*modules(), *(ROOT / "testkit").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                given = node.args
                names = [arg.arg for arg in [*given.posonlyargs, *given.args, *given.kwonlyargs]]
                count = len(names) - (names[:1] in (["self"], ["cls"])) + bool(given.vararg) + bool(given.kwarg)
                if count > MAX_PARAMETERS:
                    wide.append(f"{path.relative_to(ROOT)}: {node.name} takes {count}")
    assert wide == []
