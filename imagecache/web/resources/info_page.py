"""/info for people: the counts, the hit ratio and the newest entries with thumbnails."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from imagecache.domain.entry_record import EntryRecord, Status
from imagecache_client.sizes import human_bytes

NEWEST = 24
_THUMBNAILED = {"image/png", "image/jpeg", "image/svg+xml"}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>imagecache</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; background: #fafafa; }}
h1 {{ font-size: 1.4rem; margin: 0 0 1rem; }}
.figures {{ display: flex; flex-wrap: wrap; gap: .75rem; margin-bottom: 1.5rem; }}
.figure {{ background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .6rem .9rem; min-width: 7rem; }}
.figure b {{ display: block; font-size: 1.3rem; }}
.figure span {{ color: #666; font-size: .8rem; }}
.entries {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: .75rem; }}
.entry {{ background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5rem; font-size: .75rem; }}
.entry img {{ width: 100%; height: 110px; object-fit: contain; background: #fff; }}
.entry .none {{ height: 110px; display: flex; align-items: center; justify-content: center; color: #888;
  background: #f0f0f0; }}
.status-error {{ border-color: #d62728; }} .status-pending {{ border-style: dashed; }}
code {{ word-break: break-all; }}
</style></head><body>
<h1>imagecache</h1>
<div class="figures">{figures}</div>
<h2 style="font-size:1.1rem">Newest entries</h2>
<div class="entries">{entries}</div>
</body></html>
"""


def render_info_page(stats: dict[str, int], newest: list[EntryRecord]) -> str:
    asked = stats["hits"] + stats["misses"] + stats["dedupes"]
    ratio = f"{100 * stats['hits'] / asked:.0f}%" if asked else "–"
    figures = [
        ("active", stats["active_count"]),
        ("pending", stats["pending_count"]),
        ("errors", stats["error_count"]),
        ("hit ratio", ratio),
        ("hits", stats["hits"]),
        ("misses", stats["misses"]),
        ("dedupes", stats["dedupes"]),
        ("upstream calls", stats["upstream_calls"]),
        ("stored", human_bytes(stats["total_bytes"])),
        ("queue", stats["queue_depth"]),
        ("workers", stats["live_workers"]),
    ]
    return _PAGE.format(
        figures="".join(
            f'<div class="figure"><b>{escape(str(v))}</b><span>{escape(k)}</span></div>' for k, v in figures
        ),
        entries="".join(_entry(entry) for entry in newest) or "<p>No entries yet.</p>",
    )


def _entry(entry: EntryRecord) -> str:
    if entry.status is Status.ACTIVE and entry.content_type in _THUMBNAILED:
        picture = f'<img src="/image/{escape(entry.id)}" alt="thumbnail" loading="lazy">'
    else:
        label = {Status.PENDING: "pending", Status.ERROR: f"error {entry.error_status}"}.get(entry.status, "PDF")
        picture = f'<div class="none">{escape(label)}</div>'
    expires = datetime.fromtimestamp(entry.expires_at, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    detail = escape(entry.error_message) if entry.status is Status.ERROR else escape(entry.content_type)
    return (
        f'<div class="entry status-{entry.status.value}">{picture}<div><code>{escape(entry.id[:16])}…</code>'
        f"</div><div>{detail} · {human_bytes(entry.size)} · expires {expires}</div></div>"
    )
