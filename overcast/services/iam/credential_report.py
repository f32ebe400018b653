"""The credential report: one CSV row per user (and the root), in AWS's columns.

GenerateCredentialReport builds the report at once and keeps it; the first call answers
``STARTED`` as AWS does, later ones ``COMPLETE``. A report is fresh for four hours: after that
GetCredentialReport answers ``ReportExpired`` and GenerateCredentialReport makes a new one.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import UTC, datetime
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.iam import storage
from overcast.services.iam.common import IamBase
from overcast.services.iam.errors import CredentialReportExpired, CredentialReportNotPresent
from overcast.services.iam.passwords import POLICY_KEY

REPORT_KEY = "credential-report"
FRESH_FOR = 4 * 3600.0
COLUMNS = [
    "user", "arn", "user_creation_time", "password_enabled", "password_last_used",
    "password_last_changed", "password_next_rotation", "mfa_active",
    "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_1_last_used_region", "access_key_1_last_used_service",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
    "access_key_2_last_used_region", "access_key_2_last_used_service",
    "cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
]  # fmt: skip
NA = "N/A"


def _time(epoch: float | None) -> str:
    if epoch is None:
        return NA
    return datetime.fromtimestamp(epoch, UTC).replace(microsecond=0).isoformat()


def _key_columns(key: dict[str, Any] | None) -> list[str]:
    if key is None:
        return ["false", NA, NA, NA, NA]
    used = key.get("LastUsed")
    return [
        "true" if key["Status"] == "Active" else "false",
        _time(key["CreateDate"]),
        _time(used["LastUsedDate"]) if used else NA,
        used["Region"] if used else NA,
        used["ServiceName"] if used else NA,
    ]


def build_report(conn: sqlite3.Connection, account: str, now: float) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    root = ["<root_account>", f"arn:aws:iam::{account}:root", _time(0.0), "not_supported",
            NA, "not_supported", "not_supported", "false"]  # fmt: skip
    writer.writerow(root + _key_columns(None) * 2 + ["false", NA, "false", NA])
    policy = storage.get(conn, account, storage.ACCOUNT, POLICY_KEY) or {}
    max_age = policy.get("MaxPasswordAge")
    devices = storage.all_of(conn, account, storage.MFA)
    for user in storage.all_of(conn, account, storage.USER):
        name = user["UserName"]
        profile = storage.get(conn, account, storage.LOGIN_PROFILE, name)
        changed = profile.get("PasswordLastChanged", profile["CreateDate"]) if profile else None
        rotation = NA
        if changed is not None and max_age:
            rotation = _time(changed + int(max_age) * 86400)
        mfa = any(str(d.get("UserName", "")).lower() == name.lower() for d in devices)
        keys = storage.keys_of(conn, account, name)
        row = [
            name, user["Arn"], _time(user["CreateDate"]),
            "true" if profile else "false",
            _time(user.get("PasswordLastUsed")) if profile and user.get("PasswordLastUsed")
            else ("no_information" if profile else NA),
            _time(changed) if profile else NA, rotation, "true" if mfa else "false",
        ]  # fmt: skip
        row += _key_columns(keys[0] if keys else None)
        row += _key_columns(keys[1] if len(keys) > 1 else None)
        certs = [c for c in storage.all_of(conn, account, "signing-cert")
                 if c["UserName"].lower() == name.lower()]  # fmt: skip
        for cert in [*certs, None, None][:2]:
            if cert is None:
                row += ["false", NA]
            else:
                row += [
                    "true" if cert["Status"] == "Active" else "false",
                    _time(cert["UploadDate"]),
                ]
        writer.writerow(row)
    return out.getvalue()


class CredentialReport(IamBase):
    def generate_credential_report(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        now = self._now()

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            existing = storage.get(conn, ctx.account_id, storage.ACCOUNT, REPORT_KEY)
            if existing is not None and now - existing["GeneratedTime"] < FRESH_FOR:
                return {"State": "COMPLETE"}
            content = build_report(conn, ctx.account_id, now)
            report = {"GeneratedTime": now, "Content": content}
            storage.put(conn, ctx.account_id, storage.ACCOUNT, REPORT_KEY, report)
            return {
                "State": "STARTED",
                "Description": "No report exists. Starting a new report generation task",
            }

        return self._write(write)

    def get_credential_report(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        report = self._read(
            lambda conn: storage.get(conn, ctx.account_id, storage.ACCOUNT, REPORT_KEY)
        )
        if report is None:
            raise CredentialReportNotPresent()
        if self._now() - report["GeneratedTime"] >= FRESH_FOR:
            raise CredentialReportExpired()
        return {
            "Content": report["Content"].encode(),
            "ReportFormat": "text/csv",
            "GeneratedTime": report["GeneratedTime"],
        }
