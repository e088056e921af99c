"""The Redis adapters of the cache's state: the entry and file indexes, garbage, counters, leases, the done
channel and the wait for replicas. Every state change is one Lua script in lua/; keys, connections and scripts'
loading are redis_access/'s, shared with the RQ queue."""
