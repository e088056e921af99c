"""`python -m workers worker|maintenance`: the programs `imagecache worker` and `imagecache maintenance` become."""

import sys

from workers import maintenance, worker

PROGRAMS = {"worker": worker.main, "maintenance": maintenance.main}

if __name__ == "__main__":
    sys.exit(PROGRAMS[sys.argv[1]]())
