"""KBase's CachingService figures, measured once on this machine class with the same probes.

It does not run here, so these are fixed references, not measured in the same run; each /v1 benchmark prints its
ratio to them beside the same-run references. The Kentik Image Cache does run here: bench/versus_kentik.py measures
it beside imagecache, and no figure of it is kept.
"""

from __future__ import annotations

KBASE_STRESS_REQ_PER_S = {"cache ids": 72.0, "uploads (1 KiB)": 122.0, "downloads": 62.0, "deletes": 114.0}
KBASE_BIG_UPLOAD_MB_S = 32.0
KBASE_BIG_DOWNLOAD_MB_S = 514.0
KBASE_BIG_RSS_MIB = 44.0


def versus(ours: float, peer: float, *, lower_is_better: bool = False) -> str:
    """How many times better than the peer (above 1: ahead)."""
    ratio = peer / ours if lower_is_better else ours / peer
    return f"{ratio:.1f}x the peer's ({peer:g})"
