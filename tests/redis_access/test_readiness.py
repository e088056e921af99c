import inspect
import socket
import subprocess
import sys

from redis._parsers import hiredis

from imagecache.redis_access.readiness import ready_without_waiting


def test_redis_still_asks_readiness_where_the_worker_answers_it():
    """We replace redis-py's readiness check under gevent: a redis-py that renamed it would lose the gain silently."""
    assert list(inspect.signature(hiredis._socket_can_read).parameters) == ["sock", "timeout"]
    assert "_socket_can_read(self._sock" in inspect.getsource(hiredis._HiredisParser.can_read)


def test_a_check_that_cannot_wait_asks_the_kernel_and_one_that_may_wait_stays_cooperative():
    asked = []

    def cooperative(sock: socket.socket, timeout: float) -> bool:
        asked.append(timeout)
        return False

    ready = ready_without_waiting(cooperative)
    ours, theirs = socket.socketpair()
    with ours, theirs:
        assert not ready(ours, 0)
        theirs.sendall(b"+OK\r\n")
        assert ready(ours, 0) and ready(ours, 0)  # readiness reads nothing
        assert ours.recv(16) == b"+OK\r\n"
        theirs.close()
        assert ready(ours, 0)  # a closed peer reads as ready, as redis-py's own check has it
        assert asked == []
        assert not ready(ours, 1.5) and asked == [1.5]


def test_only_a_process_gevent_patched_checks_by_the_kernel_first():
    probe = (
        "from redis._parsers import hiredis; from imagecache.redis_access.readiness import "
        "check_readiness_without_waiting as check; check(); check(); "
        "f = hiredis._socket_can_read; print(getattr(f, 'kernel_first', False), f.__closure__ is not None)"
    )
    patched = "from gevent import monkey; monkey.patch_all(); " + probe
    outputs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for code in (probe, patched)
    ]
    assert outputs == ["False False\n", "True True\n"]
