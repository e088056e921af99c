"""The floor of imagecache's shape: the least a web tier, Redis and a worker process do for one fresh result.

Not a product: no auth, no retries, no expiry, no limits. What it keeps is what imagecache's promises need at the
least: the entry and its job made in Redis by one script (single flight across hosts), the job moved to a working
list while it runs (nothing lost when a worker dies), a worker process apart from the web producing it, the
result a file, waiters woken through Redis. `bench.versus_kentik` runs it beside imagecache and the Kentik Image
Cache: what imagecache costs beyond its floor is its own code's, what the floor costs beyond the peer is the
shape's.
"""
