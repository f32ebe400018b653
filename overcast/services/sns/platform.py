"""Mobile push and SMS settings: platform applications, their endpoints (device tokens),
publishing to an endpoint (captured, like every push: nothing leaves the machine), and the
account's SMS attributes and opted-out phone numbers."""

from __future__ import annotations

import re
import sqlite3
import uuid
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.ids import partition_of
from overcast.services.sns import feedback, store
from overcast.services.sns.common import SnsBase, split_arn
from overcast.services.sns.errors import (
    EndpointDisabledException,
    InvalidParameterException,
    NotFoundException,
    PlatformApplicationDisabledException,
    invalid,
)

PAGE = 100
PLATFORMS = ("ADM", "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX", "BAIDU", "GCM",
             "MPNS", "WNS")  # fmt: skip
_APP_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
_APP_ATTRS = {"PlatformCredential", "PlatformPrincipal", "EventEndpointCreated",
              "EventEndpointDeleted", "EventEndpointUpdated", "EventDeliveryFailure",
              "SuccessFeedbackRoleArn", "FailureFeedbackRoleArn", "SuccessFeedbackSampleRate",
              "ApplePlatformTeamID", "ApplePlatformBundleID", "Enabled"}  # fmt: skip
_FEEDBACK = {"SuccessFeedbackRoleArn", "FailureFeedbackRoleArn", "SuccessFeedbackSampleRate"}
_ENDPOINT_ATTRS = {"CustomUserData", "Enabled", "Token"}
_SMS_ATTRS = {"MonthlySpendLimit", "DeliveryStatusIAMRole", "DeliveryStatusSuccessSamplingRate",
              "DefaultSenderID", "DefaultSMSType", "UsageReportS3Bucket"}  # fmt: skip
PHONE = re.compile(r"^\+?[1-9][0-9]{1,14}$")  # E.164


def _check_app_attrs(attrs: dict[str, str]) -> None:
    for name, value in attrs.items():
        if name not in _APP_ATTRS:
            raise invalid(f"Attributes Reason: Invalid attribute name: {name}")
        if name == "Enabled" and value not in ("true", "false"):
            raise invalid("Attributes Reason: Enabled must be true or false")
        if name in _FEEDBACK:
            feedback.check_attribute(name, value)


def _check_endpoint_attrs(attrs: dict[str, str]) -> None:
    for name, value in attrs.items():
        if name not in _ENDPOINT_ATTRS:
            raise invalid(f"Attributes Reason: Invalid attribute name: {name}")
        if name == "Enabled" and value not in ("true", "false"):
            raise invalid("Attributes Reason: Enabled must be true or false")
        if name == "Token" and not value:
            raise invalid("Attributes Reason: Token must not be empty")
        if name == "CustomUserData" and len(value.encode()) > 2048:
            raise invalid("Attributes Reason: CustomUserData must be at most 2048 bytes")


def _visible(attrs: dict[str, str]) -> dict[str, str]:
    """An application's attributes as AWS shows them: never the credential (a secret)."""
    return {k: v for k, v in attrs.items() if k != "PlatformCredential"}


def _platform_of(arn: str) -> str:
    """``GCM`` of ``...:app/GCM/name`` or ``...:endpoint/GCM/name/id``."""
    return arn.split(":", 5)[5].split("/")[1]


