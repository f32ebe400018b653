"""Retried CompleteMultipartUpload: S3 answers a repeat of a Complete that already succeeded with
the same result (clients retry after a timeout that hid the first answer), not NoSuchUpload.

The results are kept in memory for an hour of the shared clock (a bounded number of them): a
retry follows its timeout within minutes, and after a restart a retry answers NoSuchUpload as
AWS does for an upload completed long ago.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

REPLAY_SECONDS = 3600.0
MAX_KEPT = 10_000


def parts_signature(listed: list[dict[str, Any]]) -> tuple[tuple[int, str], ...]:
    """The request's part list, as compared between a Complete and its retry."""
    return tuple(
        (int(p.get("PartNumber") or 0), str(p.get("ETag") or "").strip('"')) for p in listed
    )


class CompletedUploads:
    """The answers of recent successful Completes, keyed by upload id."""

    def __init__(self) -> None:
        self._kept: OrderedDict[str, tuple[str, str, tuple[tuple[int, str], ...], float, dict]] = (
            OrderedDict()
        )

    def remember(
        self,
        upload_id: str,
        bucket: str,
        key: str,
        listed: list[dict[str, Any]],
        now: float,
        answer: dict[str, Any],
    ) -> None:
        self._kept[upload_id] = (bucket, key, parts_signature(listed), now, dict(answer))
        self._kept.move_to_end(upload_id)
        while len(self._kept) > MAX_KEPT:
            self._kept.popitem(last=False)

    def replay(
        self, upload_id: str, bucket: str, key: str, listed: list[dict[str, Any]], now: float
    ) -> dict[str, Any] | None:
        """The first Complete's answer when this request repeats it, else None."""
        kept = self._kept.get(upload_id)
        if kept is None:
            return None
        kept_bucket, kept_key, signature, at, answer = kept
        if (kept_bucket, kept_key) != (bucket, key) or signature != parts_signature(listed):
            return None
        if not 0 <= now - at <= REPLAY_SECONDS:
            return None
        return dict(answer)

    def clear(self) -> None:
        self._kept.clear()
