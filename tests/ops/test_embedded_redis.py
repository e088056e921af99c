import hashlib
import time

from redis import Redis

from imagecache.domain.entry_record import EntryRecord
from imagecache.index.entry_index import RedisEntryIndex
from imagecache.ops.embedded_redis import EmbeddedRedis
from imagecache_client.ids import canonical_json
from testkit.index import activate, request
from testkit.processes import free_port
from testkit.upstream import make_query


def test_an_entry_with_a_real_query_stays_a_compact_hash(tmp_path):
    """The embedded server keeps the index's hashes listpacks past Redis's 64-byte default (a third of the
    memory for an entry with a Kentik query)."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    server = EmbeddedRedis(url, tmp_path, persistent=False).start()
    try:
        redis = Redis.from_url(url, decode_responses=True)
        entries, query = RedisEntryIndex(redis, "t:"), canonical_json(make_query())
        entry_id = request(entries, "a" * 64, now=time.time(), ttl=60, query=query, job="kentik").entry.id
        etag = hashlib.sha256(query.encode()).hexdigest()
        activate(entries, entry_id, now=time.time(), etag=etag, blob_key=EntryRecord.attempt_key(entry_id))
        assert len(query) > 64
        assert redis.object("encoding", entries.keys.entry(entry_id)) in ("ziplist", "listpack")
    finally:
        server.stop()
