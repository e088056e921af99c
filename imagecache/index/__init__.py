"""The Redis adapters: the entry and file indexes, garbage, counters, leases, the done channel, the wait for
replicas, and the connections they all use (to REDIS_URL, or to whichever server the Sentinels call primary).

Every key is named in keys.py and every state change is one Lua script in lua/.
Importing the package teaches the domain what a Redis outage looks like.
"""

from imagecache.domain.outages import recognise
from imagecache.index.redis_outages import redis_outage

recognise(redis_outage)
