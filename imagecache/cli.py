"""`python -m imagecache.cli`: the `imagecache` command (ops/cli.py), by the module path it always had."""

import sys

from imagecache.ops.cli import main

if __name__ == "__main__":
    sys.exit(main())
