"""/info for people: the figures, the last hour's plots, and a page of entries that link to their detail,
filtered by status, kind and tag. Plain HTML and inline SVG: nothing to load, no script to fail."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from urllib.parse import urlencode

from imagecache.domain.entry_record import EntryRecord, Status
from imagecache.services.statistics import LastHour
from imagecache.services.tenant_report import TenantRow
from imagecache.web.resources.sparklines import sparkline
from imagecache_client.sizes import human_bytes

THUMBNAILED = {"image/png", "image/jpeg", "image/svg+xml"}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; background: #fafafa; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; } h2 { font-size: 1.1rem; }
a { color: #1f5fa8; }
.figures, .plots { display: flex; flex-wrap: wrap; gap: .75rem; margin-bottom: 1.2rem; }
.figure, .plot { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .6rem .9rem; margin: 0; }
.figure b { display: block; font-size: 1.3rem; } .figure span, figcaption { color: #666; font-size: .8rem; }
.entries { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: .75rem; }
.entry { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5rem; font-size: .75rem; }
.entry img, .preview img { width: 100%; height: 110px; object-fit: contain; background: #fff; }
.preview img { height: 320px; }
.entry .none { height: 110px; display: flex; align-items: center; justify-content: center; color: #888;
  background: #f0f0f0; }
.status-error { border-color: #d62728; } .status-error .none { color: #d62728; }
.status-pending { border-style: dashed; }
form { margin-bottom: 1rem; } code, pre { word-break: break-all; white-space: pre-wrap; }
table { border-collapse: collapse; background: #fff; margin-bottom: 1.2rem; font-size: .85rem; }
th, td { border: 1px solid #ddd; padding: .3rem .6rem; text-align: right; } th:first-child { text-align: left; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; } dt { color: #666; }
"""


@dataclass(frozen=True)
class Listing:
    """A page of entries as asked for: the filters, what matched on this page, and where the next page starts."""

    entries: list[EntryRecord]
    filters: Mapping[str, str]
    next_cursor: str | None


def render_info_page(stats: Mapping[str, int], hour: LastHour, listing: Listing, tenants: list[TenantRow]) -> str:
    asked = stats["hits"] + stats["misses"] + stats["dedupes"]
    figures = [
        ("active", stats["active_count"]),
        ("pending", stats["pending_count"]),
        ("errors", stats["error_count"]),
        ("hit ratio, all told", f"{100 * stats['hits'] / asked:.0f}%" if asked else "–"),
        ("hits", stats["hits"]),
        ("misses", stats["misses"]),
        ("dedupes", stats["dedupes"]),
        ("upstream calls", stats["upstream_calls"]),
        ("stored", human_bytes(stats["total_bytes"])),
        ("queue", stats["queue_depth"]),
        ("workers", stats["live_workers"]),
    ]
    body = (
        '<div class="figures">'
        + "".join(f'<div class="figure"><b>{escape(str(v))}</b><span>{escape(k)}</span></div>' for k, v in figures)
        + "</div><h2>The last hour</h2>"
        + _plots(hour)
        + _tenants(tenants)
        + "<h2>Entries</h2>"
        + _filters(listing.filters)
        + '<div class="entries">'
        + ("".join(_entry(entry) for entry in listing.entries) or "<p>No entries on this page match.</p>")
        + "</div>"
        + _paging(listing)
    )
    return _page("imagecache", body)


def _tenants(rows: list[TenantRow]) -> str:
    """A row per tenant TENANTS names: what it holds, how its requests were answered, what its quotas refused."""
    if not rows:
        return ""
    head = ["tenant", "pending", "stored", "requests", "hits", "misses", "dedupes", "refused", "evicted", "quotas"]
    lines = []
    for row in rows:
        quotas = ", ".join(
            f"{name} {human_bytes(value) if name == 'stored_bytes' else value}" for name, value in row.quotas.items()
        )
        cells = [row.name, row.pending, human_bytes(row.stored_bytes), sum(row.requests.values()),
                 row.requests["hits"], row.requests["misses"] + row.requests["refreshes"], row.requests["dedupes"],
                 sum(row.refused.values()), row.evicted, quotas or "none"]  # fmt: skip
        lines.append("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{name}</th>" for name in head) + "</tr>"
    return f"<h2>Tenants</h2><table>{header}{''.join(lines)}</table>"


