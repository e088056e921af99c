"""`imagecache web --certfile --keyfile`: HTTPS served by the web process itself, for setups without a proxy."""

from __future__ import annotations

import io
import ssl
import subprocess
import sys

import httpx
import pytest
from PIL import Image

from testkit.processes import ROOT, Process, free_port, wait_until
from testkit.tls import self_signed
from testkit.upstream import make_query, simulate


@pytest.fixture(scope="module")
def https(stack_factory, tmp_path_factory):
    """A stack whose web process serves HTTPS; its URL and the certificate to trust."""
    stack = stack_factory(("worker", "maintenance"))
    directory = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(directory)
    port = free_port()
    args = ["web", "--host", "127.0.0.1", "--port", str(port), "--certfile", str(cert), "--keyfile", str(key)]
    web = Process(args, stack.env, directory / "web.log")
    url = f"https://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            trusted = ssl.create_default_context(cafile=cert)
            return httpx.get(url + "/health/live", verify=trusted, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(lambda: answers() or not web.alive(), 30, "the HTTPS web process")
    yield url, ssl.create_default_context(cafile=cert), stack
    web.stop()


def test_the_api_and_its_images_are_served_over_https(https, simulator):
    url, trusted, _ = https
    simulate(simulator)
    with httpx.Client(base_url=url, verify=trusted, timeout=30) as client:
        entry_id = client.post("/requests", json={"api_query": make_query()}).json()["id"]
        image = client.get(f"/image/{entry_id}")  # the blob is written by gunicorn, not the kernel's sendfile
        assert image.status_code == 200 and int(image.headers["content-length"]) == len(image.content)
        Image.open(io.BytesIO(image.content)).verify()
        ranged = client.get(f"/image/{entry_id}", headers={"Range": "bytes=0-7"})
        assert ranged.status_code == 206 and ranged.content == image.content[:8]


def test_plain_http_to_the_https_port_gets_no_api_answer(https):
    url, _, _ = https
    with pytest.raises(httpx.HTTPError):
        httpx.get(url.replace("https://", "http://") + "/health/live", timeout=5).raise_for_status()


def test_a_certificate_that_cannot_be_used_stops_the_web_process_with_one_line(tmp_path):
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("not a key")
    command = [sys.executable, "-m", "imagecache.cli", "web", "--certfile", str(tmp_path / "cert.pem")]
    alone = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert alone.returncode == 2 and "--certfile and --keyfile go together" in alone.stderr
    both = subprocess.run(
        [*command, "--keyfile", str(tmp_path / "key.pem")], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert both.returncode == 2 and "cannot use --certfile" in both.stderr and "Traceback" not in both.stderr
