"""Virtual MFA devices: created with a TOTP seed and QR code, enabled with two consecutive codes.

Codes are RFC 6238 TOTP values computed on the shared clock (``env.clock``), so tests advance
the clock and compute the codes an authenticator app would show (``totp.code_at``).
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import segno

from overcast.gateway.context import RequestContext
from overcast.services.iam import storage, totp
from overcast.services.iam.common import (
    IamBase,
    check_name,
    check_path,
    iam_arn,
    merge_tags,
    page,
    remove_tags,
    require,
    tags_page,
)
from overcast.services.iam.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    InvalidAuthenticationCode,
    LimitExceeded,
    NoSuchEntity,
)

Doc = dict[str, Any]
MAX_DEVICES_PER_USER = 8
_ENABLE_WINDOW = 2  # steps either side of now for the first of the two codes
_RESYNC_WINDOW = 10  # resynchronising accepts a device whose clock has drifted further


def _device_name(serial: str) -> str:
    return serial.rsplit("/", 1)[-1]


def _device(conn: sqlite3.Connection, ctx: RequestContext, serial: str) -> Doc:
    doc = storage.get(conn, ctx.account_id, storage.MFA, _device_name(serial))
    if doc is None or doc["SerialNumber"] != serial:
        raise NoSuchEntity(f"VirtualMFADevice with serial number {serial} doesn't exist.")
    return doc


def _qr_png(uri: str) -> bytes:
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="png", scale=4)
    return out.getvalue()


def consecutive_codes(seed: str, code1: str, code2: str, now: float, window: int) -> bool:
    """Whether ``code1`` and ``code2`` are the codes of two consecutive steps near ``now``."""
    current = totp.step_of(now)
    for step in range(current - window, current + window + 1):
        if totp.code_at(seed, step) == code1 and totp.code_at(seed, step + 1) == code2:
            return True
    return False


def _invalid_codes() -> InvalidAuthenticationCode:
    return InvalidAuthenticationCode("Authentication code for device is not valid.")


class MfaDevices(IamBase):
    def create_virtual_mfa_device(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["VirtualMFADeviceName"]
        path = request.get("Path") or "/"
        check_name(name, "virtualMFADeviceName")
        check_path(path)
        seed = totp.new_seed()
        serial = iam_arn(ctx, "mfa", path, name)
        doc: Doc = {
            "SerialNumber": serial,
            "Name": name,
            "Path": path,
            "Seed": seed,
            "CreateDate": self._now(),
            "Tags": merge_tags([], request.get("Tags") or []),
        }

        def write(conn: sqlite3.Connection) -> None:
            if not storage.insert(conn, ctx.account_id, storage.MFA, name, doc):
                raise EntityAlreadyExists(
                    "MFADevice entity at the same path and name already exists."
                )

        self._write(write)
        uri = f"otpauth://totp/{quote(name)}@{ctx.account_id}?secret={seed}"
        device: Doc = {
            "SerialNumber": serial,
            "Base32StringSeed": seed.encode(),
            "QRCodePNG": _qr_png(uri),
        }
        if doc["Tags"]:
            device["Tags"] = doc["Tags"]
        return {"VirtualMFADevice": device}

    def enable_mfa_device(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, serial = request["UserName"], request["SerialNumber"]
        code1, code2 = request["AuthenticationCode1"], request["AuthenticationCode2"]
        now = self._now()

        def write(conn: sqlite3.Connection) -> None:
            user = require(conn, ctx, storage.USER, name, "user")
            doc = _device(conn, ctx, serial)
            if doc.get("UserName"):
                raise EntityAlreadyExists("MFA Device is already in use.")
            devices = storage.all_of(conn, ctx.account_id, storage.MFA)
            mine = [d for d in devices if str(d.get("UserName", "")).lower() == name.lower()]
            if len(mine) >= MAX_DEVICES_PER_USER:
                raise LimitExceeded(
                    f"Cannot exceed quota for MFADevicesPerUser: {MAX_DEVICES_PER_USER}"
                )
            if not consecutive_codes(doc["Seed"], code1, code2, now, _ENABLE_WINDOW):
                raise _invalid_codes()
            doc.update(UserName=user["UserName"], UserArn=user["Arn"], EnableDate=now)
            storage.put(conn, ctx.account_id, storage.MFA, doc["Name"], doc)

        self._write(write)
        return {}

    def resync_mfa_device(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, serial = request["UserName"], request["SerialNumber"]
        code1, code2 = request["AuthenticationCode1"], request["AuthenticationCode2"]

        def read(conn: sqlite3.Connection) -> Doc:
            require(conn, ctx, storage.USER, name, "user")
            return _device(conn, ctx, serial)

        doc = self._read(read)
        if str(doc.get("UserName", "")).lower() != name.lower():
            raise NoSuchEntity(f"MFA device with serial number {serial} is not enabled for user.")
        if not consecutive_codes(doc["Seed"], code1, code2, self._now(), _RESYNC_WINDOW):
            raise _invalid_codes()
        return {}

    def deactivate_mfa_device(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, serial = request.get("UserName"), request["SerialNumber"]

        def write(conn: sqlite3.Connection) -> None:
            if name:
                require(conn, ctx, storage.USER, name, "user")
            doc = _device(conn, ctx, serial)
            owner = str(doc.get("UserName", ""))
            if not owner or (name and owner.lower() != name.lower()):
                raise NoSuchEntity(f"MFA Device with serial number {serial} is not enabled.")
            for member in ("UserName", "UserArn", "EnableDate"):
                doc.pop(member, None)
            storage.put(conn, ctx.account_id, storage.MFA, doc["Name"], doc)

        self._write(write)
        return {}

    def delete_virtual_mfa_device(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        serial = request["SerialNumber"]

        def write(conn: sqlite3.Connection) -> None:
            doc = _device(conn, ctx, serial)
            if doc.get("UserName"):
                raise DeleteConflict("MFA device is still in use.")
            storage.delete(conn, ctx.account_id, storage.MFA, doc["Name"])

        self._write(write)
        return {}

    def list_mfa_devices(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("UserName")

        def read(conn: sqlite3.Connection) -> list[Doc]:
            if name:
                require(conn, ctx, storage.USER, name, "user")
            return storage.all_of(conn, ctx.account_id, storage.MFA)

        devices = [
            {
                "UserName": d["UserName"],
                "SerialNumber": d["SerialNumber"],
                "EnableDate": d["EnableDate"],
            }
            for d in self._read(read)
            if d.get("UserName") and (not name or d["UserName"].lower() == name.lower())
        ]
        return page(devices, request, lambda d: d["SerialNumber"], "MFADevices")

    def list_virtual_mfa_devices(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        status = request.get("AssignmentStatus") or "Any"

        def read(conn: sqlite3.Connection) -> list[Doc]:
            found = []
            for doc in storage.all_of(conn, ctx.account_id, storage.MFA):
                assigned = bool(doc.get("UserName"))
                if (status == "Assigned" and not assigned) or (status == "Unassigned" and assigned):
                    continue
                view: Doc = {"SerialNumber": doc["SerialNumber"]}
                if assigned:
                    user = storage.get(conn, ctx.account_id, storage.USER, doc["UserName"])
                    if user is not None:
                        view["User"] = {
                            k: user[k] for k in ("Path", "UserName", "UserId", "Arn", "CreateDate")
                        }
                    view["EnableDate"] = doc["EnableDate"]
                if doc.get("Tags"):
                    view["Tags"] = doc["Tags"]
                found.append(view)
            return found

        return page(self._read(read), request, lambda d: d["SerialNumber"], "VirtualMFADevices")

    def get_mfa_device(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        serial = request["SerialNumber"]
        doc = self._read(lambda conn: _device(conn, ctx, serial))
        out: Doc = {"SerialNumber": serial}
        if doc.get("UserName"):
            out.update(UserName=doc["UserName"], EnableDate=doc["EnableDate"])
        return out

    # -- tags ----------------------------------------------------------------------------------

    def tag_mfa_device(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        tags = request["Tags"]
        self._edit_device(
            ctx, request["SerialNumber"], lambda d: d.update(Tags=merge_tags(d["Tags"], tags))
        )
        return {}

    def untag_mfa_device(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        keys = request["TagKeys"]
        self._edit_device(
            ctx, request["SerialNumber"], lambda d: d.update(Tags=remove_tags(d["Tags"], keys))
        )
        return {}

    def list_mfa_device_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        serial = request["SerialNumber"]
        return tags_page(self._read(lambda conn: _device(conn, ctx, serial)), request)

    def _edit_device(self, ctx: RequestContext, serial: str, change: Callable[[Doc], Any]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            doc = _device(conn, ctx, serial)
            change(doc)
            storage.put(conn, ctx.account_id, storage.MFA, doc["Name"], doc)

        self._write(write)
