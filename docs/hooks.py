"""mkdocs hook: a page's `<!-- generated: NAME -->` is replaced by what the code makes of it at build time: the HTTP
API, the configuration and the commands (imagecache.ops.docs_reference), and the benchmark plot (the figures in
docs/explanation/figures.json: ours and the peer's from one run, or the peer's named in bench/peer_figures.py)."""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path
from typing import Any

from bench import peer_figures
from imagecache.ops.docs_reference import GENERATED

MARK = re.compile(r"<!-- generated: ([a-z-]+) -->")
FIGURES = Path(__file__).parent / "explanation" / "figures.json"
ROW, BAR, LABEL = 46, 300, 330


def benchmark_plot() -> str:
    """Ours against the service it replaces, per figure: two bars on a scale of their own, and the ratio."""
    data = json.loads(FIGURES.read_text())
    rows = []
    for n, figure in enumerate(data["figures"]):
        named = figure["peer"]
        peer = float(getattr(peer_figures, named) if isinstance(named, str) else named)
        ours, lower = float(figure["ours"]), figure.get("lower_is_better", False)
        top, y = max(ours, peer), n * ROW
        ratio = peer / ours if lower else ours / peer
        rows.append(
            f'<text x="0" y="{y + 14}" font-size="12">{escape(figure["name"])}</text>'
            f'<rect x="{LABEL}" y="{y + 4}" width="{BAR * ours / top:.1f}" height="12" fill="#1f77b4"/>'
            f'<text x="{LABEL + BAR + 8}" y="{y + 14}" font-size="11">imagecache {ours:g} {figure["unit"]}</text>'
            f'<rect x="{LABEL}" y="{y + 20}" width="{BAR * peer / top:.1f}" height="12" fill="#bbb"/>'
            f'<text x="{LABEL + BAR + 8}" y="{y + 30}" font-size="11">the peer {peer:g} {figure["unit"]} '
            f"({ratio:.1f}× {'better' if ratio >= 1 else 'worse'})</text>"
        )
    height = ROW * len(rows)
    return (
        f'<svg role="img" aria-label="imagecache against the services it replaces" width="860" height="{height}" '
        f'viewBox="0 0 860 {height}">{"".join(rows)}</svg>\n\n*Measured {escape(data["measured"])}.*\n'
    )


def on_page_markdown(markdown: str, **_: Any) -> str:
    makers = {**GENERATED, "benchmark-plot": benchmark_plot}
    return MARK.sub(lambda found: makers[found[1]](), markdown)
