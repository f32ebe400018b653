"""S3 access control lists: canned ACLs, grant headers and XML bodies, and what grants permit.

The stored form (``Bucket.config["acl"]``, ``ObjectVersion.meta["acl"]``) is
``{"owner": account_id, "grants": [{"Grantee": {...}, "Permission": "READ"}]}`` with grantees in
the model's member names (``Type``, ``ID``, ``DisplayName``, ``URI``, ``EmailAddress``). An absent
ACL is the default one: the owner has FULL_CONTROL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from overcast.services.s3.common import canonical_user_id
from overcast.services.s3.errors import (
    InvalidArgument,
    InvalidRequest,
    MalformedACLError,
    UnresolvableGrantByEmailAddress,
)

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = (ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY)
PUBLIC_GROUPS = (ALL_USERS, AUTHENTICATED_USERS)
PERMISSIONS = ("FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP")
# The canonical user EC2 reads AMI bundles as (the aws-exec-read canned ACL).
EC2_BUNDLE_READER = {
    "Type": "CanonicalUser",
    "ID": "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c",
    "DisplayName": "za-team",
}
CANNED = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
)
GRANT_MEMBERS = {
    "GrantFullControl": ("FULL_CONTROL", "x-amz-grant-full-control"),
    "GrantRead": ("READ", "x-amz-grant-read"),
    "GrantReadACP": ("READ_ACP", "x-amz-grant-read-acp"),
    "GrantWrite": ("WRITE", "x-amz-grant-write"),
    "GrantWriteACP": ("WRITE_ACP", "x-amz-grant-write-acp"),
}

# What each permission allows, after AWS's "Mapping of ACL permissions and access policy
# permissions". Bucket WRITE covers object writes; object READ covers reads of that object.
BUCKET_ACTIONS = {
    "READ": frozenset({"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"}),
    "WRITE": frozenset(
        {
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts",
        }
    ),
    "READ_ACP": frozenset({"s3:GetBucketAcl"}),
    "WRITE_ACP": frozenset({"s3:PutBucketAcl"}),
}
OBJECT_ACTIONS = {
    "READ": frozenset({"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTorrent"}),
    "READ_ACP": frozenset({"s3:GetObjectAcl", "s3:GetObjectVersionAcl"}),
    "WRITE_ACP": frozenset({"s3:PutObjectAcl", "s3:PutObjectVersionAcl"}),
}
OBJECT_ACL_ACTIONS = frozenset().union(*OBJECT_ACTIONS.values())


def display_name(account_id: str) -> str:
    return f"account-{account_id}"


def owner_grantee(account_id: str) -> dict[str, str]:
    return {
        "Type": "CanonicalUser",
        "ID": canonical_user_id(account_id),
        "DisplayName": display_name(account_id),
    }


def _grant(grantee: Mapping[str, str], permission: str) -> dict[str, Any]:
    return {"Grantee": dict(grantee), "Permission": permission}


def default_acl(owner: str) -> dict[str, Any]:
    return {"owner": owner, "grants": [_grant(owner_grantee(owner), "FULL_CONTROL")]}


def canned_acl(name: str, owner: str, bucket_owner: str | None = None) -> dict[str, Any]:
    """The grants a canned ACL stands for; ``bucket_owner`` set for objects only."""
    if name not in CANNED:
        raise InvalidArgument(None, ArgumentName="x-amz-acl", ArgumentValue=name)
    grants = [_grant(owner_grantee(owner), "FULL_CONTROL")]
    group = {"Type": "Group"}
    if name == "public-read":
        grants.append(_grant({**group, "URI": ALL_USERS}, "READ"))
    elif name == "public-read-write":
        grants.append(_grant({**group, "URI": ALL_USERS}, "READ"))
        grants.append(_grant({**group, "URI": ALL_USERS}, "WRITE"))
    elif name == "authenticated-read":
        grants.append(_grant({**group, "URI": AUTHENTICATED_USERS}, "READ"))
    elif name == "aws-exec-read":
        grants.append(_grant(EC2_BUNDLE_READER, "READ"))
    elif name == "log-delivery-write":
        grants.append(_grant({**group, "URI": LOG_DELIVERY}, "WRITE"))
        grants.append(_grant({**group, "URI": LOG_DELIVERY}, "READ_ACP"))
    elif bucket_owner not in (None, owner):
        # bucket-owner-read/-full-control: on a bucket they behave as private; on an object
        # written by another account they add the bucket owner.
        permission = {"bucket-owner-read": "READ", "bucket-owner-full-control": "FULL_CONTROL"}
        if name in permission:
            grants.append(_grant(owner_grantee(str(bucket_owner)), permission[name]))
    return {"owner": owner, "grants": grants}


_HEADER_ITEM = re.compile(r'\s*([A-Za-z]+)\s*=\s*("([^"]*)"|[^,\s]*)\s*(,|$)')


def _grantee(kind: str, value: str, known: Iterable[str], header: str) -> dict[str, str]:
    """A grantee from a header item (``id=``, ``uri=``, ``emailAddress=``)."""
    kind = kind.lower()
    if kind == "id":
        return _canonical(value, known)
    if kind == "uri":
        if value not in GROUPS:
            raise InvalidArgument("Invalid group uri", ArgumentName="uri", ArgumentValue=value)
        return {"Type": "Group", "URI": value}
    if kind == "emailaddress":
        # No account here has an e-mail address on record, so none resolves (as S3 answers
        # for an address it does not know).
        raise UnresolvableGrantByEmailAddress()
    raise InvalidArgument(None, ArgumentName=header, ArgumentValue=f"{kind}={value}")


def _canonical(value: str, known: Iterable[str]) -> dict[str, str]:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", value or ""):
        raise InvalidArgument("Invalid id", ArgumentName="CanonicalUser/ID", ArgumentValue=value)
    grantee = {"Type": "CanonicalUser", "ID": value.lower()}
    for account in known:
        if canonical_user_id(account) == grantee["ID"]:
            grantee["DisplayName"] = display_name(account)
            break
    return grantee


def parse_grant_header(header: str, value: str, known: Iterable[str]) -> list[dict[str, str]]:
    """``id="..", uri="..", emailAddress=".."``: the grantees of one x-amz-grant-* header."""
    grantees = []
    pos = 0
    text = value.strip()
    while pos < len(text):
        match = _HEADER_ITEM.match(text, pos)
        if match is None or match.end() == pos:
            raise InvalidArgument(None, ArgumentName=header, ArgumentValue=value)
        raw = match.group(3) if match.group(3) is not None else match.group(2)
        grantees.append(_grantee(match.group(1), raw, known, header))
        pos = match.end()
    if not grantees:
        raise InvalidArgument(None, ArgumentName=header, ArgumentValue=value)
    return grantees


def from_headers(request: Mapping[str, Any], owner: str, known: Iterable[str]) -> dict[str, Any]:
    grants = []
    known = list(known)
    for member, (permission, header) in GRANT_MEMBERS.items():
        value = request.get(member)
        if value:
            grants += [_grant(g, permission) for g in parse_grant_header(header, value, known)]
    return {"owner": owner, "grants": grants}


def from_body(
    policy: Mapping[str, Any], owner: str, known: Iterable[str]
) -> tuple[dict[str, Any], str | None]:
    """The ACL of an AccessControlPolicy body, and the owner ID it names."""
    known = list(known)
    owner_id = (policy.get("Owner") or {}).get("ID")
    if not policy.get("Owner") or not owner_id:
        raise MalformedACLError()
    grants = []
    for grant in policy.get("Grants") or []:
        grantee = grant.get("Grantee") or {}
        permission = grant.get("Permission")
        if permission not in PERMISSIONS:
            raise MalformedACLError()
        kind = grantee.get("Type")
        if kind == "CanonicalUser":
            parsed = _canonical(grantee.get("ID", ""), known)
        elif kind == "Group":
            uri = grantee.get("URI", "")
            if uri not in GROUPS:
                raise InvalidArgument("Invalid group uri", ArgumentName="uri", ArgumentValue=uri)
            parsed = {"Type": "Group", "URI": uri}
        elif kind == "AmazonCustomerByEmail":
            if not grantee.get("EmailAddress"):
                raise MalformedACLError()
            raise UnresolvableGrantByEmailAddress()  # no account has an e-mail on record
        else:
            raise MalformedACLError()
        grants.append(_grant(parsed, permission))
    return {"owner": owner, "grants": grants}, owner_id


def from_request(
    request: Mapping[str, Any],
    owner: str,
    *,
    bucket_owner: str | None,
    known: Iterable[str],
    body: bool = False,
) -> dict[str, Any] | None:
    """The ACL a request asks for with ``ACL``, ``Grant*`` (or an ``AccessControlPolicy`` body
    when ``body``); None when it asks for none."""
    canned = request.get("ACL")
    has_grants = any(request.get(m) for m in GRANT_MEMBERS)
    if canned and has_grants:
        raise InvalidRequest("Specifying both Canned ACLs and Header Grants is not allowed")
    if canned:
        return canned_acl(canned, owner, bucket_owner)
    if has_grants:
        return from_headers(request, owner, known)
    if body and request.get("AccessControlPolicy"):
        acl, _ = from_body(request["AccessControlPolicy"], owner, known)
        return acl
    return None


def to_output(acl: Mapping[str, Any] | None, owner: str) -> dict[str, Any]:
    """GetBucketAcl/GetObjectAcl's ``Owner`` and ``Grants``.

    ``owner`` is the resource's owner, which the ACL's may not be: an object written with
    bucket-owner-full-control into a BucketOwnerPreferred bucket is the bucket owner's."""
    acl = acl or default_acl(owner)
    return {
        "Owner": {"DisplayName": display_name(owner), "ID": canonical_user_id(owner)},
        "Grants": [_grant(g["Grantee"], g["Permission"]) for g in acl.get("grants", [])],
    }


