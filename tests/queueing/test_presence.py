"""RqWorkerPresence on a real Redis: RQ's own Worker API sees our slots, their states and what they ran."""

from __future__ import annotations

from rq import Worker

from imagecache.queueing.presence import RqWorkerPresence, SlotReport


def test_slots_are_rq_workers_with_their_states_and_counts(jobs, prefix):
    names = [f"{prefix}slot-{n}" for n in range(2)]
    presence = RqWorkerPresence(jobs.queue.connection, jobs.queue, names, ttl=20)
    presence.beat([SlotReport(busy=True, finished=3, working_seconds=0.5), SlotReport(failed=1)])  # arrives first
    presence.beat([SlotReport(finished=2), SlotReport()])
    assert jobs.workers() == 2
    seen = {worker.name: worker for worker in Worker.all(queue=jobs.queue)}
    first, second = seen[names[0]], seen[names[1]]
    assert (first.successful_job_count, first.failed_job_count, first.total_working_time) == (5, 0, 0.5)
    assert (second.successful_job_count, second.failed_job_count) == (0, 1)
    assert first.get_state() == second.get_state() == "idle"
    presence.leave()
    assert jobs.workers() == 0


def test_a_record_lost_with_redis_comes_back_at_the_next_beat(jobs, prefix):
    presence = RqWorkerPresence(jobs.queue.connection, jobs.queue, [f"{prefix}slot"], ttl=20)
    presence.beat([SlotReport()])
    connection = jobs.queue.connection
    key = f"rq:worker:{prefix}slot"
    connection.delete(key)
    connection.srem("rq:workers", key)
    connection.srem(f"rq:workers:{jobs.queue.name}", key)
    assert jobs.workers() == 0
    presence.beat([SlotReport(finished=1)])
    (slot,) = Worker.all(queue=jobs.queue)
    assert slot.name == f"{prefix}slot" and slot.successful_job_count == 1 and slot.birth_date is not None
    presence.leave()
