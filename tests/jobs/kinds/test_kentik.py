import base64
import http.server
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import hypothesis.strategies as st
import pytest
import respx
from hypothesis import given, settings

from imagecache.domain.errors import FetchError
from imagecache.jobs import JobKind
from imagecache.jobs._runner import RetryingJob
from imagecache.jobs.kinds.kentik import KentikFetcher

API = "https://kentik.test/api/v5"
URL = API + "/query/topXchart"
PNG = b"\x89PNG\r\n\x1a\nfake"
QUERY = {"queries": [], "imageType": "png"}


def fetcher(retries=2, timeout=1.0):
    """Kentik's attempts as the worker runs them: through the job runner's retries."""
    kentik = KentikFetcher(API, "me@example.com", "tok", timeout=timeout)
    return RetryingJob("kentik", JobKind(run=kentik.attempt, retries=retries, timeout=5), backoff_initial=0.01)


def success(mime="image/png", data=PNG):
    return httpx.Response(200, json={"dataUri": f"data:{mime};base64,{base64.b64encode(data).decode()}"})


@respx.mock
def test_success_sends_auth_headers_and_the_query_as_is():
    route = respx.post(URL).mock(return_value=success())
    result = fetcher().fetch(QUERY)
    assert (result.content_type, result.data, result.attempts) == ("image/png", PNG, 1)
    sent = route.calls.last.request
    assert sent.headers["X-CH-Auth-Email"] == "me@example.com"
    assert sent.headers["X-CH-Auth-API-Token"] == "tok"
    assert sent.read() == b'{"queries":[],"imageType":"png"}'


@respx.mock
@pytest.mark.parametrize("status", [503, 500, 429])
def test_transient_status_is_retried(status):
    route = respx.post(URL).mock(side_effect=[httpx.Response(status, json={"error": "busy"}), success()])
    assert fetcher().fetch(QUERY).attempts == 2
    assert route.call_count == 2


@respx.mock
def test_retries_then_answers_the_upstream_status_and_message():
    route = respx.post(URL).mock(return_value=httpx.Response(503, json={"error": "maintenance"}))
    with pytest.raises(FetchError) as raised:
        fetcher(retries=3).fetch(QUERY)
    assert route.call_count == 4  # retries + 1 attempts
    error = raised.value
    assert (error.status, error.message, error.definitive, error.attempts) == (503, "maintenance", False, 4)


@respx.mock
def test_client_error_is_final_and_definitive():
    route = respx.post(URL).mock(return_value=httpx.Response(400, json={"error": "Invalid metric"}))
    with pytest.raises(FetchError) as raised:
        fetcher().fetch(QUERY)
    assert route.call_count == 1
    assert (raised.value.status, raised.value.message, raised.value.definitive) == (400, "Invalid metric", True)


@respx.mock
def test_retry_after_is_honoured():
    limited = httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "slow down"})
    respx.post(URL).mock(side_effect=[limited, success()])
    started = time.monotonic()
    fetcher().fetch(QUERY)
    assert time.monotonic() - started >= 0.95


@respx.mock
def test_timeouts_end_as_504():
    route = respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(FetchError) as raised:
        fetcher(retries=1).fetch(QUERY)
    assert route.call_count == 2
    assert raised.value.status == 504 and not raised.value.definitive


@respx.mock
def test_connection_failures_end_as_502():
    respx.post(URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(FetchError) as raised:
        fetcher(retries=1).fetch(QUERY)
    assert raised.value.status == 502


@respx.mock
@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>oops</html>"),
        httpx.Response(200, json={"other": 1}),
        httpx.Response(200, json={"dataUri": "data:image/png;base64,@@@not base64@@@"}),
        httpx.Response(200, json={"dataUri": "data:text/html;base64,PGI+"}),
        httpx.Response(200, json={"dataUri": "data:image/png,rawbytes"}),
        httpx.Response(200, json=["not", "an", "object"]),
    ],
)
def test_malformed_success_is_502_and_not_asked_again_within_the_run(response):
    route = respx.post(URL).mock(return_value=response)
    with pytest.raises(FetchError) as raised:
        fetcher().fetch(QUERY)
    assert raised.value.status == 502 and route.call_count == 1


@respx.mock
@pytest.mark.parametrize(
    ("mime", "kind"), [("image/jpeg", "jpg"), ("image/svg+xml", "svg"), ("application/pdf", "pdf")]
)
def test_every_kentik_format_is_accepted(mime, kind):
    respx.post(URL).mock(return_value=success(mime, b"data"))
    assert fetcher().fetch({"imageType": kind}).content_type == mime


@respx.mock
def test_it_says_who_it_is_and_what_it_takes():
    route = respx.post(URL).mock(return_value=success())
    fetcher().fetch(QUERY)
    sent = route.calls.last.request.headers
    assert (sent["User-Agent"], sent["Accept"], sent["Accept-Encoding"]) == (
        "imagecache",
        "application/json",
        "gzip, deflate",
    )


