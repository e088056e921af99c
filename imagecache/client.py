"""The client's import path before it became its own distribution, `imagecache-client` (`imagecache_client`).

Kept for one release: `imagecache.client` and each `imagecache.client.<module>` (at any depth) are the very
modules of `imagecache_client`, so classes, errors and loggers are the same objects under either name. The
command line is left to load by itself, so `python -m imagecache.client.cli` still runs it.
"""

import importlib
import pkgutil
import sys

import imagecache_client

_COMMAND_LINE = "cli"

for _module in pkgutil.walk_packages(imagecache_client.__path__, prefix="imagecache_client."):
    _name = _module.name.removeprefix("imagecache_client.")
    if _name != _COMMAND_LINE:
        sys.modules[f"{__name__}.{_name}"] = importlib.import_module(_module.name)
sys.modules[__name__] = imagecache_client
