"""The `imagecache` command: run the stack, one part of it, or the upstream simulator."""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import sys
from pathlib import Path
from typing import Any

from imagecache.config import Config, ConfigError, load_config
from imagecache.ops.listen_address import listen_problem
from imagecache.ops.logs import setup_logging
from imagecache.ops.simulator_behaviour import GARBAGE, Behaviour

log = logging.getLogger("imagecache")


EXIT_UNREACHABLE = 3  # a dependency (Redis, storage) could not be reached; 2 is a usage or configuration error


def command_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imagecache", description="Job-result cache service.")
    parser.add_argument("--version", action="version", version=f"imagecache {_installed_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run web, worker and maintenance together (foreground)")
    _add_bind(up, "127.0.0.1")
    up.add_argument("--data-dir", type=Path, default=Path("var"), help="where an embedded Redis keeps its data")

    web = commands.add_parser("web", help="run the HTTP API (gunicorn)")
    _add_bind(web, "0.0.0.0")
    web.add_argument("--certfile", type=Path, help="serve HTTPS with this certificate (PEM; with --keyfile)")
    web.add_argument("--keyfile", type=Path, help="the certificate's private key (PEM)")
    commands.add_parser("worker", help="run a worker process (WORKER_CONCURRENCY threads)")
    commands.add_parser("maintenance", help="run the maintenance loop")
    commands.add_parser("callbacks", help="deliver callbacks (when CALLBACK_ALLOWED_HOSTS is set)")

    health = commands.add_parser(
        "health", help="exit 0 when this container's part is healthy (a container's health check)"
    )
    health.add_argument("role", nargs="?", help="web, worker, maintenance, callbacks; default: what PID 1 runs")
    health.add_argument("--pid", type=int, default=1, help="the process to check (default 1: the container's)")
    health.add_argument("--port", type=int, help="a web's port (default: PID 1's --port, else 8000)")

    admin = commands.add_parser("admin", help="operator commands").add_subparsers(dest="action", required=True)
    token = admin.add_parser("add-token", help="create a token for USER (AUTH_MODE=static); prints it once")
    token.add_argument("user")
    key = admin.add_parser("add-key", help="create an API key named NAME (API_KEYS_FILE); prints it once")
    key.add_argument("name")
    admin.add_parser("expire-all", aliases=["expire_all"], help="delete every expired /v1 cache now")
    admin.add_parser("import-kbase", help="index an existing KBase CachingService bucket in place")
    admin.add_parser("reindex", help="rebuild the Redis index from storage (after Redis lost its data)")

    sim = commands.add_parser("simulate-upstream", help="run a Kentik-compatible upstream simulator")
    _add_bind(sim, "127.0.0.1", port=9555)
    sim.add_argument("--latency-ms", type=float, default=0.0)
    sim.add_argument("--fail-first", type=int, default=0, help="answer the first N calls with --fail-status")
    sim.add_argument("--fail-status", type=int, default=503)
    sim.add_argument("--pad-to", type=int, default=0, help="grow PNG answers to this many bytes")
    sim.add_argument("--garbage", choices=sorted(GARBAGE), default="", help="answer 200 with this malformed body")
    return parser


def _installed_version() -> str:
    try:
        return importlib.metadata.version("imagecache")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def _add_bind(parser: argparse.ArgumentParser, host: str, port: int = 8000) -> None:
    parser.add_argument("--host", default=host)
    parser.add_argument("--port", type=int, default=port)


def main(argv: list[str] | None = None) -> int:
    args = command_parser().parse_args(argv)
    if args.command == "simulate-upstream":
        return _simulate(args)
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"imagecache: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.debug, config.log_format)
    return _run(args, config)


