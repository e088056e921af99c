"""/info for people, looked at in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import httpx
import pytest
from PIL import Image
from redis import Redis

from imagecache.index.recent_figures import RedisRecentFigures
from testkit.processes import wait_until
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


def browse(url: str, tmp_path) -> tuple[str, str]:
    """The page as Chromium leaves it (its DOM after loading), and what its console said."""
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, "\n".join(line for line in result.stderr.splitlines() if "CONSOLE" in line)


def hrefs(dom: str, kind: str = "") -> list[str]:
    """The page's links to /info pages: those of a class, or every one."""
    pattern = rf'<a class="{kind}" href="(/info[^"]*)"' if kind else r'<a (?:class="[^"]*" )?href="(/info[^"]*)"'
    return re.findall(pattern, dom)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_the_operator_page_plots_the_last_hour_and_links_every_entry_to_its_detail(stack_factory, tmp_path):
    quiet = stack_factory(CACHE_MAINTENANCE_PERIOD="3600")  # one pass at start, then only the samples made here
    redis = Redis.from_url(quiet.env["REDIS_URL"], decode_responses=True)
    minutes = quiet.env["REDIS_PREFIX"] + "minutes"
    wait_until(lambda: redis.llen(minutes) == 1, 10, "the first pass's sample")
    redis.delete(minutes)
    recent, now = RedisRecentFigures(redis, quiet.env["REDIS_PREFIX"]), time.time()
    for minute, (hits, misses) in enumerate([(0, 0), (6, 2), (20, 4), (50, 5)]):  # as maintenance records them
        sample = {"hits": hits, "misses": misses, "dedupes": 0, "fetch_seconds": 0.3 * misses, "fetches": misses}
        recent.record({"t": now - 180 + 60 * minute, "queue_depth": minute, **sample})
    entry_ids = [quiet.request(make_query(kind))["id"] for kind in ("png", "svg")]
    failed = quiet.request(make_query(metric=["buckets"]))["id"]
    for entry_id in [*entry_ids, failed]:
        httpx.get(f"{quiet.url}/image/{entry_id}", timeout=30)

    dom, console = browse(quiet.url + "/info", tmp_path)
    assert console == "", console  # no error, no warning: the page loads clean
    plots = re.findall(r'<polyline class="series" points="([^"]+)"', dom)
    assert len(plots) == 4 and all(len(points.split()) == 3 for points in plots), plots  # three minutes each
    assert "hit ratio, last sample <b>97%</b>" in dom  # 30 hits of the last minute's 31 requests
    details = [href for href in hrefs(dom) if href.startswith("/info/entries/")]
    assert sorted(href.rpartition("/")[2] for href in details) == sorted([*entry_ids, failed])
    error_page, console = browse(f"{quiet.url}/info/entries/{failed}", tmp_path)
    assert console == "" and "Query</h2>" in error_page and "Invalid metric: buckets" in error_page
    assert "buckets" in error_page.split("Query</h2>")[1]  # the query itself is shown


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_the_operator_page_pages_and_filters(stack, tmp_path):
    first, _ = browse(stack.url + "/info?limit=2", tmp_path)
    shown = set(re.findall(r'href="/info/entries/([^"]+)"', first))
    assert len(shown) == 2
    following, _ = browse(stack.url + hrefs(first, "next")[0].replace("&amp;", "&"), tmp_path)
    further = set(re.findall(r'href="/info/entries/([^"]+)"', following))
    assert len(further) == 2 and further.isdisjoint(shown)  # the next page, as long, not the same again
    tagged, _ = browse(stack.url + "/info?limit=1&status=error", tmp_path)  # on a later page: looked for
    assert tagged.count('class="entry status-error"') == 1
    errors, _ = browse(stack.url + "/info?status=error", tmp_path)
    assert errors.count('class="entry status-error"') == 1 and 'class="entry status-active"' not in errors
    charts, _ = browse(stack.url + "/info?kind=nosuch", tmp_path)
    assert "No entries on this page match." in charts
