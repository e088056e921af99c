"""`python -m workers worker|maintenance|callbacks`: the programs `imagecache worker`, `imagecache maintenance`
and `imagecache callbacks` become."""

import sys

from workers import maintenance_loop, worker
from workers.callbacks import worker as callback_worker

PROGRAMS = {"worker": worker.main, "maintenance": maintenance_loop.main, "callbacks": callback_worker.main}

if __name__ == "__main__":
    sys.exit(PROGRAMS[sys.argv[1]]())
