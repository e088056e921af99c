"""Prefill: many queries or cache params into the local cache at once, failures counted, not fatal."""

from __future__ import annotations

import uuid

from imagecache_client import FileCacheClient, NotFound, UpstreamError
from imagecache_client.images import ImageRequest
from imagecache_client.prefill import prefill
from testkit.upstream import make_query
from tests.client.conftest import ALICE


def test_two_hundred_queries_with_one_failure(images):
    requests = [ImageRequest(make_query()) for _ in range(200)]
    requests[57] = ImageRequest(make_query(metric=["no_such_metric"]))
    seen = []
    report = prefill(requests, 8, lambda r: seen.append(r.done), images=images)
    assert (report.total, report.hits, report.fetched, len(report.failures)) == (200, 0, 199, 1)
    index, error = report.failures[0]
    assert index == 57 and isinstance(error, UpstreamError) and error.status == 400
    assert seen == list(range(1, 201))
    assert report.fetched_bytes > 0

    again = prefill(requests, 8, lambda r: None, images=images)
    assert (again.hits, again.fetched, len(again.failures)) == (199, 0, 1)
    assert all(images.local_copy(ask.api_query) for n, ask in enumerate(requests) if n != 57)


def test_files_by_their_params(stack, tmp_path, files):
    wanted = [{"job": uuid.uuid4().hex} for _ in range(5)]
    for n, params in enumerate(wanted[:4]):
        files.cached(params, lambda out, n=n: out.write_text(f"result {n}"))
    with FileCacheClient(stack.url, ALICE, cache_dir=tmp_path / "fresh") as fresh:
        report = prefill(wanted, 4, lambda r: None, files=fresh)
        assert (report.fetched, report.hits, len(report.failures)) == (4, 0, 1)
        assert isinstance(report.failures[0][1], NotFound) and report.failures[0][0] == 4
        assert fresh.fetch_params(wanted[2]).path.read_text() == "result 2"
