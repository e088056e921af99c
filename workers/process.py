"""What every worker-side process does first: read the configuration and set up logging."""

from __future__ import annotations

import sys

from imagecache.composition import Components
from imagecache.config import ConfigError, load_config
from imagecache.ops.logs import setup_logging


def start_process() -> Components | None:
    """This process's components, or None (and a line on stderr) when the configuration is bad."""
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"imagecache: {exc}", file=sys.stderr)
        return None
    setup_logging(config.debug, config.log_format)
    return Components(config)
