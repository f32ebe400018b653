"""Storage classes: which objects can be read, the restore state of archived ones, and the
``x-amz-restore`` header.

GLACIER and DEEP_ARCHIVE bodies are unreadable until a RestoreObject (``restore.py``) completes.
The restore is recorded in the version's ``meta["restore"]`` as ``{"ready": t, "expiry": t,
"tier": ...}``; whether it is still ongoing, available or expired is computed from the clock at
each read, so a restore completes and a restored copy expires exactly when the clock says, with
no timer to arm and nothing to resume after a restart.
"""

from __future__ import annotations

import math
from typing import Any

from overcast.protocol.timestamps import RFC822, format_timestamp
from overcast.services.s3.errors import InvalidObjectState
from overcast.services.s3.models import ObjectVersion

DAY = 86400.0

ARCHIVED = frozenset({"GLACIER", "DEEP_ARCHIVE"})  # bodies unreadable until restored

# Seconds a restore takes by storage class and tier: the upper bound of AWS's documented range
# (GLACIER: Expedited 1-5 minutes, Standard 3-5 hours, Bulk 5-12 hours; DEEP_ARCHIVE: Standard
# within 12 hours, Bulk within 48 hours; no Expedited tier).
RESTORE_DELAYS: dict[str, dict[str, float]] = {
    "GLACIER": {"Expedited": 5 * 60.0, "Standard": 5 * 3600.0, "Bulk": 12 * 3600.0},
    "DEEP_ARCHIVE": {"Standard": 12 * 3600.0, "Bulk": 48 * 3600.0},
}


def next_midnight(when: float) -> float:
    """``when`` rounded up to the next midnight UTC, as S3 rounds restore expiries and
    lifecycle ages ("rounding the resulting time to the next day's midnight UTC")."""
    return math.ceil(when / DAY) * DAY


def restore_state(obj: ObjectVersion, now: float) -> str:
    """ "none", "ongoing", "restored" or "expired" for an archived version."""
    restore = obj.meta.get("restore")
    if not restore:
        return "none"
    if now < restore["ready"]:
        return "ongoing"
    return "restored" if now < restore["expiry"] else "expired"


def restore_header(obj: ObjectVersion, now: float) -> str | None:
    """The ``x-amz-restore`` value S3 sends for a version with a restore, or None."""
    state = restore_state(obj, now)
    if state == "ongoing":
        return 'ongoing-request="true"'
    if state == "restored":
        expiry = format_timestamp(obj.meta["restore"]["expiry"], RFC822)
        return f'ongoing-request="false", expiry-date="{expiry}"'
    return None


def read_members(obj: ObjectVersion, now: float, *, method: str) -> dict[str, Any]:
    """What a GET/HEAD adds for the object's storage class: the ``Restore`` member; a GET of an
    archived object without an available restored copy raises InvalidObjectState."""
    if obj.storage_class not in ARCHIVED:
        return {}
    if method == "GET" and restore_state(obj, now) != "restored":
        raise InvalidObjectState(StorageClass=obj.storage_class)
    header = restore_header(obj, now)
    return {} if header is None else {"Restore": header}


def check_copy_source(obj: ObjectVersion, now: float) -> None:
    """An archived copy source must be restored first, as S3 requires."""
    if obj.storage_class in ARCHIVED and restore_state(obj, now) != "restored":
        raise InvalidObjectState(
            "The source object of the COPY action is not in the active tier and is only stored "
            "in Amazon S3 Glacier.",
            StorageClass=obj.storage_class,
        )


def restore_status(obj: ObjectVersion, now: float) -> dict[str, Any] | None:
    """ListObjects' ``RestoreStatus`` (OptionalObjectAttributes=RestoreStatus), or None."""
    state = restore_state(obj, now)
    if state == "ongoing":
        return {"IsRestoreInProgress": True}
    if state == "restored":
        return {
            "IsRestoreInProgress": False,
            "RestoreExpiryDate": int(obj.meta["restore"]["expiry"]),
        }
    return None
