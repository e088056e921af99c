"""The callback process: RQ's worker on the callback queue (worker.py) runs each callback job (delivery.py),
which connects only to an address the callback settings allow (connections.py)."""
