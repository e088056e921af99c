"""A Kentik-compatible upstream for tests and benchmarks.

Answers POST /query/topXchart (any letter case) as Kentik does: 401 without
the auth headers, 400 for a query it cannot chart, else
`{"dataUri": "data:<mime>;base64,..."}` after `latency_ms`. It counts calls
and the peak number in flight (`GET /_sim/stats`) so tests can check single
flight and concurrency caps from the upstream's side; `POST /_sim/reset` zeroes
them and sets the behaviour, `POST /_sim/behaviour` only sets it.
"""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass, field

import falcon
import gevent
import gevent.socket
from gevent.pywsgi import WSGIServer

from imagecache.domain.errors import FetchError
from imagecache.jobs.kinds.chart import Chart, chart_for, render
from imagecache.ops.simulator_behaviour import GARBAGE, Behaviour


@dataclass
class Stats:
    calls: int = 0
    in_flight: int = 0
    peak_concurrency: int = 0
    failures_sent: int = 0
    images: dict[str, bytes] = field(default_factory=dict)

    def public(self) -> dict[str, int]:
        return {
            "calls": self.calls,
            "in_flight": self.in_flight,
            "peak_concurrency": self.peak_concurrency,
            "failures_sent": self.failures_sent,
        }


class _CaseInsensitivePaths:
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.path = req.path.lower()


class TopXChartResource:
    def __init__(self, behaviour: Behaviour, stats: Stats) -> None:
        self._behaviour = behaviour
        self._stats = stats

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        stats = self._stats
        stats.calls += 1
        stats.in_flight += 1
        stats.peak_concurrency = max(stats.peak_concurrency, stats.in_flight)
        try:
            gevent.sleep(self._behaviour.latency_ms / 1000)
            self._answer(req, resp, stats.calls)
        finally:
            stats.in_flight -= 1

    def _answer(self, req: falcon.Request, resp: falcon.Response, call: int) -> None:
        if not (req.get_header("X-CH-Auth-Email") and req.get_header("X-CH-Auth-API-Token")):
            resp.status, resp.media = 401, {"error": "Unauthorized"}
            return
        if call <= self._behaviour.fail_first:
            self._stats.failures_sent += 1
            resp.status, resp.media = self._behaviour.fail_status, {"error": "simulated upstream failure"}
            if self._behaviour.fail_status == 429:
                resp.set_header("Retry-After", "1")
            return
        if self._behaviour.garbage:
            resp.content_type, resp.data = GARBAGE[self._behaviour.garbage]
            return
        try:
            chart = chart_for(req.get_media(default_when_empty=None))
        except FetchError as exc:
            resp.status, resp.media = exc.status, {"error": exc.message}
            return
        payload = base64.b64encode(self._image(chart)).decode()
        resp.media = {"dataUri": f"data:{chart.content_type};base64,{payload}"}

    def _image(self, chart: Chart) -> bytes:
        """Rendered once per format: the simulator's cost must stay its latency."""
        images = self._stats.images
        if chart.image_type not in images:
            data = render(chart)
            if chart.image_type == "png":
                data = pad_png(data, self._behaviour.pad_to)
            images[chart.image_type] = data
        return images[chart.image_type]


class ControlResource:
    """Lets a test or benchmark read the counters and change the behaviour."""

    def __init__(self, behaviour: Behaviour, stats: Stats) -> None:
        self._behaviour = behaviour
        self._stats = stats

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self._stats.public()

    def on_post_reset(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Zero the counters; a JSON body sets new Behaviour fields."""
        self._change(req.get_media(default_when_empty={}))
        self._stats.calls = self._stats.peak_concurrency = self._stats.failures_sent = 0
        self._stats.images.clear()
        resp.media = self._stats.public()

    def on_post_behaviour(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Set new Behaviour fields, counters kept: calls already in flight keep the latency they began with."""
        self._change(req.get_media(default_when_empty={}))
        resp.media = self._stats.public()

    def _change(self, changes: dict) -> None:
        for name, value in changes.items():
            if name not in Behaviour.__dataclass_fields__ or (name == "garbage" and value and value not in GARBAGE):
                raise falcon.HTTPBadRequest(description=f"unknown behaviour {name}={value!r}")
            setattr(self._behaviour, name, value)


def create_simulator(behaviour: Behaviour) -> falcon.App:
    stats = Stats()
    app = falcon.App(middleware=[_CaseInsensitivePaths()])
    chart = TopXChartResource(behaviour, stats)
    app.add_route("/query/topxchart", chart)
    app.add_route("/api/v5/query/topxchart", chart)
    control = ControlResource(behaviour, stats)
    app.add_route("/_sim/stats", control)
    app.add_route("/_sim/reset", control, suffix="reset")
    app.add_route("/_sim/behaviour", control, suffix="behaviour")
    return app


def pad_png(data: bytes, size: int) -> bytes:
    """Grow a PNG to `size` bytes with a private ancillary chunk; it still decodes."""
    missing = size - len(data) - 12
    if missing < 0:
        return data
    body = b"paDd" + bytes(missing)
    chunk = struct.pack(">I", missing) + body + struct.pack(">I", zlib.crc32(body))
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + chunk + data[iend:]


def run_simulator(host: str, port: int, behaviour: Behaviour) -> None:
    listener = gevent.socket.socket(gevent.socket.AF_INET, gevent.socket.SOCK_STREAM)
    listener.setsockopt(gevent.socket.SOL_SOCKET, gevent.socket.SO_REUSEADDR, 1)
    listener.setsockopt(gevent.socket.IPPROTO_TCP, gevent.socket.TCP_NODELAY, 1)  # no Nagle/delayed-ACK stalls
    listener.bind((host, port))
    listener.listen(1024)
    WSGIServer(listener, create_simulator(behaviour), log=None).serve_forever()
