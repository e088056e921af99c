"""The figures of the services we replace, measured once on this machine class with the same probes.

Neither peer runs here (the Kentik Image Cache and KBase's CachingService are not installable offline), so these are
fixed references, not measured in the same run; each benchmark prints its ratio to them beside the same-run
references (nginx, a direct upstream call, the physical floor).
"""

from __future__ import annotations

KENTIK_CPU_MS_PER_RESULT = 10.7
KENTIK_RESULTS_PER_S = 85.0
KENTIK_OVERHEAD_P50_MS = 12.1
KENTIK_BURST_S = 10.4
KENTIK_CACHED_GET_OVER_NGINX = 0.041
KENTIK_CACHED_GET_P99_MS = 48.0
KBASE_STRESS_REQ_PER_S = {"cache ids": 72.0, "uploads (1 KiB)": 122.0, "downloads": 62.0, "deletes": 114.0}
KBASE_BIG_UPLOAD_MB_S = 32.0
KBASE_BIG_DOWNLOAD_MB_S = 514.0
KBASE_BIG_RSS_MIB = 44.0


def versus(ours: float, peer: float, *, lower_is_better: bool = False) -> str:
    """How many times better than the peer (above 1: ahead)."""
    ratio = peer / ours if lower_is_better else ours / peer
    return f"{ratio:.1f}x the peer's ({peer:g})"
