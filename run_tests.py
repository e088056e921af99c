#!/usr/bin/env python3
"""Post every request in a directory to a running imagecache and fetch its image.

Like the Kentik Image Cache's tests/run_tests.py: one line per step, a summary,
and a non-zero exit when any answer has an unexpected status. A request file
is the POST body; an optional "expect_status" field (default 200) says what
GET /image/<id> should answer. A refusal may also come at once, from the POST:
a job kind that checks its queries when asked (the local chart kind) answers so.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

log = logging.getLogger("run_tests")


def run_one(client: httpx.Client, tid: int, path: Path) -> bool:
    body = json.loads(path.read_text())
    expected = body.pop("expect_status", 200)
    log.info("tid: %d posting request", tid)
    posted = client.post("/requests", json=body)
    if posted.status_code == expected != 200:
        log.info("tid: %d refused at once, as expected: status: %d", tid, posted.status_code)
        return True
    if posted.status_code != 200:
        log.error("tid: %d POST failed: status: %d %s", tid, posted.status_code, posted.text)
        return False
    image_id = posted.json()["id"]
    log.info("tid: %d: got id: %s", tid, image_id)
    log.info("tid: %d requesting: %s/image/%s", tid, client.base_url, image_id)
    got = client.get(f"/image/{image_id}")
    log.info(
        "tid: %d got: status: %d type: %s length: %d",
        tid,
        got.status_code,
        got.headers.get("content-type"),
        len(got.content),
    )
    if got.status_code != expected:
        log.error("tid: %d expected status %d, got %d", tid, expected, got.status_code)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="URL to test against")
    parser.add_argument(
        "--dir", default=str(Path(__file__).parent / "tests" / "data"), help="directory to load requests from"
    )
    parser.add_argument("--glob", default="*.json", help="globbing pattern for request files")
    parser.add_argument("--concurrent", action="store_true", help="run requests concurrently")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for each answer")
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S", level=logging.INFO)

    log.info("Using URL: %s", args.url)
    paths = sorted(Path(args.dir).glob(args.glob))
    for tid, path in enumerate(paths):
        log.info("tid: %d loading request from: %s", tid, path)
    log.info("%d requests loaded", len(paths))
    if not paths:
        return 1
    with httpx.Client(base_url=args.url, timeout=args.timeout) as client:
        if args.concurrent:
            log.info("Running tests concurrently")
            with ThreadPoolExecutor(len(paths)) as pool:
                results = list(pool.map(lambda item: run_one(client, *item), enumerate(paths)))
        else:
            log.info("Running tests")
            results = [run_one(client, tid, path) for tid, path in enumerate(paths)]
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
