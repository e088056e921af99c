"""A callback's delivery against the floor: a POST of the same body by the standard library's http.client.

Each round delivers CALLS callbacks to a receiver on loopback answering 204, as the callback worker delivers them
(`workers.callbacks.delivery.send`: the URL checked against the settings, the connection only to an allowed
address, a new connection each), then sends the same body the least a client can (a new connection, one request,
its status read; no signature). Rounds alternate so drift on this machine hits both alike. Figures are CPU (user +
system) per callback, the receiver's share included in both (it runs in this process); the ratio is the delivery's
over the floor's, medians of the rounds.
"""

from __future__ import annotations

import http.client
import http.server
import statistics
import threading

from bench.blob_put import cpu_ms_per
from bench.harness import figure, ratio
from imagecache.config import Config
from workers.callbacks.delivery import send

ROUNDS, CALLS = 5, 200
BODY = '{"id":"' + "ab" * 32 + '_1800000000.5","status":"active","expires_at":1800000000.5}'


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    port = receiver.server_address[1]
    config = Config(
        callback_allowed_hosts=f"127.0.0.1:{port}",
        callback_allowed_networks="127.0.0.0/8",
        callback_secret="s" * 32,
    )
    url = f"http://127.0.0.1:{port}/hook"

    def delivered(_: int) -> None:
        send(url, BODY, config)

    def bare(_: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/hook", BODY.encode(), {"Content-Type": "application/json"})
        connection.getresponse().read()
        connection.close()

    delivered(0)  # the first delivery's imports and settings
    deliveries, floors = [], []
    for _ in range(ROUNDS):
        deliveries.append(cpu_ms_per(delivered, CALLS))
        floors.append(cpu_ms_per(bare, CALLS))
    receiver.shutdown()
    figure("a callback delivered, CPU", f"{min(deliveries):.3f}-{max(deliveries):.3f} ms")
    figure("  the same POST by http.client (floor)", f"{min(floors):.3f}-{max(floors):.3f} ms")
    figure("  delivery against the floor", ratio(statistics.median(deliveries), statistics.median(floors)))


if __name__ == "__main__":
    main()
