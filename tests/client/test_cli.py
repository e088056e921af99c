"""`imagecache-client` as scripts use it: output, exit codes, progress, many processes on one cache."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import uuid
from pathlib import Path

import pytest
from minio import Minio

from imagecache_client.local.cache import LocalCache
from testkit.processes import ROOT, free_port
from testkit.upstream import make_query
from tests.client.conftest import ALICE

SCRIPT = Path(sys.executable).parent / "imagecache-client"


@pytest.fixture
def cli(stack, tmp_path):
    """Runs the installed console script against the stack, with a local cache of this test's own."""
    env = {
        **os.environ,
        "IMAGECACHE_URL": stack.url,
        "IMAGECACHE_CACHE_DIR": str(tmp_path / "local"),
        "IMAGECACHE_TOKEN": ALICE,
    }

    def run(*args: str, binary: bool = False, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(SCRIPT), *args],
            env={**env, **extra_env},
            cwd=tmp_path,
            capture_output=True,
            text=not binary,
            timeout=300,
        )

    return run


def write(path: Path, value: object) -> str:
    path.write_text(json.dumps(value))
    return str(path)


def test_get_prints_the_local_path_or_writes_where_told(cli, tmp_path):
    query = write(tmp_path / "q.json", {"api_query": make_query(), "ttl": 300})
    got = cli("get", query)
    assert got.returncode == 0 and got.stderr == ""
    path = Path(got.stdout.strip())
    assert path.read_bytes().startswith(b"\x89PNG")
    assert cli("get", query, "-o", "chart.png").returncode == 0
    assert (tmp_path / "chart.png").read_bytes() == path.read_bytes()
    piped = cli("get", write(tmp_path / "bare.json", make_query("svg")), "-o", "-", binary=True)
    assert piped.returncode == 0 and b"<svg" in piped.stdout[:300]


def test_put_download_rm(cli, tmp_path):
    params = write(tmp_path / "params.json", {"job": uuid.uuid4().hex})
    data = tmp_path / "result.bin"
    data.write_bytes(os.urandom(100_000))
    put = cli("put", params, str(data))
    assert put.returncode == 0, put.stderr
    stored = json.loads(put.stdout)
    assert stored["size"] == 100_000 and stored["filename"] == "result.bin"
    assert cli("download", params, "-o", "copy.bin").returncode == 0
    assert (tmp_path / "copy.bin").read_bytes() == data.read_bytes()
    removed = cli("rm", params)
    assert removed.returncode == 0 and removed.stdout.strip() == stored["cache_id"]
    gone = cli("download", params)
    assert gone.returncode == 3 and "Cache ID not found" in gone.stderr


def test_info_prints_the_servers_json(cli, tmp_path):
    cli("get", write(tmp_path / "q.json", make_query()))
    info = cli("info")
    assert info.returncode == 0 and json.loads(info.stdout)["active_count"] >= 1


def test_a_reader_that_stops_early_gets_no_traceback(stack, tmp_path):
    params = write(tmp_path / "p.json", {"job": uuid.uuid4().hex})
    data = tmp_path / "big.bin"
    data.write_bytes(os.urandom(2 * 1024 * 1024))  # far more than a pipe holds
    env = {
        **os.environ,
        "IMAGECACHE_URL": stack.url,
        "IMAGECACHE_CACHE_DIR": str(tmp_path / "l"),
        "IMAGECACHE_TOKEN": ALICE,
    }
    assert subprocess.run([str(SCRIPT), "put", params, str(data)], env=env, capture_output=True).returncode == 0
    piped = subprocess.run(
        f"'{SCRIPT}' download {params} -o - | head -c 3", shell=True, env=env, capture_output=True, timeout=60
    )
    assert piped.stdout == data.read_bytes()[:3] and b"Traceback" not in piped.stderr