@contextmanager
def chart_server(note: Callable[[http.server.BaseHTTPRequestHandler], None]) -> Iterator[str]:
    """An HTTP server on loopback keeping connections alive (HTTP/1.1) that answers every POST with a chart and
    hands each request to `note` first; its address."""

    class Charts(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            note(self)
            body = json.dumps({"dataUri": f"data:image/png;base64,{base64.b64encode(PNG).decode()}"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Charts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxy(monkeypatch):
    """A forward proxy on loopback, named by HTTP_PROXY as deployments behind one name theirs: it answers every
    request itself with a chart, and keeps the target each asked for."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    asked = []
    with chart_server(lambda request: asked.append(request.path)) as address:
        monkeypatch.setenv("HTTP_PROXY", address)
        yield asked


def test_the_environment_s_proxy_carries_the_calls(proxy):
    """Behind an egress proxy the API's host may not even resolve: every call goes through the proxy."""
    kentik = KentikFetcher("http://kentik.invalid/api/v5", "me@example.com", "tok", timeout=5)
    assert kentik.attempt(QUERY).data == PNG
    assert proxy == ["http://kentik.invalid/api/v5/query/topXchart"]


def test_a_host_no_proxy_names_is_called_directly(proxy, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "kentik.invalid")
    kentik = KentikFetcher("http://kentik.invalid/api/v5", "me@example.com", "tok", timeout=5)
    with pytest.raises(FetchError) as raised:
        kentik.attempt(QUERY)
    assert raised.value.status == 502 and proxy == []


def test_a_proxy_named_without_a_scheme_is_http_s(proxy, monkeypatch):
    """`HTTP_PROXY=host:port`, as curl takes it: not a kind left out for an unknown proxy scheme."""
    monkeypatch.setenv("HTTP_PROXY", os.environ["HTTP_PROXY"].removeprefix("http://"))
    kentik = KentikFetcher("http://kentik.invalid/api/v5", "me@example.com", "tok", timeout=5)
    assert kentik.attempt(QUERY).data == PNG and proxy == ["http://kentik.invalid/api/v5/query/topXchart"]


@pytest.mark.parametrize(("no_proxy", "bypassed"), [("kentik.invalid:80", True), ("kentik.invalid:8080", False)])
def test_no_proxy_may_name_a_host_and_port(proxy, monkeypatch, no_proxy, bypassed):
    monkeypatch.setenv("NO_PROXY", no_proxy)
    kentik = KentikFetcher("http://kentik.invalid/api/v5", "me@example.com", "tok", timeout=5)
    if bypassed:
        with pytest.raises(FetchError):
            kentik.attempt(QUERY)
    else:
        kentik.attempt(QUERY)
    assert (proxy == []) is bypassed


@pytest.fixture
def kentik_api(monkeypatch):
    """Kentik's API on loopback, reached directly; the client address of each chart asked for, one per connection,
    and a barrier the next requests wait at (None: they do not)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    peers = []
    meeting: list[threading.Barrier] = []

    def note(request):
        peers.append(request.client_address)
        if meeting:
            meeting[0].wait(10)

    with chart_server(note) as address:
        yield KentikFetcher(address + "/api/v5", "me@example.com", "tok", timeout=5), peers, meeting


def test_calls_one_after_another_share_one_connection_whichever_thread_makes_them(kentik_api):
    """Few calls keep one connection warm, not one each for the many runner threads that take turns."""
    kentik, peers, _ = kentik_api
    with ThreadPoolExecutor(1) as first, ThreadPoolExecutor(1) as second:
        made = [runner.submit(kentik.attempt, QUERY).result().data for _ in range(10) for runner in (first, second)]
    assert made == [PNG] * 20 and len(set(peers)) == 1


def test_calls_at_once_have_a_connection_each_and_keep_them_for_later_calls(kentik_api):
    kentik, peers, meeting = kentik_api
    meeting.append(threading.Barrier(4))  # all four calls are in the API at once
    with ThreadPoolExecutor(4) as runners:
        assert [chart.data for chart in runners.map(kentik.attempt, [QUERY] * 4)] == [PNG] * 4
    meeting.clear()
    at_once = set(peers)
    with ThreadPoolExecutor(4) as runners:
        assert [chart.data for chart in runners.map(kentik.attempt, [QUERY] * 40)] == [PNG] * 40
    assert len(at_once) == 4 and set(peers) == at_once
    del peers[:]
    for _ in range(8):
        kentik.attempt(QUERY)
    assert len(set(peers)) == 1  # one after another: the most recently used each time


def test_a_call_that_raises_closes_its_connection_and_the_next_call_opens_another(kentik_api, monkeypatch):
    """As the watchdog's timeout may stop a call anywhere inside httpx, its transport is never handed out again."""
    kentik, peers, _ = kentik_api
    kentik.attempt(QUERY)
    answer = httpx.HTTPTransport.handle_request

    def stopped_after_the_answer(transport, request):
        answer(transport, request)
        raise TimeoutError("stopped by the watchdog")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", stopped_after_the_answer)
    with pytest.raises(TimeoutError):
        kentik.attempt(QUERY)
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", answer)
    assert kentik.attempt(QUERY).data == PNG
    assert peers[0] == peers[1] != peers[2]


def test_a_proxy_httpx_cannot_use_stops_the_kind_as_it_loads(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "gopher://proxy.example:70")
    with pytest.raises(ValueError, match="proxy"):
        KentikFetcher(API, "me@example.com", "tok", timeout=5)


@settings(max_examples=200, deadline=None)
@given(
    payload=st.text()
    | st.text(alphabet="AQw+/=-_ \n\x00é", max_size=80)
    | st.tuples(st.binary(), st.integers(0, 5)).map(lambda drawn: base64.b64encode(drawn[0]).decode() + "=" * drawn[1])
)
def test_a_chart_s_base64_is_read_as_the_standard_library_reads_it_strictly(payload):
    """The fast decoder accepts exactly what `base64.b64decode(validate=True)` accepts, and gives the same bytes."""
    try:
        expected = base64.b64decode(payload, validate=True)
    except ValueError:  # binascii.Error included: bad digits, bad padding, non-ASCII text
        expected = None
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(200, json={"dataUri": f"data:image/png;base64,{payload}"}))
        if expected is None:
            with pytest.raises(FetchError) as raised:
                fetcher().fetch(QUERY)
            assert raised.value.status == 502
        else:
            assert fetcher().fetch(QUERY).data == expected
