"""SQS: the union of its operation groups (queues, messages, dead-letter queues, permissions)."""

from __future__ import annotations

import sqlite3

from overcast.services.base import ServiceEnv
from overcast.services.sqs.messages import Messages
from overcast.services.sqs.permissions import Permissions
from overcast.services.sqs.queues import Queues


class SqsProvider(Queues, Messages, Permissions):
    service = "sqs"

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)

        # Move tasks do not survive a restart: report the interrupted ones as failed.
        def fail_interrupted(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE sqs_move_tasks SET status = 'FAILED', failure = 'Task interrupted'"
                " WHERE status = 'RUNNING'"
            )

        env.store.write(fail_interrupted)