def test_a_directory_as_output_is_an_error_not_a_traceback(cli, tmp_path):
    (tmp_path / "out").mkdir()
    done = cli("get", write(tmp_path / "q.json", make_query()), "-o", "out")
    assert done.returncode == 1 and "Traceback" not in done.stderr and "out" in done.stderr


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        ((), 2, "usage"),
        (("get", "missing.json"), 2, "No such file"),
        (("get", "broken.json"), 2, "not JSON"),
        (("get", "list.json"), 2, "JSON object"),
        (("get", "nan.json"), 2, "NaN is not a JSON value"),
        (("prefill", "q.json", "--jobs", "0"), 2, "positive"),
        (("download", "params.json"), 3, "Cache ID not found"),
        (("get", "upstream-refuses.json"), 4, "upstream error 400"),
        (("--url", "http://127.0.0.1:{dead}", "info"), 5, "cannot reach"),
        (("--url", "127.0.0.1:8000", "info"), 2, "http://"),
        (("--token", "not-a-token", "download", "params.json"), 1, "Invalid token"),
    ],
)
def test_exit_codes(cli, tmp_path, args, code, says):
    (tmp_path / "broken.json").write_text('{"api_query": ')
    write(tmp_path / "list.json", [1, 2])
    (tmp_path / "nan.json").write_text('{"queries": [], "x": NaN}')
    write(tmp_path / "q.json", make_query())
    write(tmp_path / "params.json", {"never": uuid.uuid4().hex})
    write(tmp_path / "upstream-refuses.json", make_query(metric=["no_such_metric"]))
    done = cli(*(arg.format(dead=free_port()) for arg in args))
    assert done.returncode == code, done.stderr
    assert says in done.stderr


def test_the_file_cache_needs_a_token(cli, tmp_path):
    done = cli("download", write(tmp_path / "p.json", {"a": 1}), IMAGECACHE_TOKEN="")
    assert done.returncode == 2 and "token" in done.stderr


def test_prefill_200_with_one_failure_then_all_hits(cli, tmp_path):
    queries = [make_query() for _ in range(200)]
    queries[99] = make_query(metric=["no_such_metric"])
    listing = tmp_path / "queries.jsonl"
    listing.write_text("# one query per line\n" + "\n".join(json.dumps(q) for q in queries) + "\n")
    first = cli("prefill", str(listing), "-j", "8")
    assert first.returncode == 4  # the only failure was the upstream's
    assert "200 items: 0 hits, 199 fetched" in first.stdout and "1 failed" in first.stdout
    assert "item 100: upstream error 400" in first.stderr
    second = cli("prefill", str(listing))
    assert "200 items: 199 hits, 0 fetched" in second.stdout

    listed = cli("local", "ls")
    assert listed.returncode == 0 and listed.stdout.count("\nimage ") == 199


def test_prefill_files_from_a_json_list(cli, tmp_path):
    known = {"job": uuid.uuid4().hex}
    data = tmp_path / "d.txt"
    data.write_text("data")
    assert cli("put", write(tmp_path / "known.json", known), str(data)).returncode == 0
    cli("local", "clear")
    both = write(tmp_path / "params.json", [known, {"job": "never-uploaded"}])
    done = cli("prefill", "--files", both)
    assert done.returncode == 3 and "2 items: 0 hits, 1 fetched" in done.stdout


def test_prefill_takes_queries_s3_paths_and_versioned_paths_in_one_list(cli, s3_server, tmp_path):
    s3 = {"MINIO_HOST": s3_server, "MINIO_ACCESS_KEY": "testing", "MINIO_SECRET_KEY": "testing"}
    bucket = f"prefill-{uuid.uuid4().hex[:8]}"
    Minio(s3_server, "testing", "testing", secure=False).make_bucket(bucket)
    (tmp_path / "table.csv").write_text("a,b\n")
    assert cli("vc", "add", "/tables/t.csv", "table.csv", "--bucket", bucket, **s3).returncode == 0
    cli("local", "clear")
    listing = tmp_path / "wanted.txt"
    listing.write_text(
        f"{json.dumps(make_query())}\n/tables/t.csv\ns3://{bucket}/tables/t.csv/1.0.0/t.csv\n/tables/none.csv\n"
    )
    first = cli("prefill", str(listing), "--bucket", bucket, **s3)
    assert first.returncode == 3, first.stderr  # the one failure: a path the manifest does not pin
    # the versioned path and the s3:// path name one object: one of the two downloads it, the other takes its copy
    assert "4 items: 1 hits, 2 fetched" in first.stdout and "item 4: /tables/none.csv is not in" in first.stderr
    again = cli("prefill", str(listing), "--bucket", bucket, **s3)
    assert "4 items: 3 hits, 0 fetched" in again.stdout
    kinds = cli("local", "ls").stdout.split("\n")[1:-2]
    assert sorted(line.split()[0] for line in kinds) == ["asset", "image"]


