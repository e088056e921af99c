"""Small line plots as inline SVG, drawn on the server: /info's last hour needs no script and no library."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT, PAD = 240, 60, 4


def _drawn(run: list[str]) -> str:
    """A run of points as a line; a lone point (one sample between gaps) as a dot."""
    if len(run) == 1:
        x, y = run[0].split(",")
        return f'<circle class="series" cx="{x}" cy="{y}" r="2.5" fill="#1f77b4"/>'
    return f'<polyline class="series" points="{" ".join(run)}" fill="none" stroke="#1f77b4" stroke-width="2"/>'


def sparkline(title: str, values: Sequence[float | None], shown: str) -> str:
    """A titled plot of the values (None: no data there, a gap), with the last value as text in `shown`'s
    format."""
    known = [value for value in values if value is not None]
    top = max(known, default=0.0) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    runs: list[list[str]] = [[]]
    for n, value in enumerate(values):
        if value is None:
            runs.append([])
            continue
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top
        runs[-1].append(f"{PAD + n * step:.1f},{y:.1f}")
    lines = "".join(_drawn(run) for run in runs if run)
    empty = "" if known else f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no data yet</text>'
    latest = shown.format(known[-1]) if known else "–"
    return (
        f'<figure class="plot"><figcaption>{escape(title)} <b>{escape(latest)}</b></figcaption>'
        f'<svg role="img" aria-label="{escape(title)}" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">{lines}{empty}</svg></figure>'
    )
