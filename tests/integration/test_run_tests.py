"""run_tests.py (the seed's smoke-test script) against a live stack."""

import subprocess
import sys

from testkit.processes import ROOT
from testkit.upstream import simulate


def run(stack, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "run_tests.py"), "--url", stack.url, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_example_concurrently(stack_factory, simulator):
    simulate(simulator, latency_ms=200)
    stack = stack_factory()
    result = run(stack, "--concurrent")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("5 passed, 0 failed")
    assert "status: 400" in result.stderr  # bad_query.json expects the upstream's 400
    assert result.stderr.count("status: 200") == 4


def test_unexpected_status_fails_the_run(stack_factory, simulator, tmp_path):
    simulate(simulator)
    stack = stack_factory()
    (tmp_path / "wrong.json").write_text('{"api_query": {"queries": [], "imageType": "png"}}')
    result = run(stack, "--dir", str(tmp_path))
    assert result.returncode == 1
    assert "0 passed, 1 failed" in result.stdout
