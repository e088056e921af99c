"""`imagecache-client vc add | update | ls | get`: versioned assets from a shell, and the asset paths of `prefill`.

The store is named by the server's MINIO_* variables; the manifest and the bucket by --manifest and --bucket
(IMAGECACHE_VC_MANIFEST, default versioned_assets.json; IMAGECACHE_VC_BUCKET).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from imagecache_client.assets import AssetCache, AssetConfig
from imagecache_client.command_input import UsageError
from imagecache_client.errors import ClientError, NotFound, Refused
from imagecache_client.local import Fetched
from imagecache_client.manifest import Version, is_version, versioned_path
from imagecache_client.versioned import FIRST, VersionedCache


def vc_add(args: argparse.Namespace) -> int:
    cache = _versioned(args)
    _published(cache, args.path, cache.add(args.path, _file(args.file), args.version))
    return 0


def vc_update(args: argparse.Namespace) -> int:
    cache = _versioned(args)
    _published(cache, args.path, cache.update(args.path, _file(args.file), args.part))
    return 0


def vc_ls(args: argparse.Namespace) -> int:
    cache = _versioned(args)
    if not cache.manifest.path.exists():
        raise NotFound(f"there is no manifest {cache.manifest.path} (--manifest, IMAGECACHE_VC_MANIFEST)")
    listed = cache.listing()
    paths = max([len("PATH"), *(len(line.path) for line in listed)])
    pins = max([len("PINNED"), *(len(line.pinned) for line in listed)])
    print(f"{'PATH':{paths}}  {'PINNED':{pins}}  LATEST")
    for line in listed:
        latest = "-" if line.latest is None else str(line.latest)
        behind = "  (newer published)" if _behind(line.pinned, line.latest) else ""
        print(f"{line.path:{paths}}  {line.pinned:{pins}}  {latest}{behind}")
    return 0


def vc_get(args: argparse.Namespace) -> int:
    print(_versioned(args)(args.path))
    return 0


@contextmanager
def asset_source(args: argparse.Namespace) -> Iterator[Callable[[str], Fetched]]:
    """What fetches prefill's asset paths: `s3://` ones always, versioned ones once a bucket is named."""
    with _assets(args) as assets:
        yield VersionedCache(assets, args.manifest, args.bucket).fetched if args.bucket else partial(_s3_only, assets)


def _s3_only(assets: AssetCache, path: str) -> Fetched:
    if not path.startswith("s3://"):
        raise Refused(f"{path}: a versioned path needs --bucket (IMAGECACHE_VC_BUCKET) and its manifest")
    return assets.fetched(path)


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """--manifest and --bucket, shared by vc's actions and prefill."""
    env = os.environ.get
    parser.add_argument(
        "--manifest",
        default=env("IMAGECACHE_VC_MANIFEST", "versioned_assets.json"),
        help="the manifest that pins versions (IMAGECACHE_VC_MANIFEST; default %(default)s)",
    )
    parser.add_argument("--bucket", default=env("IMAGECACHE_VC_BUCKET"), help="versions' bucket (IMAGECACHE_VC_BUCKET)")


def add_vc(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    text = "versioned assets: publish (add, update), list (ls) and fetch (get) the versions a manifest pins"
    actions = commands.add_parser("vc", help=text, description=text).add_subparsers(required=True, metavar="ACTION")

    def action(name: str, run: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help, description=help)
        sub.set_defaults(command=run)
        add_store_options(sub)
        return sub

    sub = action("add", vc_add, "publish FILE as the first version of PATH (e.g. /foo/bar.csv) and pin it")
    sub.add_argument("path", metavar="PATH", type=_path)
    sub.add_argument("file", metavar="FILE")
    sub.add_argument("--version", type=_version, default=FIRST, help=f"its version (default {FIRST})")
    sub = action("update", vc_update, "publish FILE as PATH's next version after the newest, and pin it")
    part = sub.add_mutually_exclusive_group(required=True)
    for name in ("major", "minor", "patch"):
        part.add_argument(f"--{name}", dest="part", action="store_const", const=name, help=f"the next {name} version")
    sub.add_argument("path", metavar="PATH", type=_path)
    sub.add_argument("file", metavar="FILE")
    action("ls", vc_ls, "each path of the manifest: the version it pins and the newest published")
    sub = action("get", vc_get, "the local path of PATH's pinned version (downloaded once)")
    sub.add_argument("path", metavar="PATH", type=_path)


def _versioned(args: argparse.Namespace) -> VersionedCache:
    if not args.bucket:
        raise UsageError("versioned assets need a bucket: --bucket or IMAGECACHE_VC_BUCKET")
    return VersionedCache(_assets(args), args.manifest, args.bucket)


def _assets(args: argparse.Namespace) -> AssetCache:
    return AssetCache(AssetConfig.from_env(cache_dir=args.cache_dir, max_bytes=args.max_bytes))


def _file(name: str) -> Path:
    if not Path(name).is_file():
        raise UsageError(f"{name}: no such file")
    return Path(name)


def _published(cache: VersionedCache, path: str, version: Version) -> None:
    print(f"{path} {version}: {cache.url(path, version)}, pinned in {cache.manifest.path}")


def _path(text: str) -> str:
    try:
        return versioned_path(text)
    except ClientError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _behind(pinned: str, latest: Version | None) -> bool:
    return latest is not None and is_version(pinned) and Version.parse(pinned) < latest


def _version(text: str) -> Version:
    try:
        return Version.parse(text)
    except ClientError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None
