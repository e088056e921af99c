"""LocalRenderer: computes chart images in the worker, for installs without Kentik."""

from __future__ import annotations

from typing import Any

from imagecache.fetchers.chart import chart_for, render
from imagecache.fetchers.fetcher import Fetched


class LocalRenderer:
    name = "local"

    def fetch(self, query: Any) -> Fetched:
        chart = chart_for(query)
        return Fetched(chart.content_type, render(chart))
