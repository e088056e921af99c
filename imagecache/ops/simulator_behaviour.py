"""How the Kentik simulator misbehaves when asked to: the `imagecache simulate-upstream` options.

Kept apart from the simulator itself so the command line can offer them without loading falcon and gevent.
"""

from __future__ import annotations

from dataclasses import dataclass

GARBAGE = {
    "html": ("text/html", b"<html><body>502 Bad Gateway</body></html>"),
    "truncated": ("application/json", b'{"dataUri": "data:image/png;base64,iVBORw0KGgo'),
    "bad-base64": ("application/json", b'{"dataUri": "data:image/png;base64,@@not*base64@@"}'),
    "wrong-mime": ("application/json", b'{"dataUri": "data:text/html;base64,PGgxPmhpPC9oMT4="}'),
}


@dataclass
class Behaviour:
    latency_ms: float = 0.0
    fail_first: int = 0
    fail_status: int = 503
    pad_to: int = 0
    garbage: str = ""  # answer 200 with one of GARBAGE instead of a chart