def render_entry_page(entry: EntryRecord, remaining: int) -> str:
    """One entry: its status, kind, tags, size, query, when it was produced and expires, and a preview."""
    rows = [
        ("id", f"<code>{escape(entry.id)}</code>"),
        ("status", escape(entry.status.value)),
        ("kind", escape(entry.job)),
        ("tags", escape(", ".join(entry.tags)) or "none"),
        ("type", escape(entry.content_type) or "–"),
        ("size", human_bytes(entry.size) if entry.status is Status.ACTIVE else "–"),
        ("created", _time(entry.created_at)),
        ("produced", _time(entry.completed_at) if entry.completed_at else "–"),
        ("expires", f"{_time(entry.expires_at)} (in {remaining} s)"),
        ("attempts", str(entry.attempts)),
    ]
    if entry.status is Status.ERROR:
        rows.append(("error", escape(f"{entry.error_status} {entry.error_type}: {entry.error_message}")))
    details = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    body = (
        '<p><a href="/info">← all entries</a></p>'
        f"<dl>{details}</dl><h2>Query</h2><pre>{escape(_readable(entry.query))}</pre>"
        f'<h2>Preview</h2><div class="preview">{_picture(entry)}</div>'
    )
    return _page(f"imagecache: {entry.id[:16]}…", body)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        '<link rel="icon" href="/favicon.ico">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>\n"
    )


def _plots(hour: LastHour) -> str:
    plots: list[tuple[str, list[float | None], str]] = [
        ("hit ratio, last sample", hour.hit_ratio, "{:.0%}"),
        ("fresh results a minute", list(hour.fresh_per_minute), "{:.1f}"),
        ("queue depth", list(hour.queue_depth), "{:.0f}"),
        ("seconds a fresh result took", hour.production_seconds, "{:.2f} s"),
    ]
    return '<div class="plots">' + "".join(sparkline(*plot) for plot in plots) + "</div>"


def _filters(filters: Mapping[str, str]) -> str:
    def option(value: str) -> str:
        chosen = " selected" if filters.get("status") == value else ""
        return f'<option value="{value}"{chosen}>{value or "any status"}</option>'

    return (
        '<form method="get" action="/info">'
        f'<select name="status">{"".join(option(v) for v in ("", "active", "pending", "error"))}</select> '
        f'<input name="kind" placeholder="kind" value="{escape(filters.get("kind", ""))}"> '
        f'<input name="tag" placeholder="tag" value="{escape(filters.get("tag", ""))}"> '
        '<button type="submit">filter</button></form>'
    )


def _paging(listing: Listing) -> str:
    if listing.next_cursor is None:
        return "<p>The last page.</p>"
    query = urlencode({**listing.filters, "cursor": listing.next_cursor})
    return f'<p><a class="next" href="/info?{escape(query)}">next page →</a></p>'


def _entry(entry: EntryRecord) -> str:
    detail = escape(entry.error_message) if entry.status is Status.ERROR else escape(entry.content_type)
    return (
        f'<div class="entry status-{entry.status.value}"><a href="/info/entries/{escape(entry.id)}">'
        f"{_picture(entry)}<code>{escape(entry.id[:16])}…</code></a>"
        f"<div>{escape(entry.job)} · {detail} · {human_bytes(entry.size)} · expires {_time(entry.expires_at)}</div>"
        "</div>"
    )


def _picture(entry: EntryRecord) -> str:
    if entry.status is Status.ACTIVE and entry.content_type in THUMBNAILED:
        return f'<img src="/image/{escape(entry.id)}" alt="the result" loading="lazy">'
    label = {Status.PENDING: "pending", Status.ERROR: f"error {entry.error_status}"}.get(
        entry.status, entry.content_type
    )
    return f'<div class="none">{escape(label)}</div>'


def _readable(query: str) -> str:
    """The canonical query, indented (it is kept as compact JSON)."""
    try:
        return json.dumps(json.loads(query), indent=2, ensure_ascii=False)
    except ValueError:
        return query


def _time(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
