"""What every IAM operation group shares: the store, ids, ARNs, name rules, pagination, tags."""

from __future__ import annotations

import base64
import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from overcast.gateway.context import RequestContext
from overcast.iam import Policy, PolicyError
from overcast.services.base import Provider
from overcast.services.iam import storage
from overcast.services.iam.errors import (
    EntityAlreadyExists,
    InvalidInput,
    LimitExceeded,
    MalformedPolicyDocument,
    NoSuchEntity,
    ValidationError,
    no_such,
)

T = TypeVar("T")
Doc = dict[str, Any]

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
NAME_PATTERN = r"[\w+=,.@-]+"
_NAME = re.compile(NAME_PATTERN)
_PATH = re.compile(r"/|/[\u0021-\u007e]+/")
_POLICY_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}|aws):policy(/.*)?/[\w+=,.@-]+")
DEFAULT_MAX_ITEMS = 100
MAX_TAGS = 50

# AWS's policy size quotas (characters, whitespace excluded).
MANAGED_POLICY_SIZE = 6144
INLINE_POLICY_SIZE = {"user": 2048, "group": 5120, "role": 10240}
TRUST_POLICY_SIZE = 2048


def new_id(prefix: str) -> str:
    """A unique id as IAM makes them: a 4-letter type prefix and 17 base32 characters."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def iam_arn(ctx: RequestContext, kind: str, path: str, name: str) -> str:
    return f"arn:{ctx.partition or 'aws'}:iam::{ctx.account_id}:{kind}{path}{name}"


def _pattern_error(value: Any, member: str, pattern: str) -> ValidationError:
    return ValidationError(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {pattern}"
    )


def check_name(value: str, member: str) -> None:
    """IAM names: letters, digits and ``+=,.@_-`` (the model's pattern, which we enforce)."""
    if not _NAME.fullmatch(value):
        raise _pattern_error(value, member, NAME_PATTERN)


def check_path(path: str, member: str = "path") -> None:
    if not _PATH.fullmatch(path) or "//" in path:
        raise _pattern_error(path, member, r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)")


def check_policy_arn(arn: str) -> None:
    if not _POLICY_ARN.fullmatch(arn):
        raise InvalidInput(f"ARN {arn} is not valid.")


def encode_document(text: str) -> str:
    """Policy documents travel URL-encoded (RFC 3986: all but unreserved characters) in IAM's
    responses; the SDKs decode them."""
    return quote(text, safe="")


def _size(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def parse_identity_policy(text: str, quota_name: str = "", quota: int = 0) -> Policy:
    """Validate a permissions policy; AWS's MalformedPolicyDocument or LimitExceeded."""
    if quota and _size(text) > quota:
        raise LimitExceeded(f"Cannot exceed the quota for {quota_name}: {quota}.")
    try:
        return Policy.parse(text, resource_policy=False)
    except PolicyError as exc:
        raise MalformedPolicyDocument(str(exc)) from None


def parse_trust_policy(text: str) -> Policy:
    """Validate a role trust policy: a resource policy (Principal required) with no Resource."""
    if _size(text) > TRUST_POLICY_SIZE:
        raise LimitExceeded(f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_SIZE}")
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        raw = doc.get("Statement")
        statements = raw if isinstance(raw, list) else [raw]
        for statement in statements:
            if not isinstance(statement, dict):
                continue
            for banned in ("Resource", "NotResource"):
                if banned in statement:
                    raise MalformedPolicyDocument(f"Has prohibited field {banned}")
            # The role itself is the resource: give the engine the Resource it expects.
            statement["Resource"] = "*"
    try:
        return Policy.parse(doc if isinstance(doc, dict) else text, resource_policy=True)
    except PolicyError as exc:
        raise MalformedPolicyDocument(str(exc)) from None


def max_items(request: Doc) -> int:
    return int(request.get("MaxItems") or DEFAULT_MAX_ITEMS)


def page(
    items: Sequence[T], request: Doc, key: Callable[[T], str], list_key: str
) -> dict[str, Any]:
    """One page of ``items`` (sorted by ``key``) after ``Marker``, as IAM's list outputs are."""
    limit = max_items(request)
    marker = request.get("Marker")
    start = 0
    if marker:
        try:
            after = base64.b64decode(marker.encode(), altchars=b"-_", validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput("Invalid Marker.") from None
        keys = [key(item) for item in items]
        # The item the marker names; if it is gone, the first one sorting after it.
        start = next((i + 1 for i, k in enumerate(keys) if k == after), -1)
        if start < 0:
            start = next((i for i, k in enumerate(keys) if k > after), len(items))
    chosen = list(items[start : start + limit])
    out: dict[str, Any] = {list_key: chosen, "IsTruncated": start + limit < len(items)}
    if out["IsTruncated"]:
        out["Marker"] = base64.urlsafe_b64encode(key(chosen[-1]).encode()).decode()
    return out


# --- tags ----------------------------------------------------------------------------------


_TAG_KEY = re.compile(r"[\w\s.:/=+\-@]+")  # \p{L}\p{Z}\p{N}_.:/=+\-@ in Python's terms
_TAG_VALUE = re.compile(r"[\w\s.:/=+\-@]*")


def merge_tags(existing: list[Doc], new: list[Doc]) -> list[Doc]:
    """``existing`` with ``new`` added or replacing values of the same key (at most 50)."""
    for i, tag in enumerate(new, start=1):
        if not _TAG_KEY.fullmatch(tag["Key"]):
            raise _pattern_error(tag["Key"], f"tags.{i}.member.key", r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+")
        if not _TAG_VALUE.fullmatch(tag.get("Value", "")):
            raise _pattern_error(
                tag["Value"], f"tags.{i}.member.value", r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"
            )
    keys = [t["Key"] for t in new]
    if len(set(keys)) != len(keys):
        raise InvalidInput(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive."
        )
    merged = {t["Key"]: t["Value"] for t in existing}
    for tag in new:
        for key in [k for k in merged if k.lower() == tag["Key"].lower()]:
            del merged[key]
        merged[tag["Key"]] = tag.get("Value", "")
    if len(merged) > MAX_TAGS:
        raise LimitExceeded(f"The number of tags has reached the maximum limit of {MAX_TAGS}.")
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def remove_tags(existing: list[Doc], keys: list[str]) -> list[Doc]:
    gone = {k.lower() for k in keys}
    return [t for t in existing if t["Key"].lower() not in gone]


def tags_page(doc: Doc, request: Doc) -> dict[str, Any]:
    tags = list(doc.get("Tags") or [])
    return page(tags, request, lambda t: f"{tags.index(t):08d}", "Tags")


class IamBase(Provider):
    """Storage access shared by every IAM operation group."""

    service = "iam"

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return storage.write(self.env.store, fn)

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return storage.read(self.env.store, fn)

    def _now(self) -> float:
        return self.env.clock.now()


def require(
    conn: sqlite3.Connection, ctx: RequestContext, kind: str, name: str, label: str,
    missing: str | None = None,
) -> Doc:  # fmt: skip
    """The resource, or AWS's NoSuchEntity ("The user with name x cannot be found.", or the
    ``missing`` message where AWS words it otherwise)."""
    doc = storage.get(conn, ctx.account_id, kind, name)
    if doc is None:
        raise NoSuchEntity(missing) if missing else no_such(label, name)
    return doc


def check_new_name_and_path(request: Doc, name_member: str, wire_name: str) -> None:
    """The model's patterns for Update*'s NewXxxName and NewPath."""
    if request.get(name_member):
        check_name(request[name_member], wire_name)
    if request.get("NewPath"):
        check_path(request["NewPath"], "newPath")


def move(
    conn: sqlite3.Connection, ctx: RequestContext, kind: str, doc: Doc, old: str,
    new_name: str | None, new_path: str | None, taken: str,
) -> str:  # fmt: skip
    """Rename and/or move a user, group or server certificate: its name member, path and ARN.

    ``taken`` is AWS's EntityAlreadyExists message when another resource has the new name.
    Returns the resource's name after the move.
    """
    name_member = {storage.USER: "UserName", storage.GROUP: "GroupName"}.get(
        kind, "ServerCertificateName"
    )
    target = new_name or doc[name_member]
    if target.lower() != old.lower() and storage.get(conn, ctx.account_id, kind, target):
        raise EntityAlreadyExists(taken)
    doc[name_member] = target
    doc["Path"] = new_path or doc["Path"]
    doc["Arn"] = iam_arn(ctx, kind, doc["Path"], target)
    storage.delete(conn, ctx.account_id, kind, old)
    storage.put(conn, ctx.account_id, kind, target, doc)
    return target


def public(doc: Doc, *hidden: str) -> Doc:
    """The document without its internal members (inline policies, seeds...)."""
    drop = {"InlinePolicies", "Seed", *hidden}
    return {k: v for k, v in doc.items() if k not in drop}