class Platform(SnsBase):
    # -- applications -------------------------------------------------------------------------

    def _app(self, ctx: RequestContext, conn: sqlite3.Connection, arn: str) -> dict[str, str]:
        parts = split_arn(arn)
        if parts is None or not parts[2].startswith("app/"):
            raise invalid("PlatformApplicationArn Reason: Wrong format")
        attrs = store.get_app(conn, arn) if parts[1] == ctx.account_id else None
        if attrs is None:
            raise NotFoundException("PlatformApplication does not exist")
        return attrs

    def create_platform_application(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name, platform = request["Name"], request["Platform"]
        attrs = dict(request.get("Attributes") or {})
        if not _APP_NAME.match(name):
            raise invalid(
                "Name Reason: must be at most 256 characters long, consisting of letters, "
                "numbers, periods, hyphens and underscores"
            )
        if platform not in PLATFORMS:
            raise invalid("Platform Reason: Platform must be one of " + ", ".join(PLATFORMS))
        _check_app_attrs(attrs)
        if not attrs.get("PlatformCredential"):
            raise invalid("Attributes Reason: PlatformCredential attribute is required")
        arn = (
            f"arn:{partition_of(ctx.region)}:sns:{ctx.region}:{ctx.account_id}:"
            f"app/{platform}/{name}"
        )

        def write(conn: sqlite3.Connection) -> None:
            # Creating an existing application again updates its attributes, same ARN.
            stored = {**(store.get_app(conn, arn) or {"Enabled": "true"}), **attrs}
            store.put_app(conn, arn, ctx.account_id, ctx.region, stored)

        self.env.store.write(write)
        return {"PlatformApplicationArn": arn}

    def get_platform_application_attributes(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        attrs = self.env.store.read(lambda c: self._app(ctx, c, request["PlatformApplicationArn"]))
        return {"Attributes": _visible(attrs)}

    def set_platform_application_attributes(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        given = dict(request.get("Attributes") or {})
        _check_app_attrs(given)
        arn = request["PlatformApplicationArn"]

        def write(conn: sqlite3.Connection) -> None:
            attrs = self._app(ctx, conn, arn)
            store.put_app(conn, arn, ctx.account_id, ctx.region, {**attrs, **given})

        self.env.store.write(write)
        return {}

    def delete_platform_application(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        arn = request["PlatformApplicationArn"]

        def write(conn: sqlite3.Connection) -> None:
            try:
                self._app(ctx, conn, arn)
            except NotFoundException:
                return  # deleting twice succeeds
            store.delete_app(conn, arn)  # and its endpoints

        self.env.store.write(write)
        return {}

    def list_platform_applications(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        after = request.get("NextToken") or ""
        rows = self.env.store.read(
            lambda c: store.list_apps(c, ctx.account_id, ctx.region, after, PAGE + 1)
        )
        out: dict[str, Any] = {
            "PlatformApplications": [
                {"PlatformApplicationArn": arn, "Attributes": _visible(attrs)}
                for arn, attrs in rows[:PAGE]
            ]
        }
        if len(rows) > PAGE:
            out["NextToken"] = rows[PAGE - 1][0]
        return out

    # -- endpoints ----------------------------------------------------------------------------

    def _endpoint(
        self, ctx: RequestContext, conn: sqlite3.Connection, arn: str
    ) -> tuple[str, dict[str, str]]:
        parts = split_arn(arn)
        if parts is None or not parts[2].startswith("endpoint/"):
            raise invalid("EndpointArn Reason: Wrong format")
        found = store.get_endpoint(conn, arn) if parts[1] == ctx.account_id else None
        if found is None:
            raise NotFoundException("Endpoint does not exist")
        return found

    def create_platform_endpoint(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        app_arn, token = request["PlatformApplicationArn"], request.get("Token") or ""
        if not token:
            raise invalid("Token Reason: cannot be empty")
        given = dict(request.get("Attributes") or {})
        _check_endpoint_attrs(given)
        if request.get("CustomUserData") is not None:
            given["CustomUserData"] = request["CustomUserData"]
        _check_endpoint_attrs(given)

        def write(conn: sqlite3.Connection) -> str:
            self._app(ctx, conn, app_arn)
            attrs = {"Enabled": "true", **given, "Token": token}
            existing = store.endpoint_by_token(conn, app_arn, token)
            if existing is not None:
                # The same token again is idempotent only with the same attributes.
                arn, current = existing
                if any(current.get(k) != v for k, v in attrs.items()):
                    raise InvalidParameterException(
                        f"Invalid parameter: Token Reason: Endpoint {arn} already exists with "
                        "the same Token, but different attributes."
                    )
                return arn
            _, _, resource = split_arn(app_arn) or ("", "", "")
            arn = app_arn.replace(f":{resource}", ":endpoint/" + resource.removeprefix("app/"))
            arn = f"{arn}/{uuid.uuid4()}"
            store.put_endpoint(conn, arn, app_arn, attrs)
            return arn

        return {"EndpointArn": self.env.store.write(write)}

    def get_endpoint_attributes(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        _, attrs = self.env.store.read(lambda c: self._endpoint(ctx, c, request["EndpointArn"]))
        return {"Attributes": attrs}

    def set_endpoint_attributes(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        given = dict(request.get("Attributes") or {})
        _check_endpoint_attrs(given)
        arn = request["EndpointArn"]

        def write(conn: sqlite3.Connection) -> None:
            app_arn, attrs = self._endpoint(ctx, conn, arn)
            store.put_endpoint(conn, arn, app_arn, {**attrs, **given})

        self.env.store.write(write)
        return {}

    def delete_endpoint(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["EndpointArn"]

        def write(conn: sqlite3.Connection) -> None:
            try:
                self._endpoint(ctx, conn, arn)
            except NotFoundException:
                return  # deleting twice succeeds, as on AWS
            store.delete_endpoint(conn, arn)

        self.env.store.write(write)
        return {}

    def list_endpoints_by_platform_application(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        app_arn, after = request["PlatformApplicationArn"], request.get("NextToken") or ""

        def read(conn: sqlite3.Connection) -> list[tuple[str, dict[str, str]]]:
            self._app(ctx, conn, app_arn)
            return store.list_endpoints(conn, app_arn, after, PAGE + 1)

        rows = self.env.store.read(read)
        out: dict[str, Any] = {
            "Endpoints": [{"EndpointArn": arn, "Attributes": attrs} for arn, attrs in rows[:PAGE]]
        }
        if len(rows) > PAGE:
            out["NextToken"] = rows[PAGE - 1][0]
        return out

    def _publish_to_endpoint(
        self, ctx: RequestContext, request: dict[str, Any], message_id: str,
        messages: dict[str, str] | None, attrs: dict[str, Any],
    ) -> None:  # fmt: skip
        """Capture a direct push to an endpoint (Publish with an endpoint's TargetArn)."""
        arn = request["TargetArn"]
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> None:
            app_arn, endpoint = self._endpoint(ctx, conn, arn)
            app = store.get_app(conn, app_arn) or {}
            if app.get("Enabled") == "false":
                raise PlatformApplicationDisabledException("Platform application is disabled")
            if endpoint.get("Enabled") == "false":
                raise EndpointDisabledException("Endpoint is disabled")
            platform = _platform_of(arn)
            # MessageStructure=json: the platform's own body, else the default one.
            body = messages.get(platform, messages["default"]) if messages else request["Message"]
            record: dict[str, Any] = {
                "Type": "Notification", "MessageId": message_id, "TargetArn": arn,
                "Platform": platform, "Token": endpoint.get("Token", ""), "Message": body,
            }  # fmt: skip
            if attrs:
                record["MessageAttributes"] = attrs
            store.capture(conn, now, "", "", "application", arn, record)
            if feedback.app_wanted(app, message_id, arn):  # the app's delivery status log
                entry = feedback.push_record(message_id, arn, record["Token"], body, now)
                store.log_status(conn, now, "", feedback.app_log_group(app_arn, True), entry)

        self.env.store.write(write)

    # -- SMS ----------------------------------------------------------------------------------

    def set_sms_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        given = dict(request.get("attributes") or {})
        for name, value in given.items():
            if name not in _SMS_ATTRS:
                raise invalid(f"{name}")
            if name == "DefaultSMSType" and value not in ("Promotional", "Transactional"):
                raise invalid("DefaultSMSType")
            if name in ("MonthlySpendLimit", "DeliveryStatusSuccessSamplingRate") and (
                not value.isdigit() or (name.startswith("Delivery") and int(value) > 100)
            ):
                raise invalid(name)

        def write(conn: sqlite3.Connection) -> None:
            attrs = store.sms_attributes(conn, ctx.account_id, ctx.region)
            store.put_sms_attributes(conn, ctx.account_id, ctx.region, {**attrs, **given})

        self.env.store.write(write)
        return {}

    def get_sms_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        attrs = self.env.store.read(lambda c: store.sms_attributes(c, ctx.account_id, ctx.region))
        names = request.get("attributes")
        if names:
            attrs = {k: v for k, v in attrs.items() if k in names}
        return {"attributes": attrs}

    def _phone(self, request: dict[str, Any]) -> str:
        phone = request.get("phoneNumber") or ""
        if not PHONE.match(phone):
            raise invalid("PhoneNumber Reason: input incorrectly formatted")
        return phone

    def check_if_phone_number_is_opted_out(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        phone = self._phone(request)
        out = self.env.store.read(lambda c: store.opted_out(c, ctx.account_id, ctx.region, phone))
        return {"isOptedOut": out}

    def list_phone_numbers_opted_out(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        after = request.get("nextToken") or ""
        phones = self.env.store.read(
            lambda c: store.list_opted_out(c, ctx.account_id, ctx.region, after, PAGE + 1)
        )
        out: dict[str, Any] = {"phoneNumbers": phones[:PAGE]}
        if len(phones) > PAGE:
            out["nextToken"] = phones[PAGE - 1]
        return out

    def opt_in_phone_number(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        phone = self._phone(request)
        self.env.store.write(
            lambda c: store.set_opted_out(c, ctx.account_id, ctx.region, phone, False)
        )
        return {}

    def _opt_out(self, account: str, region: str, phone: str) -> None:
        """What a recipient's STOP reply does on AWS (no API: for tests and internal use)."""
        self.env.store.write(lambda c: store.set_opted_out(c, account, region, phone, True))


def sms_type(attrs: dict[str, Any], defaults: dict[str, str]) -> str:
    """The SMS type a message is sent as: its AWS.SNS.SMS.SMSType, else the account default."""
    given = attrs.get("AWS.SNS.SMS.SMSType", {}).get("StringValue")
    return given or defaults.get("DefaultSMSType", "Promotional")
