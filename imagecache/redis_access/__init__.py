"""Reaching Redis, for every adapter that keeps state there (the indexes in index/, the RQ queue in queueing/): the
connections (to REDIS_URL, or to whichever server the Sentinels call primary), every key's name, the Lua scripts'
loading, and how Redis says it is out."""
