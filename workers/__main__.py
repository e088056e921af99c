"""`python -m workers worker|maintenance`: the programs `imagecache worker` and `imagecache maintenance` become."""

import sys

from workers import maintenance_loop, worker

PROGRAMS = {"worker": worker.main, "maintenance": maintenance_loop.main}

if __name__ == "__main__":
    sys.exit(PROGRAMS[sys.argv[1]]())
