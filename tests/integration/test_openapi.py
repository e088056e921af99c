"""/openapi.json describes every route the app has, and every answer the live stack gives."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from imagecache.auth.hashed_secrets import HashedSecrets
from imagecache.auth.static_tokens import StaticTokens
from imagecache.composition import Components
from imagecache.config import load_config
from imagecache.web.app import create_app
from imagecache.web.contract.openapi import OpenApiDocument, SwitchedOn
from imagecache.web.contract.requests import Contract

HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}


def app_routes(app) -> set[tuple[str, str]]:
    """(path, method) for every responder the Falcon router holds (its node tree is walked)."""
    found, nodes = set(), list(app._router._roots)
    while nodes:
        node = nodes.pop()
        nodes.extend(node.children)
        if node.method_map:
            for method, responder in node.method_map.items():
                if method in HTTP_METHODS and getattr(responder, "__name__", "") != "method_not_allowed":
                    found.add((node.uri_template, method))
    return found


def spec_routes(spec) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in spec["paths"].items() for method in item}


def test_the_spec_and_the_app_have_the_same_routes(redis_url):
    config = load_config(redis_url=redis_url, _env_file=None)
    document = OpenApiDocument(
        Contract.of(config), SwitchedOn(callbacks=False, signed_urls=False), kinds=["chart"]
    ).build()
    assert spec_routes(document) == app_routes(create_app(Components(config).web_services()))


def test_schemathesis_finds_no_undescribed_answer(stack_factory, tmp_path):
    """What the document calls invalid is refused, what it calls valid is taken, every answer is one it describes.
    Authenticated everywhere: an API key on the Kentik routes, a token on /v1 (so uploads are really stored)."""
    tokens, keys = tmp_path / "tokens", tmp_path / "keys"
    token = StaticTokens(tokens).add("fuzzer")
    key = HashedSecrets(keys).add("fuzzer")
    stack = stack_factory(  # maintenance's first pass only: blobs of files the fuzzer deleted stay to be counted
        AUTH_MODE="static",
        AUTH_TOKENS_FILE=str(tokens),
        API_KEYS_FILE=str(keys),
        ENTRY_WAIT_TIMEOUT="2",
        CACHE_MAINTENANCE_PERIOD="3600",
        JOBS_EXCLUDE="chart,mandelbrot",  # kentik alone: any query object is one it takes
    )
    assert httpx.get(stack.url + "/openapi.json").json()["openapi"].startswith("3.")
    config = tmp_path / "schemathesis.toml"
    # An error entry's image answers with the upstream's status, whatever 4xx that is: there the status is the
    # result's, not a judgement of the request (its id is all it has).
    config.write_text(
        f'headers = {{ Authorization = "Bearer {key}" }}\n\n'
        # Refusing invalid data: any 4xx that says so, a request line too long for gunicorn (414) included.
        "[checks.negative_data_rejection]\nexpected-statuses = "
        '["400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422", "428", "429", "5xx"]\n\n'
        f'[[operations]]\ninclude-path-regex = "^/v1"\nheaders = {{ Authorization = "{token}" }}\n\n'
        '[[operations]]\ninclude-path-regex = "^/image/"\n'
        'checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "4xx", "5xx"]\n'
    )
    schemathesis = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    # Every route, then the /v1 routes alone: there its stateful phase's few scenarios all go to /v1's links
    # (cache id -> upload -> download -> delete), so uploads happen however many other routes there are.
    for only in ((), ("--include-path-regex", "^/v1")):
        result = subprocess.run(
            [
                schemathesis,
                "--config-file",
                str(config),
                "run",
                stack.url + "/openapi.json",
                *only,
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
                "negative_data_rejection,positive_data_acceptance",
                "--mode",
                "all",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--max-examples",
                "10",
                "--seed",
                "7",
                "--request-timeout",
                "15",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        (tmp_path / "schemathesis.out").write_text(result.stdout)
        summary = result.stdout[-3000:]
        assert result.returncode == 0, summary
        assert " passed" in summary and "failed" not in summary.split("SUMMARY")[-1]
    assert "Traceback" not in stack.parts["web"].log()
    stored = [p for p in (stack.workdir / "cache" / "files").rglob("*") if p.is_file()]
    assert stored, (
        "no /v1 upload went through (its blob, kept or deleted, is on disk): the fuzzer was not authenticated"
    )
