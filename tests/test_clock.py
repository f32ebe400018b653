"""Clock: set/advance/freeze, persistence, sleepers and timers woken by moving the clock."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from overcast.clock import Clock
from overcast.state import Store

DAY = 86400.0


def test_defaults_to_real_time() -> None:
    clock = Clock()
    before = datetime.now(UTC).timestamp()
    assert before - 1 <= clock.now() <= before + 1
    assert clock.offset == 0 and not clock.frozen
    assert clock.now_datetime().tzinfo is UTC


def test_set_advance_freeze() -> None:
    clock = Clock()
    clock.set(1_000_000_000)
    assert abs(clock.now() - 1_000_000_000) < 1
    clock.advance(DAY)
    assert abs(clock.now() - (1_000_000_000 + DAY)) < 1
    clock.freeze(2_000_000_000)
    assert clock.now() == 2_000_000_000 and clock.frozen
    clock.advance(5)
    assert clock.now() == 2_000_000_005
    info = clock.describe()
    assert info["now"] == 2_000_000_005 and info["frozen"] is True
    assert info["iso"] == "2033-05-18T03:33:25Z"
    clock.unfreeze()
    assert not clock.frozen and abs(clock.now() - 2_000_000_005) < 1
    clock.advance(-5)  # backwards is allowed, like set()
    assert abs(clock.now() - 2_000_000_000) < 1


def test_persisted_through_store(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        Clock(store).set(1_500_000_000)
    with Store.open(tmp_path) as store:
        clock = Clock(store)
        assert abs(clock.now() - 1_500_000_000) < 5
        clock.freeze(1_600_000_000)
        store.reset()  # the clock survives a data reset
    with Store.open(tmp_path) as store:
        clock = Clock(store)
        assert clock.frozen and clock.now() == 1_600_000_000


def test_frozen_flag_at_construction() -> None:
    clock = Clock(frozen=True)
    t = clock.now()
    assert clock.frozen and clock.now() == t


def test_sleep_wakes_when_advanced() -> None:
    clock = Clock(frozen=True)

    async def main() -> float:
        start = clock.now()
        sleeper = asyncio.ensure_future(clock.sleep(3600))
        await asyncio.sleep(0.01)
        assert not sleeper.done()  # frozen: real time passing changes nothing
        clock.advance(3599)
        await asyncio.sleep(0)
        assert not sleeper.done()
        clock.advance(1)
        await asyncio.wait_for(sleeper, 1)
        return clock.now() - start

    assert asyncio.run(main()) == 3600


def test_sleep_uses_real_time_when_running() -> None:
    clock = Clock()

    async def main() -> None:
        await asyncio.wait_for(clock.sleep(0.02), 1)
        await clock.sleep(0)
        await clock.wait_until(clock.now() - 10)  # already past

    asyncio.run(main())


def test_set_wakes_wait_until() -> None:
    clock = Clock()

    async def main() -> None:
        target = clock.now() + 10 * DAY
        waiter = asyncio.ensure_future(clock.wait_until(target))
        await asyncio.sleep(0)
        clock.set(target + 1)
        await asyncio.wait_for(waiter, 1)

    asyncio.run(main())


def test_timers_fire_in_order_when_advanced() -> None:
    clock = Clock(frozen=True)
    fired: list[str] = []

    async def main() -> None:
        clock.call_later(30, lambda: fired.append("b"))
        clock.call_later(10, lambda: fired.append("a"))
        cancelled = clock.call_later(20, lambda: fired.append("never"))
        cancelled.cancel()
        clock.call_later(100, lambda: fired.append("late"))
        clock.advance(50)  # fires synchronously on the loop thread
        assert fired == ["a", "b"]
        clock.advance(50)
        assert fired == ["a", "b", "late"]

    asyncio.run(main())


def test_async_timer_callback_and_errors() -> None:
    clock = Clock(frozen=True)
    done = []

    async def job() -> None:
        done.append(clock.now())

    async def main() -> None:
        clock.call_later(1, lambda: 1 / 0)  # logged, does not break the clock
        clock.call_later(2, job)
        clock.advance(2)
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    asyncio.run(main())
    assert len(done) == 1


def test_due_timer_fires_on_next_iteration() -> None:
    clock = Clock()
    fired: list[int] = []

    async def main() -> None:
        clock.call_at(clock.now() - 1, lambda: fired.append(1))
        await asyncio.sleep(0)

    asyncio.run(main())
    assert fired == [1]


def test_advance_from_another_thread() -> None:
    clock = Clock(frozen=True)

    async def main() -> None:
        sleeper = asyncio.ensure_future(clock.sleep(60))
        await asyncio.sleep(0)
        t = threading.Thread(target=clock.advance, args=(61,))
        t.start()
        await asyncio.wait_for(sleeper, 1)
        t.join()

    asyncio.run(main())


def test_call_at_needs_a_loop() -> None:
    with pytest.raises(RuntimeError, match="start"):
        Clock().call_later(1, lambda: None)


def test_start_stop_and_many_cancelled_sleepers() -> None:
    clock = Clock(frozen=True)

    async def main() -> None:
        await clock.start()
        tasks = [asyncio.ensure_future(clock.sleep(1000 + i)) for i in range(200)]
        await asyncio.sleep(0)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert len(clock._heap) < 200  # cancelled timers are compacted away
        await clock.stop()

    asyncio.run(main())
