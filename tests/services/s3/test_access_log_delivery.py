"""Delivery of server access logs when it cannot happen as planned: a target bucket deleted
before the flush (the records are dropped, with nothing left behind) and a delivery that fails
(logged and retried a flush period later, the records kept)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from overcast.gateway.app import create_app
from overcast.services.base import ServiceEnv
from overcast.services.s3 import store
from overcast.services.s3.access_logging import FLUSH_SECONDS
from overcast.services.s3.models import Bucket
from overcast.settings import Settings
from overcast.state import Blob

ACCOUNT = "000000000000"


def _setup() -> tuple[ServiceEnv, Any]:
    env = create_app(Settings(data_dir=None)).env
    return env, env.registry.provider("s3")


def _bucket(env: ServiceEnv, name: str) -> None:
    bucket = Bucket(name, ACCOUNT, "us-east-1", env.clock.now())
    env.store.write(lambda c: store.insert_bucket(c, bucket))


def _pend(env: ServiceEnv, source: str, target: str, line: str) -> None:
    key_format = json.dumps(
        {"prefix": "logs/", "format": {}, "account": ACCOUNT, "region": "us-east-1"}
    )
    env.store.write(
        lambda c: c.execute(
            "INSERT INTO s3_access_log_pending (source, target, key_format, at, line) "
            "VALUES (?, ?, ?, ?, ?)",
            (source, target, key_format, env.clock.now(), line),
        )
    )


def _pending(env: ServiceEnv) -> int:
    return int(
        env.store.read(
            lambda c: c.execute("SELECT COUNT(*) FROM s3_access_log_pending").fetchone()[0]
        )
    )


def _log_keys(env: ServiceEnv, bucket: str) -> list[str]:
    return env.store.read(lambda c: [o.key for o in store.list_latest(c, bucket, limit=10)])


def _record_blobs(env: ServiceEnv) -> list[Blob]:
    """Every blob the flush writes, to check afterwards that none is left unreferenced."""
    written: list[Blob] = []
    put_bytes = env.store.blobs.put_bytes

    def recording(data: bytes) -> Blob:
        written.append(put_bytes(data))
        return written[-1]

    env.store.blobs.put_bytes = recording  # type: ignore[method-assign]
    return written


async def _flushes_done(s3: Any) -> None:
    while s3._log_flushes:
        await asyncio.gather(*s3._log_flushes, return_exceptions=True)


def test_records_for_a_deleted_target_are_dropped_without_a_trace() -> None:
    async def run() -> None:
        env, s3 = _setup()
        await env.events.start()
        _bucket(env, "kept")
        _pend(env, "src", "kept", "to the living target\n")
        _pend(env, "src", "gone", "to a deleted target\n")
        written = _record_blobs(env)
        await s3._flush_logs()
        await env.events.stop()
        assert _pending(env) == 0
        [key] = _log_keys(env, "kept")
        assert key.startswith("logs/")
        assert len(written) == 2
        linked = [b for b in written if env.store.blobs.refs(b.id)]
        assert len(linked) == 1  # the other one, for the deleted target, is gone
        orphans = [b for b in written if b not in linked]
        assert not any(env.store.blobs.exists(b.id) for b in orphans)

    asyncio.run(run())


def test_a_failed_delivery_is_logged_and_retried_with_its_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def run() -> None:
        env, s3 = _setup()
        await env.events.start()
        await env.clock.start()
        _bucket(env, "target")
        _pend(env, "src", "target", "one record\n")
        written = _record_blobs(env)
        deliver = s3._deliver_log
        failures = [RuntimeError("disk on fire")]

        def failing(c: Any, **kwargs: Any) -> bool:
            if failures:
                raise failures.pop()
            return bool(deliver(c, **kwargs))

        s3._deliver_log = failing
        with caplog.at_level(logging.ERROR, logger="overcast.s3.access_logs"):
            s3._flush_soon()
            await _flushes_done(s3)
        assert "server access log delivery failed" in caplog.text
        assert _pending(env) == 1  # kept for the next attempt
        assert _log_keys(env, "target") == []
        [first] = written
        assert not env.store.blobs.exists(first.id)  # the failed attempt's blob is gone
        assert s3._flush_timer is not None  # re-armed
        env.clock.advance(FLUSH_SECONDS + 1)  # fires the due timer: the flush starts
        await _flushes_done(s3)
        assert _pending(env) == 0
        assert len(_log_keys(env, "target")) == 1
        await env.clock.stop()
        await env.events.stop()

    asyncio.run(run())