def _run(args: argparse.Namespace, config: Config) -> int:
    if args.command in ("up", "web") and (problem := listen_problem(args.host, args.port)):
        print(f"imagecache: {problem}", file=sys.stderr)
        return 2
    if args.command == "up":
        from imagecache.ops.supervisor import Supervisor

        return Supervisor(config, args.host, args.port, args.data_dir).run()
    if args.command == "admin":
        return _admin(args, config)
    if args.command == "health":
        return _health(args, config)
    if args.command == "web":
        from imagecache.ops.web_server import Tls, run_web

        if (args.certfile is None) != (args.keyfile is None):
            print("imagecache: --certfile and --keyfile go together", file=sys.stderr)
            return 2
        tls = Tls(args.certfile, args.keyfile) if args.certfile and args.keyfile else None
        if tls is not None and (problem := tls.problem()):
            print(f"imagecache: {problem}", file=sys.stderr)
            return 2
        run_web(config, args.host, args.port, tls)
        return 0
    _become(args.command)
    return 0


def _become(program: str) -> None:
    """Run a worker-side program (`python -m workers worker|maintenance`) in this process: same pid, so signals
    and supervisors see no difference.

    The job-consuming processes live in the top-level `workers` package, which imports imagecache and never
    the reverse, so the command line starts them as programs rather than importing them: the `workers`
    installed beside this imagecache (`-P` keeps the current directory from shadowing it).
    """
    beside = str(Path(__file__).resolve().parents[2])
    paths = [beside, *filter(None, [os.environ.get("PYTHONPATH")])]
    sys.stdout.flush()
    sys.stderr.flush()
    command = [sys.executable, "-P", "-m", "workers", program]
    os.execve(sys.executable, command, {**os.environ, "PYTHONPATH": os.pathsep.join(paths)})


def _health(args: argparse.Namespace, config: Config) -> int:
    from imagecache.ops.health_check import checked_process, problem

    try:
        found = problem(checked_process(args.role, args.pid, args.port), config)
    except (OSError, ValueError) as exc:
        found = str(exc)
    if found:
        print(f"imagecache: unhealthy: {found}", file=sys.stderr)
        return 1
    return 0


def _admin(args: argparse.Namespace, config: Config) -> int:
    """An operator command: its answer on stdout; Redis or storage out of reach is one line and EXIT_UNREACHABLE."""
    from imagecache.composition import Components
    from imagecache.domain.errors import StorageUnavailable
    from imagecache.domain.outages import is_outage

    if args.action == "add-token" and config.auth_mode != "static":
        print(
            "imagecache: add-token makes static tokens, which AUTH_MODE=kbase never accepts; set AUTH_MODE=static",
            file=sys.stderr,
        )
        return 2
    components = Components(config)
    try:
        return _admin_action(args, components)
    except Exception as exc:
        if not (is_outage(exc) or isinstance(exc, StorageUnavailable)):
            raise
        print(f"imagecache: admin {args.action}: cannot reach {_dependency(exc, config)}: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE


def _dependency(exc: Exception, config: Config) -> str:
    from imagecache.domain.errors import StorageUnavailable
    from imagecache.ops.startup_report import shown_url

    if isinstance(exc, StorageUnavailable):
        return f"storage ({config.storage})"
    return f"Redis at {shown_url(config.redis_url)} (REDIS_URL)"


def _admin_action(args: argparse.Namespace, components: Any) -> int:
    from imagecache.ops import admin

    if args.action == "add-token":
        print(admin.add_token(components, args.user))
    elif args.action == "add-key":
        print(admin.add_key(components, args.name))
    elif args.action in ("expire-all", "expire_all"):
        print(admin.expire_all(components))
    elif args.action == "reindex":
        print(admin.reindex(components))
    else:
        print(admin.import_kbase(components))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from imagecache.ops.kentik_simulator import run_simulator

    setup_logging(False)
    behaviour = Behaviour(args.latency_ms, args.fail_first, args.fail_status, args.pad_to, args.garbage)
    log.info("simulating Kentik on http://%s:%d (latency %.0f ms)", args.host, args.port, args.latency_ms)
    run_simulator(args.host, args.port, behaviour)
    return 0


if __name__ == "__main__":
    sys.exit(main())
