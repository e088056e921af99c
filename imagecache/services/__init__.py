"""The services: the domain's rules at work (the image cache, the file cache, producing, capacity, upkeep).

Written against the ports in domain/ports.py only, so they run on any adapters
(and in tests on real Redis and a temporary directory, without HTTP or RQ).
"""
