"""The client's newer calls against a live stack: job kinds, tags and purge, stale answers, a long poll, event
streams; and the command line's purge, events and jobs."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from imagecache_client import Extras
from imagecache_client.ids import query_digest
from testkit.upstream import make_query, simulate

VIEW = {"width": 32, "height": 24}


def test_a_named_job_kind_is_asked_for_fetched_and_found_locally_after(images, calls):
    entry = images.request(VIEW, extras=Extras(job="mandelbrot"))
    assert entry.id.startswith(query_digest(VIEW, "mandelbrot") + "_")
    path = images.fetch(VIEW, extras=Extras(job="mandelbrot"))
    assert path.read_bytes().startswith(b"\x89PNG")
    before = len(calls.seen)
    assert images.fetch(VIEW, extras=Extras(job="mandelbrot")) == path and len(calls.seen) == before
    assert "mandelbrot" in {kind["name"] for kind in images.jobs()["jobs"]}


def test_tags_then_purge_remove_what_the_server_serves(stack, images, simulator):
    simulate(simulator)
    tag = f"client:{make_query()['queries'][0]['query']['descriptor']}"
    entry = images.request(make_query(), extras=Extras(tags=(tag,)))
    assert images.status(entry.id, wait=4)["status"] == "active"
    assert images.purge([tag]) == 1
    assert httpx.get(f"{stack.url}/image/{entry.id}", timeout=10).status_code == 404


def test_a_stale_result_answers_while_it_is_refreshed(images, simulator):
    simulate(simulator)
    query = make_query()
    first = images.request(query)
    images.status(first.id, wait=4)
    simulate(simulator, latency_ms=2000)
    stale = images.request(query, max_age=0, extras=Extras(stale_while_revalidate=600))
    assert (stale.id, stale.status) == (first.id, "stale")


def test_events_yield_each_entry_as_it_settles(images, simulator):
    simulate(simulator, latency_ms=300)
    ids = [images.request(make_query()).id for _ in range(3)]
    events = list(images.events(ids, wait=4))
    assert sorted(event["id"] for event in events) == sorted(ids)
    assert {event["status"] for event in events} == {"active"}


@pytest.fixture
def command(stack, tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        env = {"IMAGECACHE_URL": stack.url, "IMAGECACHE_CACHE_DIR": str(tmp_path / "local"), "PATH": ""}
        script = [sys.executable, "-m", "imagecache_client.cli"]
        return subprocess.run([*script, *args], env=env, capture_output=True, text=True, timeout=60)

    return run


def test_the_command_line_purges_streams_events_and_lists_jobs(images, command, simulator):
    simulate(simulator)
    entry = images.request(make_query(), extras=Extras(tags=("cli:purge",)))
    streamed = command("events", entry.id)
    assert streamed.returncode == 0, streamed.stderr
    assert json.loads(streamed.stdout.splitlines()[0])["status"] == "active"
    purged = command("purge", "cli:purge")
    assert (purged.returncode, purged.stdout.strip()) == (0, "1")
    listed = command("jobs")
    assert listed.returncode == 0 and "mandelbrot" in listed.stdout
