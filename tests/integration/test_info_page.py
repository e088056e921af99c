"""/info for people, looked at in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest
from PIL import Image

from testkit.upstream import make_query, simulate

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHART_BLUE = (0x1F, 0x77, 0xB4)  # the first series' colour in every chart


def screenshot(url: str, path) -> Image.Image:
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={path.parent / 'profile'}",
            "--hide-scrollbars",
            "--window-size=1280,1000",
            "--virtual-time-budget=5000",
            f"--screenshot={path}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return Image.open(path).convert("RGB")


def near(pixel, colour, tolerance=30) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


@pytest.fixture(scope="module")
def stack(stack_factory, simulator):
    stack = stack_factory()
    simulate(simulator)
    for kind in ("png", "svg", "jpg", "pdf"):
        entry_id = stack.request(make_query(kind))["id"]
        assert httpx.get(f"{stack.url}/image/{entry_id}", timeout=30).status_code == 200
    failed = stack.request(make_query(metric=["buckets"]))["id"]
    httpx.get(f"{stack.url}/image/{failed}", timeout=30)
    return stack


def test_browsers_get_a_page_and_clients_get_json(stack):
    page = httpx.get(stack.url + "/info", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count('<img src="/image/') == 3  # png, svg, jpg; the pdf gets a label
    assert "hit ratio" in page.text and "error 400" in page.text
    assert httpx.get(stack.url + "/info").headers["content-type"].startswith("application/json")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_the_page_shows_chart_thumbnails_in_chromium(stack, tmp_path):
    image = screenshot(stack.url + "/info", tmp_path / "info.png")
    assert image.size == (1280, 1000)
    blue = sum(1 for pixel in image.get_flattened_data() if near(pixel, CHART_BLUE))
    assert blue > 500, f"only {blue} chart-blue pixels: thumbnails did not render"
