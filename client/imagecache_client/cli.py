"""`imagecache-client`: the cache from a shell, with exit codes scripts can rely on.

0 ok, 1 error, 2 usage (bad arguments or input files), 3 not found,
4 upstream error, 5 service unavailable (or not ready in time).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

from imagecache_client.command_input import ASSET_PATHS, UsageError, byte_count, positive, read_json, read_list
from imagecache_client.errors import ClientError
from imagecache_client.files import FileCacheClient
from imagecache_client.images import Extras, ImageCacheClient, ImageRequest
from imagecache_client.local import DEFAULT_MAX_BYTES, LocalCache
from imagecache_client.prefill import Wanted
from imagecache_client.prefill import prefill as prefill_items
from imagecache_client.prefill_bar import PrefillBar, summarise
from imagecache_client.progress import Bars, Progress, Silent, Tally
from imagecache_client.sizes import human_bytes
from imagecache_client.versioned_cli import add_store_options, add_vc, asset_source

USAGE = 2


def main(argv: list[str] | None = None) -> int:
    args = command_parser().parse_args(argv)
    logging.basicConfig(format="imagecache-client: warning: %(message)s", level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # the S3 SDK's retries: its failure is reported once
    try:
        return args.command(args)
    except UsageError as exc:
        print(f"imagecache-client: {exc}", file=sys.stderr)
        return USAGE
    except ClientError as exc:
        print(f"imagecache-client: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `| head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (OSError, sqlite3.Error) as exc:  # the local disk or the local cache's index
        print(f"imagecache-client: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# --- commands ----------------------------------------------------------------------


def get(args: argparse.Namespace) -> int:
    ask = _image_request(read_json(args.query))
    with _images(args) as client:
        path = client.fetch(
            ask.api_query,
            ttl=_first(args.ttl, ask.ttl),
            max_age=_first(args.max_age, ask.max_age),
            refresh=args.refresh,
            extras=Extras(job=args.job, tags=tuple(args.tag), stale_while_revalidate=args.stale_while_revalidate),
        )
        _emit(client.local, path, args.output)
    return 0


def purge(args: argparse.Namespace) -> int:
    with _images(args) as client:
        print(client.purge(args.tags, soft=args.soft))
    return 0


def events(args: argparse.Namespace) -> int:
    """One JSON line per entry as it settles."""
    with _images(args) as client:
        for event in client.events(args.ids):
            print(json.dumps(event), flush=True)
    return 0


def jobs(args: argparse.Namespace) -> int:
    with _images(args) as client:
        print(json.dumps(client.jobs(), indent=2))
    return 0


def put(args: argparse.Namespace) -> int:
    params = _params(read_json(args.params))
    if not Path(args.file).is_file():
        raise UsageError(f"{args.file}: no such file")
    with _files(args) as client:
        stored = client.upload(client.cache_id(params), args.file)
    print(
        json.dumps(
            {"cache_id": stored.cache_id, "sha256": stored.sha256, "size": stored.size, "filename": stored.filename}
        )
    )
    return 0


def download(args: argparse.Namespace) -> int:
    params = _params(read_json(args.params))
    with _files(args) as client:
        _emit(client.local, client.fetch_params(params).path, args.output)
    return 0


def remove(args: argparse.Namespace) -> int:
    params = _params(read_json(args.params))
    with _files(args) as client:
        cache_id = client.cache_id(params)
        client.delete(cache_id)
    print(cache_id)
    return 0


def info(args: argparse.Namespace) -> int:
    with _images(args) as client:
        print(json.dumps(client.info(), indent=2))
    return 0


def prefill(args: argparse.Namespace) -> int:
    wanted = [_wanted(item, args.files) for item in read_list(args.list)]
    kinds = {type(item) for item in wanted}
    with (
        tqdm(total=len(wanted), unit="item", desc="prefill", disable=True if args.no_progress else None) as bar,
        ExitStack() as opened,
    ):
        shown = PrefillBar(bar)
        tally = Tally(shown.add_bytes)
        report = prefill_items(
            wanted,
            args.jobs,
            shown.update,
            images=opened.enter_context(_images(args, tally)) if ImageRequest in kinds else None,
            files=opened.enter_context(_files(args, tally)) if dict in kinds else None,
            assets=opened.enter_context(asset_source(args)) if str in kinds else None,
        )
    return summarise(report)


def local_ls(args: argparse.Namespace) -> int:
    cache = _local(args)
    now = time.time()
    print(f"{'KIND':5} {'SIZE':>9} {'USED':>9} {'EXPIRES':>9}  KEY")
    for row in cache.listing():
        expires = "-" if row.expires_at is None else _ago(row.expires_at - now)
        print(f"{row.kind:5} {human_bytes(row.size):>9} {_ago(now - row.used_at):>9} {expires:>9}  {row.key}")
    print(f"{human_bytes(cache.used_bytes())} of {human_bytes(cache.max_bytes)} in {cache.root}")
    return 0


def local_gc(args: argparse.Namespace) -> int:
    cache = _local(args)
    done = cache.collect()
    print(
        f"removed {done.expired} expired, {done.evicted} evicted, {done.orphans} orphaned, "
        f"{done.temp_files} temporary; freed {human_bytes(done.bytes_freed)}, "
        f"kept {human_bytes(done.bytes_kept)} of {human_bytes(cache.max_bytes)}"
    )
    return 0


def local_clear(args: argparse.Namespace) -> int:
    cache = _local(args)
    freed = cache.used_bytes()
    print(f"removed {cache.clear()} files ({human_bytes(freed)}) from {cache.root}")
    return 0


# --- input ---------------------------------------------------------------------------


def _image_request(value: Any) -> ImageRequest:
    try:
        return ImageRequest.from_json(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _wanted(item: Any, files: bool) -> Wanted:
    """A prefill item: an asset path (a string), /v1 cache params (with --files), or a query."""
    if isinstance(item, str):
        if not item.startswith(ASSET_PATHS):
            raise UsageError(f"{item!r}: not an asset path (s3://bucket/key, or a versioned path such as /foo/bar.csv)")
        return item
    return _params(item) if files else _image_request(item)


def _params(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise UsageError("cache parameters must be a non-empty JSON object")
    return value


def _first(*values: int | None) -> int | None:
    return next((value for value in values if value is not None), None)


# --- clients and output ------------------------------------------------------------


def _progress(args: argparse.Namespace) -> Progress:
    return Silent() if args.no_progress else Bars()


def _images(args: argparse.Namespace, progress: Progress | None = None) -> ImageCacheClient:
    with _bad_url():
        return ImageCacheClient(
            args.url,
            args.api_key,
            args.cache_dir,
            max_bytes=args.max_bytes,
            wait_timeout=args.wait,
            progress=progress or _progress(args),
        )


def _files(args: argparse.Namespace, progress: Progress | None = None) -> FileCacheClient:
    if not args.token:
        raise UsageError("the file cache needs a token: --token or IMAGECACHE_TOKEN")
    with _bad_url():
        return FileCacheClient(
            args.url, args.token, args.cache_dir, max_bytes=args.max_bytes, progress=progress or _progress(args)
        )


@contextmanager
def _bad_url() -> Iterator[None]:
    try:
        yield
    except ValueError as exc:
        raise UsageError(f"--url: {exc}") from None


def _local(args: argparse.Namespace) -> LocalCache:
    return LocalCache(args.cache_dir, args.max_bytes)


def _emit(local: LocalCache, path: Path, output: str | None) -> None:
    """No -o: print the local path; '-o -': the bytes to stdout; '-o FILE': written atomically."""
    if output is None:
        print(path)
    elif output == "-":
        with open(path, "rb") as file:
            shutil.copyfileobj(file, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        try:
            local.export(path, Path(output))
        except ValueError as exc:
            raise UsageError(f"-o: {exc}") from None


def _ago(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


# --- arguments ---------------------------------------------------------------------


def _global_options(parser: argparse.ArgumentParser, *, with_defaults: bool) -> None:
    """The options every command takes, before or after its name (after it, an option not given leaves the one
    given before, or the default, in place)."""
    env = os.environ.get

    def default(value: Any) -> Any:
        return value if with_defaults else argparse.SUPPRESS

    parser.add_argument(
        "--url",
        default=default(env("IMAGECACHE_URL", "http://127.0.0.1:8000")),
        help="the server (IMAGECACHE_URL; default http://127.0.0.1:8000)",
    )
    parser.add_argument("--token", default=default(env("IMAGECACHE_TOKEN")), help="/v1 token (IMAGECACHE_TOKEN)")
    parser.add_argument("--api-key", default=default(env("IMAGECACHE_API_KEY")), help="API key (IMAGECACHE_API_KEY)")
    parser.add_argument(
        "--cache-dir",
        default=default(env("IMAGECACHE_CACHE_DIR")),
        help="local cache (IMAGECACHE_CACHE_DIR; default: the user's cache dir)",
    )
    parser.add_argument(
        "--max-bytes",
        type=byte_count,
        default=default(env("IMAGECACHE_CACHE_MAX_BYTES", str(DEFAULT_MAX_BYTES))),
        help="local cache bound, e.g. 500M, 5G (IMAGECACHE_CACHE_MAX_BYTES; default 5G)",
    )
    parser.add_argument("--wait", type=float, default=default(600.0), help="seconds to wait for a result (default 600)")
    parser.add_argument("--no-progress", action="store_true", default=default(False), help="no progress bars")


def _installed_version() -> str:
    try:
        return importlib.metadata.version("imagecache-client")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def command_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagecache-client", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"imagecache-client {_installed_version()}")
    _global_options(parser, with_defaults=True)
    given_later = argparse.ArgumentParser(add_help=False)
    _global_options(given_later, with_defaults=False)  # after the command's name: set only when given
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help, parents=[given_later])
        sub.set_defaults(command=run)
        return sub

    sub = command("get", get, "the image for a query (a POST /requests body or a bare query)")
    sub.add_argument("query", metavar="QUERY.json")
    sub.add_argument("-o", "--output", metavar="FILE", help="write it here ('-': stdout); default: print its path")
    sub.add_argument("--ttl", type=int)
    sub.add_argument("--max-age", type=int)
    sub.add_argument("--refresh", action="store_true", help="produce it anew")
    sub.add_argument("--job", help="the job kind (default: the server's)")
    sub.add_argument("--tag", action="append", default=[], help="a tag for POST /purge (repeatable)")
    sub.add_argument("--stale-while-revalidate", type=int, metavar="SECONDS", help="take a stale result meanwhile")
    sub = command("purge", purge, "remove (or, --soft, mark stale) every result carrying any of the tags")
    sub.add_argument("tags", metavar="TAG", nargs="+")
    sub.add_argument("--soft", action="store_true")
    sub = command("events", events, "one JSON line per entry as it settles (a server-sent event stream)")
    sub.add_argument("ids", metavar="ID", nargs="+")
    command("jobs", jobs, "the job kinds the server runs")
    sub = command("put", put, "upload FILE under the cache id of CACHE_PARAMS")
    sub.add_argument("params", metavar="CACHE_PARAMS.json")
    sub.add_argument("file", metavar="FILE")
    sub = command("download", download, "the file cached under the cache id of CACHE_PARAMS")
    sub.add_argument("params", metavar="CACHE_PARAMS.json")
    sub.add_argument("-o", "--output", metavar="FILE", help="write it here ('-': stdout); default: print its path")
    sub = command("rm", remove, "delete the file cached under the cache id of CACHE_PARAMS")
    sub.add_argument("params", metavar="CACHE_PARAMS.json")
    command("info", info, "the server's /info")
    sub = command(
        "prefill", prefill, "fetch many queries (or, with --files, cache params) and asset paths into the local cache"
    )
    sub.add_argument(
        "list",
        metavar="LIST",
        help="a JSON list, or one JSON value per line ('-': stdin); a string is an s3:// or versioned asset path",
    )
    sub.add_argument("--files", action="store_true", help="LIST's objects are /v1 cache params, not queries")
    sub.add_argument("-j", "--jobs", type=positive, default=8, help="transfers at once (default 8)")
    add_store_options(sub)
    add_vc(commands)
    local = commands.add_parser("local", help="the local cache: ls, gc, clear", description="the local cache")
    actions = local.add_subparsers(required=True, metavar="ACTION")
    for name, run, text in (
        ("ls", local_ls, "list what is cached"),
        ("gc", local_gc, "drop expired and orphaned files; evict beyond --max-bytes"),
        ("clear", local_clear, "remove everything"),
    ):
        actions.add_parser(name, help=text, description=text).set_defaults(command=run)
    return parser


if __name__ == "__main__":
    sys.exit(main())
