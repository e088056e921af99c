"""The JobQueue port on RQ: entries handed to workers as RQ jobs, under one upstream cap across hosts."""
