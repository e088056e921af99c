"""mkdocs hook: a page's `<!-- generated: NAME -->` is replaced by what imagecache.ops.docs_reference makes of the
code at build time (the HTTP API, the configuration, the commands)."""

from __future__ import annotations

import re
from typing import Any

from imagecache.ops.docs_reference import GENERATED

MARK = re.compile(r"<!-- generated: ([a-z-]+) -->")


def on_page_markdown(markdown: str, **_: Any) -> str:
    return MARK.sub(lambda found: GENERATED[found[1]](), markdown)
