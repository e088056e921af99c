"""The client is for users' own jobs: importing it must not pull in the server."""

from __future__ import annotations

import subprocess
import sys

from testkit.processes import ROOT

CHECK = """
import sys
import imagecache_client, imagecache_client.cli
server = sorted(m for m in sys.modules if m.split(".")[0] in {"falcon", "rq", "gunicorn", "gevent", "redis", "minio"})
print(",".join(server))
"""


def test_importing_the_client_imports_no_server_code():
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
