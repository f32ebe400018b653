"""IAM's provider."""

from __future__ import annotations

from overcast.services.base import Provider


class IamProvider(Provider):
    service = "iam"
