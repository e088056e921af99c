"""/v1 through the app: KBase's cache ids, uploads, downloads and deletes, each refused as KBase refuses."""

from __future__ import annotations

import hashlib

import pytest


@pytest.fixture
def token(components) -> str:
    return components.token_file.add("alice")


def form(data: bytes, filename: str = "contigs.fa") -> tuple[bytes, dict[str, str]]:
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def cache_id(client, token: str, params: dict) -> str:
    answer = client.simulate_post("/v1/cache_id", json=params, headers={"Authorization": token})
    assert answer.status_code == 200, answer.text
    return answer.json["cache_id"]


def test_upload_download_delete(client, token):
    cid = cache_id(client, token, {"method": "assemble", "k": 31})
    assert client.simulate_get(f"/v1/cache/{cid}", headers={"Authorization": token}).status_code == 404  # placeholder
    body, headers = form(b">contig\nACGT\n")
    sha = hashlib.sha256(b">contig\nACGT\n").hexdigest()
    stored = client.simulate_post(
        f"/v1/cache/{cid}", body=body, headers={**headers, "Authorization": token, "X-Content-SHA256": sha}
    )
    assert stored.status_code == 200, stored.text
    download = client.simulate_get(f"/v1/cache/{cid}", headers={"Authorization": token})
    assert download.status_code == 200 and download.content == b">contig\nACGT\n"
    assert 'filename="contigs.fa"' in download.headers["Content-Disposition"]
    assert client.simulate_delete(f"/v1/cache/{cid}", headers={"Authorization": token}).json == {"status": "ok"}
    assert client.simulate_get(f"/v1/cache/{cid}", headers={"Authorization": token}).status_code == 404


def test_the_same_params_are_the_same_id_whatever_their_order(client, token):
    assert cache_id(client, token, {"a": 1, "b": 2}) == cache_id(client, token, {"b": 2, "a": 1})


def test_another_tokens_cache_is_forbidden_for_every_verb(client, components, token):
    cid = cache_id(client, token, {"x": 1})
    other = components.token_file.add("mallory")
    body, headers = form(b"mine")
    for answer in (
        client.simulate_get(f"/v1/cache/{cid}", headers={"Authorization": other}),
        client.simulate_post(f"/v1/cache/{cid}", body=body, headers={**headers, "Authorization": other}),
        client.simulate_delete(f"/v1/cache/{cid}", headers={"Authorization": other}),
    ):
        assert answer.status_code == 403 and answer.json == {
            "status": "error",
            "error": "You do not have access to that cache",
        }


def test_refusals_come_in_kbases_shape(client, token):
    assert client.simulate_post("/v1/cache_id", json={"x": 1}).json == {
        "status": "error",
        "error": "Missing header: Authorization",
    }
    assert client.simulate_post("/v1/cache_id", json={"x": 1}, headers={"Authorization": "wrong"}).status_code == 403
    mismatch_body, headers = form(b"data")
    cid = cache_id(client, token, {"x": 2})
    mismatch = client.simulate_post(
        f"/v1/cache/{cid}",
        body=mismatch_body,
        headers={**headers, "Authorization": token, "X-Content-SHA256": "0" * 64},
    )
    assert mismatch.status_code == 400 and mismatch.json["error"].startswith("Checksum mismatch")


@pytest.mark.parametrize("sent", ["{token}", "Bearer {token}", "bearer  {token}"])
def test_a_token_is_taken_bare_as_kbase_clients_send_it_or_as_a_bearer_token(client, token, sent):
    answer = client.simulate_post("/v1/cache_id", json={"a": 1}, headers={"Authorization": sent.format(token=token)})
    assert answer.status_code == 200 and len(answer.json["cache_id"]) == 128


@pytest.mark.parametrize("sent", ["Bearer", "Bearer ", "Bearer nope"])
def test_a_bearer_without_a_valid_token_is_refused_as_kbase_refuses(client, sent):
    assert client.simulate_post("/v1/cache_id", json={"a": 1}, headers={"Authorization": sent}).status_code == 403
