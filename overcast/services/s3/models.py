"""S3's domain records: plain dataclasses, no I/O (``store.py`` reads and writes them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NULL_VERSION = "null"


@dataclass
class Bucket:
    name: str
    account_id: str
    region: str
    created: float
    versioning: str = ""  # "" (never enabled), "Enabled" or "Suspended"
    object_lock: bool = False
    # Sub-resource configurations by name ("acl", "policy", "cors", "website", "tagging",
    # "ownership", "public_access_block", "encryption", "lifecycle", "mfa_delete", ...).
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def versioned(self) -> bool:
        return self.versioning != ""


@dataclass
class ObjectVersion:
    """One version of a key, or a delete marker.

    ``segments`` is the body as an ordered list of ``(blob_id, size)``: one blob for a plain PUT,
    one per part after CompleteMultipartUpload, whose parts become the object's segments without
    their bytes being copied.

    ``meta`` holds everything else, under these keys (all optional):
    ``content_type``, ``content_encoding``, ``content_disposition``, ``content_language``,
    ``cache_control``, ``expires`` (HTTP date text), ``user`` (x-amz-meta-* without the prefix),
    ``checksums`` ({"CRC32": b64, ...}), ``checksum_type`` ("FULL_OBJECT" | "COMPOSITE"),
    ``parts`` ([{"size": n, "etag": ..., "checksums": {...}}] of a multipart object),
    ``owner`` (account id), ``acl`` (grants), ``tags`` ({key: value}),
    ``website_redirect``, ``sse`` ({...}), ``missing_meta`` (int).
    """

    bucket: str
    key: str
    version_id: str
    last_modified: float
    is_latest: bool = True
    delete_marker: bool = False
    size: int = 0
    etag: str = ""  # with its quotes, as S3 sends it: '"d41d8cd98f00b204e9800998ecf8427e"'
    storage_class: str = "STANDARD"
    segments: list[tuple[str, int]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    seq: int = 0  # order of versions of one key, newest highest

    @property
    def blob_ids(self) -> list[str]:
        return [blob_id for blob_id, _ in self.segments]


@dataclass
class Upload:
    """A multipart upload in progress; ``meta`` is the future object's meta plus
    ``storage_class``, ``checksum_algorithm``, ``checksum_type`` and ``initiator``."""

    upload_id: str
    bucket: str
    key: str
    initiated: float
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Part:
    upload_id: str
    part_number: int
    blob_id: str
    size: int
    etag: str
    last_modified: float
    checksums: dict[str, str] = field(default_factory=dict)
