"""What other people's clients and attackers send, against a live stack: each answer is clear and changes nothing."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from imagecache.auth.hashed_secrets import HashedSecrets
from imagecache.auth.static_tokens import StaticTokens
from testkit.processes import Process, free_port, http_ok, wait_until
from testkit.raw_http import exchange, get, read_response, send_and_hang_up
from testkit.upstream import make_query

STALL_SECONDS = 1


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("secrets")


@pytest.fixture(scope="module")
def token(secrets_dir):
    return StaticTokens(secrets_dir / "tokens").add("alice")


@pytest.fixture(scope="module")
def api_key(secrets_dir):
    return HashedSecrets(secrets_dir / "keys").add("dashboard")


@pytest.fixture(scope="module")
def stack(stack_factory, secrets_dir, token, api_key):
    return stack_factory(
        AUTH_MODE="static",
        AUTH_TOKENS_FILE=str(secrets_dir / "tokens"),
        API_KEYS_FILE=str(secrets_dir / "keys"),
        BODY_STALL_TIMEOUT=str(STALL_SECONDS),
        ENTRY_WAIT_TIMEOUT="5",
    )


def v1(token):
    return {"Authorization": token}


def new_cache_id(stack, token):
    response = httpx.post(stack.url + "/v1/cache_id", headers=v1(token), json={"job": uuid.uuid4().hex})
    assert response.status_code == 200, response.text
    return response.json()["cache_id"]


def stored_blobs(stack, cache_id):
    folder = stack.workdir / "cache" / "files" / cache_id[:2] / cache_id
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".meta")) if folder.exists() else []


def temporary_files(stack):
    return list((stack.workdir / "cache" / ".tmp").iterdir())


# --- API keys guard every spelling of a guarded route ---------------------------------------------------------

GUARDED = [
    ("GET", "/info"),
    ("GET", "/metrics"),
    ("POST", "/requests"),
    ("GET", "/requests/{id}"),
    ("GET", "/image/{id}"),
    ("HEAD", "/image/{id}"),
]


@pytest.fixture(scope="module")
def entry_id(stack, api_key):
    """A live entry, so a guard walked past would answer 200, not 404."""
    posted = httpx.post(
        stack.url + "/requests", json={"api_query": make_query()}, headers={"Authorization": f"Bearer {api_key}"}
    )
    assert posted.status_code == 200, posted.text
    return posted.json()["id"]


def spellings(path: str) -> list[str]:
    first, rest = path[1], path[2:]
    return [
        path,
        "/" + path,
        path + "/",
        "/." + path,
        "//" + path + "//",
        path.replace("/", "//"),
        f"/%{ord(first):02x}{rest}",
        f"/%{ord(first):02X}{rest}",
        "/x/.." + path,
    ]


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_every_spelling_of_a_guarded_route_needs_a_key(stack, api_key, entry_id, method, path):
    path = path.format(id=entry_id)
    for target in spellings(path):
        refused = get(stack.port, target, method=method)
        assert refused.status in (401, 404), (target, refused.status, refused.body)
        if refused.status == 401:
            assert method == "HEAD" or refused.json()["type"] == "unauthorized"
    allowed = get(stack.port, path, {"Authorization": f"Bearer {api_key}"}, method=method)
    assert allowed.status in (200, 400), allowed.body  # past the guard (400: the POST's body is "{}")


def test_open_routes_stay_open_in_every_spelling(stack):
    for target in spellings("/health") + spellings("/favicon.ico"):
        assert get(stack.port, target).status in (200, 404), target


# --- an upload is stored only when all of it arrived -----------------------------------------------------------


def multipart_upload(cache_id: str, token: str, data: bytes, *, closing: bool = True) -> tuple[bytes, bytes]:
    """The request head and its full body (closing boundary left out unless `closing`)."""
    boundary = "h0stile"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.bin"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + data
    body += f"\r\n--{boundary}--\r\n".encode() if closing else b""
    head = (
        f"POST /v1/cache/{cache_id} HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode(), body


def uploaded(stack, token, cache_id, data):
    response = httpx.post(f"{stack.url}/v1/cache/{cache_id}", headers=v1(token), files={"file": ("k", data)})
    assert response.status_code == 200, response.text


def download(stack, token, cache_id):
    return httpx.get(f"{stack.url}/v1/cache/{cache_id}", headers=v1(token))


@pytest.mark.parametrize("reset", [False, True], ids=["FIN", "RST"])
@pytest.mark.parametrize("cut_at", [0.1, 0.5, 0.999])
def test_an_upload_cut_off_mid_body_leaves_the_old_file(stack, token, reset, cut_at):
    cache_id = new_cache_id(stack, token)
    uploaded(stack, token, cache_id, b"kept")
    kept = stored_blobs(stack, cache_id)
    head, body = multipart_upload(cache_id, token, os.urandom(300_000))
    send_and_hang_up(stack.port, head + body[: int(len(body) * cut_at)], reset=reset)
    time.sleep(0.5)
    assert download(stack, token, cache_id).content == b"kept"
    wait_until(lambda: stored_blobs(stack, cache_id) == kept and not temporary_files(stack), 5, "no stray blob")


def test_an_upload_whose_later_part_is_cut_off_is_refused(stack, token):
    cache_id = new_cache_id(stack, token)
    uploaded(stack, token, cache_id, b"kept")
    head, body = multipart_upload(cache_id, token, b"file bytes", closing=False)
    extra = b'\r\n--h0stile\r\nContent-Disposition: form-data; name="note"\r\n\r\ncut off here'
    head = head.replace(f"Content-Length: {len(body)}".encode(), f"Content-Length: {len(body + extra)}".encode())
    answer = exchange(stack.port, head + body + extra)
    assert answer.status == 400 and "closing boundary" in answer.json()["error"]
    assert download(stack, token, cache_id).content == b"kept"


def test_an_upload_without_its_closing_boundary_is_refused(stack, token):
    cache_id = new_cache_id(stack, token)
    uploaded(stack, token, cache_id, b"kept")
    head, body = multipart_upload(cache_id, token, b"truncated" * 1000, closing=False)
    answer = exchange(stack.port, head + body)
    assert answer.status == 400 and "Malformed upload" in answer.json()["error"]
    assert download(stack, token, cache_id).content == b"kept"
    assert len(stored_blobs(stack, cache_id)) == 1 and not temporary_files(stack)


# --- JSON the parser accepts gets a 400 or is served, never a 500 -------------------------------------------------

NASTY_JSON = {
    "deep": "[" * 100_000 + "]" * 100_000,
    "deep object": '{"a":' * 5_000 + "1" + "}" * 5_000,
    "infinity": '{"api_query": {"a": 1e400}, "x": 1}',
    "lone surrogate": '{"api_query": {"a": "\\ud800"}}',
    "surrogate key": '{"api_query": {"\\udfff": 1}}',
    "huge int": '{"api_query": {"a": ' + "9" * 5000 + "}}",
}


@pytest.mark.parametrize("name", sorted(NASTY_JSON))
def test_json_that_parses_is_never_a_500(stack, token, api_key, name):
    body = NASTY_JSON[name].encode()
    for path, headers in (("/requests", {"Authorization": f"Bearer {api_key}"}), ("/v1/cache_id", v1(token))):
        response = httpx.post(stack.url + path, content=body, headers={**headers, "Content-Type": "application/json"})
        assert response.status_code == 400, (path, response.text)
        message = response.json().get("msg") or response.json().get("error")
        assert message and "Traceback" not in message
    assert "Traceback" not in stack.parts["web"].log()


def test_chunked_json_is_read(stack, token, api_key):
    body = json.dumps({"api_query": make_query()}).encode()
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)]
    posted = httpx.post(
        stack.url + "/requests",
        content=iter(chunks),
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["id"].count("_") == 1
    cache_id = httpx.post(
        stack.url + "/v1/cache_id",
        content=iter([b'{"jo', b'b": 1}']),
        headers={**v1(token), "Content-Type": "application/json"},
    )
    assert cache_id.status_code == 200, cache_id.text


@pytest.mark.parametrize("chunks", [b"zz\r\n{}\r\n0\r\n\r\n", b'100\r\n{"api_query"'], ids=["bad size", "cut off"])
def test_broken_chunked_json_is_a_400(stack, api_key, chunks):
    head = (
        f"POST /requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {api_key}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as conn:
        conn.sendall(head + chunks)
        conn.shutdown(socket.SHUT_WR)
        answer = read_response(conn)
    assert answer.status == 400, answer.body
    assert "Traceback" not in stack.parts["web"].log()


def test_a_token_that_is_not_ascii_is_refused(stack_factory, kbase_auth):
    kbase = stack_factory(parts=("web",), AUTH_MODE="kbase", KBASE_AUTH_URL=kbase_auth.url)
    raw = (
        "POST /v1/cache_id HTTP/1.1\r\nHost: x\r\nAuthorization: t\u00f6ken\r\n"
        'Content-Type: application/json\r\nContent-Length: 8\r\n\r\n{"a": 1}'
    ).encode("latin-1")
    answer = exchange(kbase.port, raw)
    assert answer.status == 403 and answer.json()["error"] == "Invalid token"


def test_chunked_json_over_the_limit_is_413(stack, api_key):
    chunks = (b" " * 65536 for _ in range(40))  # 2.5 MiB of whitespace, past MAX_BODY_BYTES
    response = httpx.post(
        stack.url + "/requests",
        content=chunks,
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413


# --- /metrics cannot be inflated by anyone --------------------------------------------------------------------


def test_made_up_methods_do_not_grow_the_metrics(stack, api_key):
    for n in range(60):
        exchange(stack.port, f"FOO{n} /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    text = httpx.get(stack.url + "/metrics", headers={"Authorization": f"Bearer {api_key}"}).text
    methods = set(re.findall(r'method="([^"]*)"', text))
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    assert "other" in methods


# --- a body that stalls ends in 408; a slow body that moves is never cut ------------------------------------------


def test_a_stalled_body_ends_with_408(stack, api_key):
    head = (
        f"POST /requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {api_key}\r\n"
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"api_'
    ).encode()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", stack.port), timeout=30) as conn:
        conn.sendall(head)
        answer = read_response(conn)
        assert answer.status == 408 and "no bytes" in answer.json()["msg"]
        assert conn.recv(1) == b""  # the connection is closed, not kept alive with a half-read body
    assert STALL_SECONDS <= time.monotonic() - started < STALL_SECONDS + 5


def test_a_slow_upload_that_keeps_moving_is_stored(stack, token):
    cache_id = new_cache_id(stack, token)
    head, body = multipart_upload(cache_id, token, os.urandom(6000))
    with socket.create_connection(("127.0.0.1", stack.port), timeout=30) as conn:
        conn.sendall(head)
        pieces = [body[i : i + len(body) // 6 + 1] for i in range(0, len(body), len(body) // 6 + 1)]
        for piece in pieces:  # 3 s in all, 0.5 s apart: longer than the stall limit, never idle that long
            time.sleep(STALL_SECONDS / 2)
            conn.sendall(piece)
        answer = read_response(conn)
    assert answer.status == 200, answer.body
    assert answer.json()["size"] == 6000


# --- gunicorn's own refusals come as JSON ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /" + b"x" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % n for n in range(120)) + b"\r\n", 431),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 9000 + b"\r\n\r\n", 431),
        (b"GARBAGE\r\n\r\n", 400),
    ],
)
def test_gunicorn_refusals_are_json(stack, raw, status):
    answer = exchange(stack.port, raw)
    assert answer.status == status
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["msg"] and body["error"] == body["msg"] and body["status"] == "error"


# --- downloads cannot be sniffed; names are bounded --------------------------------------------------------------


def test_downloads_are_not_sniffed_and_long_names_are_capped(stack, token):
    cache_id = new_cache_id(stack, token)
    name = "é" * 3000 + ".html"
    response = httpx.post(
        f"{stack.url}/v1/cache/{cache_id}",
        headers=v1(token),
        files={"file": (name, b"<script>alert(1)</script>", "text/html")},
    )
    assert response.status_code == 200
    stored = response.json()["filename"]
    assert 0 < len(stored.encode()) <= 255 and stored.endswith(".html")
    got = download(stack, token, cache_id)
    assert got.headers["x-content-type-options"] == "nosniff"
    assert len(got.headers["content-disposition"]) < 1024


# --- what our peers' clients do works --------------------------------------------------------------------------


def test_a_reused_file_handle_uploads_hundreds_of_files_at_once(stack, token):
    """As `requests` sends `files={"file": handle}`: it reads the handle, and never rewinds it."""
    handle = io.BytesIO(b"only the first upload gets these bytes")
    ids = [new_cache_id(stack, token) for _ in range(400)]  # 50 at once, as the peer's stress test sends them
    with (
        httpx.Client(  # idle connections expire before the server's 5 s keep-alive can close one under a request
            base_url=stack.url,
            headers=v1(token),
            timeout=60,
            limits=httpx.Limits(max_connections=50, keepalive_expiry=2),
        ) as client,
        ThreadPoolExecutor(50) as pool,
    ):

        def statuses(call):
            return sorted(set(pool.map(call, ids)))

        # Every upload after the first reads the handle at its end: 0 bytes, as real clients send them.
        assert statuses(lambda i: client.post(f"/v1/cache/{i}", files={"file": ("f", handle.read())}).status_code) == [
            200
        ]
        assert statuses(lambda i: client.get(f"/v1/cache/{i}").status_code) == [200]
        assert statuses(lambda i: client.delete(f"/v1/cache/{i}").status_code) == [200]
    assert {download(stack, token, i).status_code for i in ids[::20]} == {404}


def test_an_empty_file_can_be_replaced_and_deleted(stack, token):
    cache_id = new_cache_id(stack, token)
    uploaded(stack, token, cache_id, b"")
    assert download(stack, token, cache_id).content == b""
    uploaded(stack, token, cache_id, b"")
    uploaded(stack, token, cache_id, b"now with bytes")
    uploaded(stack, token, cache_id, b"")
    assert httpx.delete(f"{stack.url}/v1/cache/{cache_id}", headers=v1(token)).status_code == 200
    assert download(stack, token, cache_id).status_code == 404


# --- a bug is a 500 that says so; an outage is a 503 ----------------------------------------------------------------


def test_a_redis_error_that_is_a_bug_is_a_500_with_the_message_logged_once(stack, redis, api_key):
    stats = stack.env["REDIS_PREFIX"] + "stats"
    saved = redis.hgetall(stats)
    redis.delete(stats)
    redis.set(stats, "not a hash")
    try:
        response = httpx.post(
            stack.url + "/requests",
            json={"api_query": make_query()},
            headers={"Authorization": f"Bearer {api_key}", "X-Request-ID": "bug-report-1"},
        )
    finally:
        redis.delete(stats)
        if saved:
            redis.hset(stats, mapping=saved)
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"type", "loc", "msg"} and "Redis" not in body["msg"]
    log = stack.parts["web"].log()
    records = [line for line in log.splitlines() if "[bug-report-1]" in line]
    assert len(records) == 1 and "WRONGTYPE" in records[0] and "Traceback" in log


# --- the web process leaves no metrics directory behind ------------------------------------------------------------


def test_the_metrics_directory_goes_with_the_web_process(redis_url, simulator, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    port = free_port()
    env = {"TMPDIR": str(tmp), "REDIS_URL": redis_url, "CACHE_PATH": str(tmp_path / "cache"), "WEB_WORKERS": "2"}
    env = {**env, "PROMETHEUS_MULTIPROC_DIR": ""}
    web = Process(["web", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path / "web.log")
    try:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/health/live"), 30, "web")
        httpx.get(f"http://127.0.0.1:{port}/metrics")
        assert [p.name for p in tmp.iterdir() if p.name.startswith("imagecache-metrics-")]
    finally:
        web.signal(signal.SIGTERM)
        web.stop()
    assert not [p for p in tmp.iterdir() if p.name.startswith("imagecache-metrics-")], web.log()
