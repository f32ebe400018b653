"""What every SQS operation group shares: queue URLs, finding the named queue, access checks
for other accounts (queue policies), the long-poll waiters and the retention sweep."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any
from urllib.parse import urlsplit

from overcast.gateway.authorize import request_principal
from overcast.gateway.context import RequestContext
from overcast.iam import Decision, Policy, PolicyError, RequestInfo
from overcast.services.base import Provider, ServiceEnv
from overcast.services.sqs import store
from overcast.services.sqs.errors import AccessDenied, InvalidAddress, QueueDoesNotExist
from overcast.services.sqs.models import Queue

log = logging.getLogger("overcast.sqs")

SWEEP_EVERY = 60.0  # clock seconds between retention sweeps
SWEEP_BATCH = 5000  # messages deleted per queue per sweep transaction


def queue_url(ctx: RequestContext, account_id: str, name: str) -> str:
    return f"{ctx.base_url('sqs')}/{account_id}/{name}"


def split_queue_url(url: str, default_account: str) -> tuple[str, str]:
    """``(account, name)`` named by a queue URL with any host (or by a bare name)."""
    path = urlsplit(url).path if "://" in url else url
    parts = [p for p in path.split("/") if p]
    if len(parts) == 2 and parts[0].isdigit():
        return parts[0], parts[1]
    if len(parts) == 1:
        return default_account, parts[0]
    raise InvalidAddress(f"The address {url} is not valid for this endpoint.")


def split_queue_arn(arn: str) -> tuple[str, str, str] | None:
    """``(region, account, name)`` of ``arn:aws:sqs:<region>:<account>:<name>``."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs":
        return None
    return parts[3], parts[4], parts[5]


class SqsBase(Provider):
    """Environment, queue lookup and waiters, inherited by every SQS operation group."""

    service = "sqs"

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        store.migrate(env.store)
        # queue id -> futures of long polls waiting for a message on that queue
        self._waiters: dict[int, set[asyncio.Future[None]]] = {}
        self._sweeper: Any = None
        self._schedule_sweep()

    # -- finding queues ---------------------------------------------------------------------

    def _queue(
        self, ctx: RequestContext, conn: sqlite3.Connection, url: str, action: str = ""
    ) -> Queue:
        """The queue ``url`` names, as the caller may use it; QueueDoesNotExist otherwise."""
        account, name = split_queue_url(url, ctx.account_id)
        queue = store.get_queue(conn, account, ctx.region, name)
        if queue is None:
            raise QueueDoesNotExist()
        if account != ctx.account_id:
            self._check_policy(ctx, queue, action)
        return queue

    def _check_policy(self, ctx: RequestContext, queue: Queue, action: str) -> None:
        """Another account's caller needs an Allow in the queue's policy."""
        text = queue.attrs.get("Policy")
        decision = Decision.NO_MATCH
        if text and action:
            try:
                policy = Policy.parse(text)
            except PolicyError:
                policy = None
            if policy is not None:
                principal = request_principal(ctx)
                decision = policy.evaluate(
                    RequestInfo(action=f"sqs:{action}", resource=queue.arn, principal=principal)
                )
        if decision is not Decision.ALLOW:
            raise AccessDenied(
                f"User: {ctx.identity.principal_arn if ctx.identity else 'anonymous'} is not "
                f"authorized to perform: sqs:{action} on resource: {queue.arn} because no "
                "resource-based policy allows the sqs:" + action + " action"
            )

    def _resource_policy(self, ctx: RequestContext, arn: str) -> tuple[str, str | None] | None:
        """The queue's account and policy, evaluated with the caller's identity policies by the
        gateway's IAM authorize step (None: no such queue)."""
        parsed = split_queue_arn(arn)
        queue = self.env.store.read(lambda conn: self._queue_by_arn(conn, arn)) if parsed else None
        return None if queue is None or parsed is None else (parsed[1], queue.attrs.get("Policy"))

    def _resource_tags(self, ctx: RequestContext, arn: str) -> dict[str, str] | None:
        """The queue's tags for ``aws:ResourceTag/*`` (IAM's authorize step, only when a policy
        reads that key)."""
        queue = self.env.store.read(lambda conn: self._queue_by_arn(conn, arn))
        return None if queue is None else dict(queue.tags)

    def _queue_by_arn(self, conn: sqlite3.Connection, arn: str) -> Queue | None:
        parsed = split_queue_arn(arn)
        if parsed is None:
            return None
        region, account, name = parsed
        return store.get_queue(conn, account, region, name)

    # -- long polling -----------------------------------------------------------------------

    def _notify(self, queue_id: int) -> None:
        """Wake the long polls waiting on ``queue_id`` (called after the send commits)."""
        waiters = self._waiters.pop(queue_id, None)
        if waiters:
            for future in waiters:
                if not future.done():
                    future.get_loop().call_soon_threadsafe(_wake, future)

    def _notify_after_commit(self, conn: sqlite3.Connection, queue_id: int) -> None:
        if self._waiters.get(queue_id):
            self.env.store.after_commit(conn, lambda: self._notify(queue_id))

    async def _wait_for_message(self, queue_id: int, until: float) -> None:
        """Return when a message is sent to the queue, at ``until``, or within a second (to
        notice delays and visibility timeouts ending), whichever comes first."""
        clock = self.env.clock
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(queue_id, set()).add(future)
        timer = clock.call_at(min(until, clock.now() + 1.0), lambda: _wake(future))
        try:
            await future
        finally:
            timer.cancel()
            waiters = self._waiters.get(queue_id)
            if waiters is not None:
                waiters.discard(future)
                if not waiters:
                    self._waiters.pop(queue_id, None)

    # -- retention --------------------------------------------------------------------------

    def _schedule_sweep(self) -> None:
        try:
            self._sweeper = self.env.clock.call_later(SWEEP_EVERY, self._sweep)
        except RuntimeError:  # no event loop (unit tests building the provider directly)
            self._sweeper = None

    def _sweep(self) -> None:
        """Drop messages past their queue's retention period, and expired dedup entries."""
        try:
            now = self.env.clock.now()
            queues = self.env.store.read(store.all_queues)
            for queue in queues:
                cutoff = now - queue.int_attr("MessageRetentionPeriod")
                while (
                    self.env.store.write(
                        lambda c, q=queue, t=cutoff: store.expire(c, q.id, t, SWEEP_BATCH)
                    )
                    == SWEEP_BATCH
                ):
                    pass
            self.env.store.write(lambda c: store.forget_expired_dedup(c, now))
        except Exception:
            log.exception("SQS retention sweep failed")
        finally:
            self._schedule_sweep()

    def reset(self) -> None:
        for waiters in self._waiters.values():
            for future in waiters:
                if not future.done():
                    future.get_loop().call_soon_threadsafe(_wake, future)
        self._waiters.clear()


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