def is_public(acl: Mapping[str, Any] | None) -> bool:
    """Whether any grant goes to AllUsers or AuthenticatedUsers (AWS's "public" ACL)."""
    if not acl:
        return False
    return any(g["Grantee"].get("URI") in PUBLIC_GROUPS for g in acl.get("grants", []))


def owner_full_control_only(acl: Mapping[str, Any] | None, bucket_owner: str) -> bool:
    """True for ACLs that grant nothing beyond FULL_CONTROL to the bucket owner: the only ones a
    bucket with ACLs disabled (BucketOwnerEnforced) accepts."""
    if not acl:
        return True
    owner_id = canonical_user_id(bucket_owner)
    return all(
        g["Grantee"].get("ID") == owner_id and g["Permission"] == "FULL_CONTROL"
        for g in acl.get("grants", [])
    )


def permits(
    acl: Mapping[str, Any] | None,
    action: str,
    *,
    account: str | None,
    on_object: bool,
    ignore_public: bool = False,
) -> bool:
    """Whether the ACL lets the caller (``account`` None: anonymous) do ``action``."""
    if not acl:
        return False
    table = OBJECT_ACTIONS if on_object else BUCKET_ACTIONS
    caller_id = canonical_user_id(account) if account is not None else None
    for grant in acl.get("grants", []):
        permission = grant["Permission"]
        if permission != "FULL_CONTROL" and action not in table.get(permission, ()):
            continue
        if permission == "FULL_CONTROL" and not any(action in a for a in table.values()):
            continue
        grantee = grant["Grantee"]
        uri = grantee.get("URI")
        if uri in PUBLIC_GROUPS and ignore_public:
            continue
        if uri == ALL_USERS:
            return True
        if uri == AUTHENTICATED_USERS and account is not None:
            return True
        if caller_id is not None and grantee.get("ID") == caller_id:
            return True
    return False
