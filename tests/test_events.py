"""Event bus: topics, outbox after commit, rollback, retries on the clock, redelivery."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from overcast import events
from overcast.clock import Clock
from overcast.events import Event, EventBus
from overcast.state import Store

TOPIC = events.declare("test.thing.happened", "A test event. Payload: n.")


@pytest.fixture(params=["ephemeral", "disk"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    s = Store.open(None if request.param == "ephemeral" else tmp_path)
    yield s
    s.close()


class Recorder:
    def __init__(self, fail_times: int = 0) -> None:
        self.events: list[Event] = []
        self.fail_times = fail_times

    async def __call__(self, event: Event) -> None:
        self.events.append(event)
        if len(self.events) <= self.fail_times:
            raise RuntimeError("handler down")

    @property
    def payloads(self) -> list[dict]:
        return [e.payload for e in self.events]


def test_topics_are_declared_with_docs() -> None:
    assert events.TOPICS[events.S3_OBJECT_CREATED].doc
    with Store.open(None) as store, pytest.raises(ValueError, match="undeclared"):
        EventBus(store, Clock()).publish("no.such.topic", {})
    with pytest.raises(ValueError):
        events.declare(TOPIC, "different doc")


def test_publish_without_subscribers_is_free(store: Store) -> None:
    bus = EventBus(store, Clock())
    assert bus.publish(TOPIC, {"n": 1}) == 0


def test_delivered_after_commit_not_on_rollback(store: Store) -> None:
    bus = EventBus(store, Clock())
    rec = Recorder()
    bus.subscribe(TOPIC, rec, name="rec")

    async def main() -> None:
        await bus.start()

        def ok(conn: sqlite3.Connection) -> None:
            bus.publish(TOPIC, {"n": 1}, conn=conn)
            assert rec.events == []  # not before the commit

        def bad(conn: sqlite3.Connection) -> None:
            bus.publish(TOPIC, {"n": 2}, conn=conn)
            raise RuntimeError("rolled back")

        store.write(ok)
        with pytest.raises(RuntimeError):
            store.write(bad)
        await store.awrite(lambda c: bus.publish(TOPIC, {"n": 3}, conn=c))
        bus.publish(TOPIC, {"n": 4})  # outside a transaction: its own commit
        await bus.drain()
        await bus.stop()

    asyncio.run(main())
    assert rec.payloads == [{"n": 1}, {"n": 3}, {"n": 4}]
    assert rec.events[0].attempt == 1
    left = store.read(lambda c: c.execute("SELECT COUNT(*) FROM _overcast_outbox").fetchone()[0])
    assert left == 0


def test_delivered_by_running_loop_without_drain(store: Store) -> None:
    bus = EventBus(store, Clock())

    async def main() -> list[int]:
        seen: list[int] = []
        done = asyncio.Event()

        async def handler(event: Event) -> None:
            seen.append(event.payload["n"])
            if len(seen) == 2:
                done.set()

        bus.subscribe(TOPIC, handler, name="h")
        await bus.start()
        bus.publish(TOPIC, {"n": 1})
        await asyncio.to_thread(bus.publish, TOPIC, {"n": 2})  # from another thread
        await asyncio.wait_for(done.wait(), 2)
        await bus.stop()
        return seen

    assert asyncio.run(main()) == [1, 2]


def test_each_subscriber_gets_its_copy_and_retries_alone(store: Store) -> None:
    clock = Clock(frozen=True)
    bus = EventBus(store, clock, base_delay=10)
    good, flaky = Recorder(), Recorder(fail_times=2)
    bus.subscribe(TOPIC, good, name="good")
    bus.subscribe(TOPIC, flaky, name="flaky")

    async def main() -> None:
        await bus.start()
        assert bus.publish(TOPIC, {"n": 1}) == 2
        await bus.drain()
        assert len(good.events) == 1 and len(flaky.events) == 1
        clock.advance(9)  # backoff is 10s of clock time
        await bus.drain()
        assert len(flaky.events) == 1
        clock.advance(1)
        await asyncio.sleep(0)  # the loop's clock timer wakes it
        await bus.drain()
        assert len(flaky.events) == 2
        clock.advance(20)  # second backoff: 20s
        await bus.drain()
        await bus.stop()

    asyncio.run(main())
    assert len(good.events) == 1
    assert [e.attempt for e in flaky.events] == [1, 2, 3]
    assert len({e.id for e in flaky.events}) == 1


def test_gives_up_after_max_attempts(store: Store) -> None:
    clock = Clock(frozen=True)
    bus = EventBus(store, clock, max_attempts=2, base_delay=1)
    rec = Recorder(fail_times=99)
    bus.subscribe(TOPIC, rec, name="down")

    async def main() -> None:
        bus.publish(TOPIC, {"n": 1})
        await bus.drain()
        clock.advance(5)
        await bus.drain()
        clock.advance(500)
        await bus.drain()

    asyncio.run(main())
    assert len(rec.events) == 2
    [dead] = bus.dead_letters()
    assert dead["subscriber"] == "down" and dead["attempts"] == 2
    assert "handler down" in dead["last_error"] and dead["payload"] == {"n": 1}


def test_undelivered_events_survive_restart(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        bus = EventBus(store, Clock(store))
        bus.subscribe(TOPIC, Recorder(), name="rec")
        bus.publish(TOPIC, {"n": 1})  # never started: stays in the outbox
        store.write(lambda c: bus.publish(TOPIC, {"n": 2}, conn=c))
    with Store.open(tmp_path) as store:
        bus = EventBus(store, Clock(store))
        rec = Recorder()
        bus.subscribe(TOPIC, rec, name="rec")

        async def main() -> None:
            await bus.start()
            await bus.drain()
            await bus.stop()

        asyncio.run(main())
        assert rec.payloads == [{"n": 1}, {"n": 2}]


def test_late_subscriber_gets_its_events_from_before_the_restart(tmp_path: Path) -> None:
    # Providers load on first use, so a subscriber may join after the bus has started.
    with Store.open(tmp_path) as store:
        bus = EventBus(store, Clock(store))
        bus.subscribe(TOPIC, Recorder(), name="late")
        bus.publish(TOPIC, {"n": 1})
    with Store.open(tmp_path) as store:
        bus = EventBus(store, Clock(store))
        rec = Recorder()

        async def main() -> None:
            await bus.start()
            bus.subscribe(TOPIC, rec, name="late")
            await bus.drain()
            await bus.stop()

        asyncio.run(main())
        assert rec.payloads == [{"n": 1}]


def test_failed_event_redelivered_after_restart(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        clock = Clock(store, frozen=True)
        bus = EventBus(store, clock)
        bus.subscribe(TOPIC, Recorder(fail_times=1), name="rec")

        async def first() -> None:
            await bus.start()
            bus.publish(TOPIC, {"n": 7})
            await bus.drain()
            await bus.stop()

        asyncio.run(first())
    with Store.open(tmp_path) as store:
        clock = Clock(store)
        bus = EventBus(store, clock)
        rec = Recorder()
        bus.subscribe(TOPIC, rec, name="rec")

        async def second() -> None:
            await bus.start()
            clock.advance(60)
            await bus.drain()
            await bus.stop()

        asyncio.run(second())
        assert [e.attempt for e in rec.events] == [2]


def test_handler_publishing_is_delivered_in_same_drain(store: Store) -> None:
    bus = EventBus(store, Clock())
    rec = Recorder()

    async def relay(event: Event) -> None:
        if event.payload["n"] < 3:
            bus.publish(TOPIC, {"n": event.payload["n"] + 1})

    bus.subscribe(TOPIC, relay, name="relay")
    bus.subscribe(TOPIC, rec, name="rec")

    async def main() -> None:
        await bus.start()
        bus.publish(TOPIC, {"n": 1})
        await bus.drain()
        await bus.stop()

    asyncio.run(main())
    assert rec.payloads == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_duplicate_subscriber_name(store: Store) -> None:
    bus = EventBus(store, Clock())
    bus.subscribe(TOPIC, Recorder(), name="x")
    with pytest.raises(ValueError, match="already exists"):
        bus.subscribe(TOPIC, Recorder(), name="x")


def test_restart_on_a_new_loop(store: Store) -> None:
    bus = EventBus(store, Clock())
    rec = Recorder()
    bus.subscribe(TOPIC, rec, name="rec")

    async def run(n: int) -> None:
        await bus.start()
        bus.publish(TOPIC, {"n": n})
        await bus.drain()

    asyncio.run(run(1))  # never stopped: the next loop must not reuse the dead task
    asyncio.run(run(2))
    assert rec.payloads == [{"n": 1}, {"n": 2}]


def test_reset_drops_pending_events(store: Store) -> None:
    clock = Clock(frozen=True)
    bus = EventBus(store, clock)
    rec = Recorder(fail_times=1)
    bus.subscribe(TOPIC, rec, name="rec")

    async def main() -> None:
        await bus.start()
        bus.publish(TOPIC, {"n": 1})
        await bus.drain()  # fails once; a retry is pending
        store.reset()
        clock.advance(3600)
        await bus.drain()
        await bus.stop()

    asyncio.run(main())
    assert len(rec.events) == 1
