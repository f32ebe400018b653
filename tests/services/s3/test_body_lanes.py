"""Ordered lanes: batches in push order, bounded, failures reported, stops that wait."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from overcast.services.s3.body_lanes import Lane


def test_batches_are_worked_in_order_off_the_loop() -> None:
    seen: list[int] = []
    threads: set[int] = set()

    def job(batch: int) -> None:
        threads.add(threading.get_ident())
        time.sleep(0.001 * (batch % 3))  # uneven work must not reorder
        seen.append(batch)

    async def run() -> None:
        lane = Lane(job)
        for i in range(50):
            await lane.push(i)
        await lane.drain()

    asyncio.run(run())
    assert seen == list(range(50))
    assert threading.get_ident() not in threads


def test_push_waits_while_the_lane_is_full() -> None:
    release = threading.Event()
    worked: list[int] = []

    def job(batch: int) -> None:
        release.wait(5)
        worked.append(batch)

    async def run() -> None:
        lane = Lane(job, depth=2)
        await lane.push(0)
        await lane.push(1)
        third = asyncio.ensure_future(lane.push(2))
        await asyncio.sleep(0.05)
        assert not third.done()  # two held (one in progress, one queued): the third waits
        release.set()
        await third
        await lane.drain()

    asyncio.run(run())
    assert worked == [0, 1, 2]


def test_a_failing_job_is_raised_to_the_loop_and_drops_the_rest() -> None:
    done: list[int] = []

    def job(batch: int) -> None:
        if batch == 3:
            raise OSError("disk full")
        done.append(batch)

    async def run() -> None:
        lane = Lane(job, depth=100)
        for i in range(10):
            await lane.push(i)
        await lane.drain()

    with pytest.raises(OSError, match="disk full"):
        asyncio.run(run())
    assert done == [0, 1, 2]


def test_stop_drops_waiting_batches_and_calls_back_once_idle() -> None:
    started = threading.Event()
    release = threading.Event()
    worked: list[int] = []
    stopped = threading.Event()

    def job(batch: int) -> None:
        started.set()
        release.wait(5)
        worked.append(batch)

    async def run() -> None:
        lane = Lane(job, depth=10)
        for i in range(5):
            await lane.push(i)
        await asyncio.to_thread(started.wait, 5)
        lane.stop(stopped.set)
        assert not stopped.is_set()  # the batch in progress is not done yet
        release.set()
        await asyncio.to_thread(stopped.wait, 5)

    asyncio.run(run())
    assert worked == [0] and stopped.is_set()


def test_stopped_waits_for_the_batch_in_progress_without_raising() -> None:
    release = threading.Event()

    def job(batch: int) -> None:
        release.wait(5)
        raise ValueError("ignored while failing")

    async def run() -> None:
        lane = Lane(job, depth=10)
        await lane.push(0)
        await lane.push(1)
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, release.set)
        await lane.stopped()

    asyncio.run(run())
