"""The documentation builds (strict: a broken link or anchor fails) and its reference is the code's."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest

from imagecache.config import Config
from testkit.processes import ROOT

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="the docs extra is not installed")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    return folder


def test_the_configuration_page_lists_every_setting(site):
    page = (site / "reference" / "configuration" / "index.html").read_text()
    assert [name.upper() for name in Config.model_fields if name.upper() not in page] == []


def test_the_api_page_lists_every_operation_the_server_serves(site):
    from imagecache.config import load_config
    from imagecache.web.contract.openapi import OpenApiDocument, SwitchedOn
    from imagecache.web.contract.requests import Contract

    document = OpenApiDocument(Contract.of(load_config(_env_file=None)), SwitchedOn(), kinds=["chart"]).build()
    page = (site / "reference" / "http-api" / "index.html").read_text()
    missing = [
        f"{m.upper()} {p}" for p, item in document["paths"].items() for m in item if f"{m.upper()} {p}" not in page
    ]
    assert missing == []


def test_the_api_page_says_what_each_cache_status_means(site):
    from html import escape

    from imagecache.web import cache_status

    page = (site / "reference" / "http-api" / "index.html").read_text()
    assert [value for value, meaning in cache_status.ANSWERS.items() if escape(meaning, quote=False) not in page] == []


def test_the_commands_page_has_every_subcommand(site):
    page = (site / "reference" / "commands" / "index.html").read_text()
    for command in ("up", "web", "worker", "maintenance", "callbacks", "health", "admin"):
        assert f"imagecache {command}" in page, command


def test_no_word_of_how_it_was_made(site):
    """Readers meet the product: no issue numbers, closing notes or sessions."""
    words = re.compile(r"\bissue \d+|closing note|\bsession\b|\bthe seed\b", re.IGNORECASE)
    pages = [*ROOT.joinpath("docs").rglob("*.md"), ROOT / "README.md"]
    assert [str(page.relative_to(ROOT)) for page in pages if words.search(page.read_text())] == []


def test_the_benchmarks_page_plots_each_figure_against_its_peer(site):
    import json

    figures = json.loads((ROOT / "docs" / "explanation" / "figures.json").read_text())["figures"]
    page = (site / "explanation" / "benchmarks" / "index.html").read_text()
    assert page.count("<rect ") == 2 * len(figures) and "the peer" in page
