"""SNS: the union of its operation groups (topics, subscriptions, publishing) and the fan-out
that delivers published messages (delivery.py), plus what the internal endpoints read."""

from __future__ import annotations

from typing import Any

from overcast.services.sns import store
from overcast.services.sns.delivery import Delivery
from overcast.services.sns.publish import Publishing
from overcast.services.sns.subscriptions import Subscriptions
from overcast.services.sns.topics import Topics


class SnsProvider(Topics, Subscriptions, Publishing, Delivery):
    service = "sns"

    # -- for /_overcast/sns/... (not operations: leading underscore) -------------------------

    def _captured(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        return self.env.store.read(lambda c: store.captured(c, filters))

    def _clear_captured(self) -> None:
        self.env.store.write(store.clear_captured)

    def _delivery_status(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        return self.env.store.read(lambda c: store.delivery_status(c, filters))

    def _certificate(self) -> str:
        return self.signer.certificate()
