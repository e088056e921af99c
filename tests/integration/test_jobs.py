"""Job kinds through a live stack: the example package (examples/mandelbrot-job) installed beside the built-ins,
run by a real worker, chosen per request; today's requests and ids unchanged."""

from __future__ import annotations

import io
import json
import time

import httpx
import pytest
from PIL import Image
from redis import Redis

from imagecache_client.ids import query_digest
from testkit.upstream import make_query, simulate, upstream_stats

VIEW = {"width": 64, "height": 48, "zoom": 2}


@pytest.fixture(scope="module")
def stack(stack_factory):
    return stack_factory()


def post(stack, body):
    return httpx.post(stack.url + "/requests", json=body, timeout=10)


def image(stack, entry_id):
    return httpx.get(f"{stack.url}/image/{entry_id}", timeout=30)


def test_jobs_lists_the_kinds_the_workers_run_with_their_settings(stack):
    listed = httpx.get(stack.url + "/jobs", timeout=10).json()
    kinds = {kind["name"]: kind for kind in listed["jobs"]}
    assert listed["default"] == "kentik" and {"kentik", "chart", "mandelbrot"} <= set(kinds)
    mandelbrot = kinds["mandelbrot"]
    assert (mandelbrot["timeout"], mandelbrot["concurrency"], mandelbrot["default_ttl"]) == (120, 2, 7 * 24 * 3600)
    assert mandelbrot["description"].startswith("A PNG of the Mandelbrot set")


def test_a_package_job_runs_end_to_end_under_its_own_id_ttl_and_cap(stack, redis_url):
    created = post(stack, {"job": "mandelbrot", "api_query": VIEW}).json()
    digest, expiry = created["id"].split("_")
    assert digest == query_digest(VIEW, "mandelbrot") != query_digest(VIEW)
    assert abs(float(expiry) - (time.time() + 7 * 24 * 3600)) < 10  # the kind's default ttl
    response = image(stack, created["id"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).size == (64, 48)
    summary = httpx.get(f"{stack.url}/requests/{created['id']}", timeout=10).json()
    assert (summary["job"], summary["status"], summary["size"]) == ("mandelbrot", "active", len(response.content))
    cap = Redis.from_url(redis_url).hget(
        f"rq:rl:{stack.env['REDIS_PREFIX'].rstrip(':')}-upstream:mandelbrot", "concurrency"
    )
    assert cap == b"2"


def test_the_default_kind_named_or_omitted_keeps_todays_id_and_another_kind_never_shares_it(stack, simulator):
    simulate(simulator)
    query = make_query("svg")
    omitted = stack.request(query)
    assert omitted["id"].split("_")[0] == query_digest(query)
    assert stack.request(query, job="kentik")["id"] == omitted["id"]
    charted = stack.request(query, job="chart")
    assert charted["id"].split("_")[0] == query_digest(query, "chart") and charted["id"] != omitted["id"]
    assert image(stack, omitted["id"]).status_code == 200 and image(stack, charted["id"]).status_code == 200
    assert upstream_stats(simulator)["calls"] == 1  # the chart kind draws locally: Kentik is asked once


def test_a_query_the_kind_refuses_is_a_400_at_post_and_nothing_is_queued(stack):
    before = stack.info()["misses"]
    refused = post(stack, {"job": "mandelbrot", "api_query": {"width": 0}})
    assert refused.status_code == 400
    assert refused.json() == {
        "type": "invalid request",
        "loc": "api_query",
        "msg": "'width' must be an integer from 1 to 4096",
    }
    assert stack.info()["misses"] == before


@pytest.mark.parametrize(
    ("job", "says"),
    [
        ("nosuch", "job 'nosuch' is not served here; served: chart, kentik, mandelbrot"),
        (5, "'job': Input should be a valid string"),
    ],
)
def test_a_job_no_worker_runs_is_a_400_naming_the_served_ones(stack, job, says):
    refused = post(stack, {"job": job, "api_query": VIEW})
    assert refused.status_code == 400 and refused.json()["loc"] == "job" and refused.json()["msg"].startswith(says)


def test_a_kind_installed_on_the_web_host_but_on_no_worker_is_refused_not_left_pending(stack_factory):
    partial = stack_factory(("web", "maintenance"))
    partial.start_part("worker", JOBS_EXCLUDE="mandelbrot")
    refused = post(partial, {"job": "mandelbrot", "api_query": VIEW})
    assert refused.status_code == 400 and "served: chart, kentik" in refused.json()["msg"]
    assert "mandelbrot" not in {kind["name"] for kind in httpx.get(partial.url + "/jobs", timeout=10).json()["jobs"]}


def test_a_job_reports_its_progress_to_those_waiting_for_it(stack):
    view = {"width": 1200, "height": 1200, "quality": 3000, "zoom": 1 + time.time() % 1}  # about 2 s of drawing
    entry_id = post(stack, {"job": "mandelbrot", "api_query": view}).json()["id"]
    progress, views, settled = [], [], {"status": "pending"}
    # About 2 s of drawing alone, many more on a machine busy with the rest of the suite: a stream that ends with the
    # entry still pending is followed by another, as a client would.
    for _ in range(8):
        if settled["status"] != "pending":
            break
        with httpx.stream("GET", f"{stack.url}/events", params={"id": entry_id, "wait": 10}, timeout=60) as stream:
            event = ""
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "progress":
                    progress.append(json.loads(line[6:]))
                    views.append(httpx.get(f"{stack.url}/requests/{entry_id}", timeout=10).json())
                elif line.startswith("data: ") and event == "entry":
                    settled = json.loads(line[6:])
    assert settled["status"] == "active"
    fractions = [report["fraction"] for report in progress]
    assert len(fractions) >= 2 and fractions == sorted(fractions) and 0 < fractions[0] and fractions[-1] <= 1
    assert all(report["id"] == entry_id and report["message"].endswith("of 1200 drawn") for report in progress)
    pending = [view for view in views if view["status"] == "pending"]
    assert pending and all(0 < view["progress"]["fraction"] <= 1 for view in pending)
    assert "progress" not in httpx.get(f"{stack.url}/requests/{entry_id}", timeout=10).json()  # settled: gone
