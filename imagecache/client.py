"""The client's import path before it became its own distribution, `imagecache-client` (`imagecache_client`).

Kept for one release: `imagecache.client` and each `imagecache.client.<module>` are the very modules of
`imagecache_client`, so classes, errors and loggers are the same objects under either name.
"""

import importlib
import pkgutil
import sys

import imagecache_client

for _module in pkgutil.iter_modules(imagecache_client.__path__):
    sys.modules[f"{__name__}.{_module.name}"] = importlib.import_module(f"imagecache_client.{_module.name}")
sys.modules[__name__] = imagecache_client
