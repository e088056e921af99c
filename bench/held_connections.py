"""Idle waits cannot hold the web down: many requests that wait (long polls, GET /image of a pending entry, event
streams) opened at once, then /health probed while they are held, against /health with none open (the same-run
reference).

1. 5,000 waits from one client on the default settings: most are refused at once (429 past WAITS_PER_CLIENT),
   the rest held; /health's worst of 20 probes (aim <= 50 ms), and no request left hanging (every one either
   answered or held by the server: the client's count of unanswered equals the server's gauge).
2. 20,000 waits from 50 clients (50 loopback addresses), the budget raised to hold them all: the same, plus the
   web processes' memory per held connection.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import re
import resource
import time
from collections import Counter
from multiprocessing.synchronize import Event

import httpx

from bench.harness import environment, figure, probe_health
from testkit.upstream import make_query, simulate

PROBES = 20
ANSWER_WINDOW = 10.0  # seconds after which a wait not answered yet counts as held
OPEN_RATE = 2000  # new waits a second, all holders together: an aggressive client fleet, not a SYN flood
HELD = re.compile(r"^imagecache_waits_held (\S+)$", re.M)


def _paths(ids: list[str]) -> list[str]:
    """The three kinds of wait, in turn."""
    return [f"/requests/{ids[0]}?wait=60", f"/image/{ids[1 % len(ids)]}", f"/events?id={ids[2 % len(ids)]}&wait=60"]


async def _hold(port: int, sources: list[str], count: int, paths: list[str], rate: float, done: Event) -> Counter[str]:
    outcome: Counter[str] = Counter()
    writers: list[asyncio.StreamWriter] = []

    async def one(n: int) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(sources[n % len(sources)], 0))
        except OSError as exc:
            outcome[f"connect failed: {type(exc).__name__}"] += 1
            return
        writer.write(f"GET {paths[n % len(paths)]} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        try:
            line = await asyncio.wait_for(reader.readline(), ANSWER_WINDOW)
        except TimeoutError:
            outcome["held"] += 1
            writers.append(writer)
            return
        status = line.split()[1].decode() if line else "closed"
        if status == "200" and "/events" in paths[n % len(paths)]:
            outcome["held"] += 1  # a stream answers 200 at once, then holds
            writers.append(writer)
            return
        outcome[status] += 1
        writer.close()

    tasks = []
    for n in range(count):
        tasks.append(asyncio.create_task(one(n)))
        await asyncio.sleep(1 / rate)
    await asyncio.gather(*tasks)
    while not done.is_set():
        await asyncio.sleep(0.1)
    for writer in writers:
        writer.close()
    return outcome


def _holder(
    port: int, sources: list[str], count: int, paths: list[str], rate: float, done: Event, out: multiprocessing.Queue
) -> None:
    """One process's share of the waits (a process holds at most its open-file limit of sockets)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    out.put(dict(asyncio.run(_hold(port, sources, count, paths, rate, done))))


def _web_rss_kib(master_pid: int) -> int:
    """Resident memory of the web master's worker processes."""
    children = open(f"/proc/{master_pid}/task/{master_pid}/children").read().split()
    total = 0
    for pid in children:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def _server_held(url: str) -> int:
    match = HELD.search(httpx.get(url + "/metrics", timeout=30).text)
    return int(float(match.group(1))) if match else 0


def scenario(name: str, total: int, clients: int, processes: int, **env: str) -> None:
    with environment(ENTRY_WAIT_TIMEOUT="120", KENTIK_API_TIMEOUT="300", WORKER_CONCURRENCY="2", **env) as bench:
        simulate(bench.simulator, latency_ms=120_000)  # entries stay pending throughout
        ids = [bench.stack.request(make_query())["id"] for _ in range(3)]
        url, port = bench.stack.url, bench.stack.port
        reference = probe_health(url, PROBES, pause=0.05)
        master = bench.stack.parts["web"].pid
        rss_before = _web_rss_kib(master)
        sources = [f"127.0.0.{2 + n}" for n in range(clients)]
        done = multiprocessing.Event()
        share = total // processes
        out: multiprocessing.Queue = multiprocessing.Queue()
        holders = [
            multiprocessing.Process(
                target=_holder,
                args=(port, sources[n::processes] or sources, share, _paths(ids), OPEN_RATE / processes, done, out),
            )
            for n in range(processes)
        ]
        started = time.monotonic()
        for holder in holders:
            holder.start()
        time.sleep(total / OPEN_RATE + ANSWER_WINDOW + 2)  # every wait answered by now, or held
        opened = time.monotonic() - started
        held_server = _server_held(url)
        latencies = probe_health(url, PROBES, pause=0.05)
        rss_after = _web_rss_kib(master)
        done.set()
        outcome: Counter[str] = Counter()
        for _ in holders:
            outcome.update(out.get(timeout=120))
        for holder in holders:
            holder.join(60)
    held = outcome["held"]
    figure(f"{name}: waits opened", f"{total} from {clients} client(s) in {opened:.0f} s")
    figure(f"{name}: outcomes", ", ".join(f"{key} {value}" for key, value in sorted(outcome.items())))
    figure(f"{name}: held, client's count vs server's", f"{held} vs {held_server} (left hanging: {held - held_server})")
    figure(f"{name}: /health worst of {PROBES} (aim <= 50 ms)", f"{max(latencies):.1f} ms")
    figure(f"{name}: /health worst with none held (reference)", f"{max(reference):.1f} ms")
    figure(
        f"{name}: /health p50 held vs none",
        f"{sorted(latencies)[PROBES // 2]:.1f} vs {sorted(reference)[PROBES // 2]:.1f} ms",
    )
    if held:
        per = (rss_after - rss_before) * 1024 / held
        figure(
            f"{name}: web RSS per held connection",
            f"{per / 1024:.1f} KiB ({rss_before // 1024} -> {rss_after // 1024} MiB)",
        )


def main() -> None:
    scenario("defaults, 1 client", 5000, 1, 1)
    scenario("raised, 50 clients", 20_000, 50, 4, WAITS_PER_PROCESS="15000", WAITS_PER_CLIENT="400")


if __name__ == "__main__":
    main()