def test_local_gc_and_clear(cli, tmp_path):
    cli("get", write(tmp_path / "q.json", make_query("svg")))
    gc = cli("local", "gc")
    assert gc.returncode == 0 and gc.stdout.startswith("removed 0 expired, 0 evicted")
    squeezed = cli("--max-bytes", "1", "local", "gc")  # over the bound, but just used: kept for now
    assert squeezed.returncode == 0 and "0 evicted" in squeezed.stdout and "kept 0 B" not in squeezed.stdout
    cleared = cli("local", "clear")
    assert cleared.returncode == 0 and cleared.stdout.startswith("removed ")
    assert cli("local", "ls").stdout.splitlines()[1].startswith("0 B of 5.0 GiB")


def test_processes_filling_one_local_cache_at_once(stack, tmp_path):
    queries = [make_query(kind) for kind in ("png", "svg", "pdf") for _ in range(20)]
    listing = write(tmp_path / "queries.json", queries)
    env = {**os.environ, "IMAGECACHE_URL": stack.url, "IMAGECACHE_CACHE_DIR": str(tmp_path / "shared")}
    runs = [
        subprocess.Popen(
            [str(SCRIPT), "prefill", listing, "-j", "4"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], results
    listed = subprocess.run([str(SCRIPT), "local", "ls"], env=env, capture_output=True, text=True, timeout=60)
    assert listed.stdout.count("\nimage ") == 60
    gc = subprocess.run([str(SCRIPT), "local", "gc"], env=env, capture_output=True, text=True, timeout=60)
    assert "0 orphaned" in gc.stdout


def test_a_long_upload_shows_a_progress_bar_on_a_terminal(stack, tmp_path):
    params = write(tmp_path / "p.json", {"job": uuid.uuid4().hex})
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 * 1024 * 1024))
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 wide
    env = {
        **os.environ,
        "IMAGECACHE_URL": stack.url,
        "IMAGECACHE_CACHE_DIR": str(tmp_path / "l"),
        "IMAGECACHE_TOKEN": ALICE,
    }
    done = subprocess.run(
        [str(SCRIPT), "put", params, str(big)], env=env, stderr=follower, stdout=subprocess.PIPE, timeout=120, cwd=ROOT
    )
    os.set_blocking(leader, False)
    shown = os.read(leader, 1 << 20).decode(errors="replace")
    os.close(follower)
    os.close(leader)
    assert done.returncode == 0
    assert "put big.bin" in shown and "/8.00M" in shown


def test_the_options_every_command_takes_come_before_or_after_its_name(cli, stack, tmp_path):
    query = write(tmp_path / "q.json", {"api_query": make_query(), "ttl": 300})
    after = cli("get", query, "--url", stack.url, "--cache-dir", str(tmp_path / "after"), IMAGECACHE_URL="http://x:1")
    assert after.returncode == 0, after.stderr
    assert Path(after.stdout.strip()).is_relative_to(tmp_path / "after")  # the option after the name was used
    assert cli("--version").stdout.startswith("imagecache-client ")


def test_the_python_client_keeps_its_local_cache_where_imagecache_cache_dir_says(tmp_path, monkeypatch):
    monkeypatch.setenv("IMAGECACHE_CACHE_DIR", str(tmp_path / "chosen"))
    assert LocalCache().root == tmp_path / "chosen"
