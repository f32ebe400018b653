"""The walks behind S3's listings: keys (or versions) in order, rolled up into common prefixes.

A common prefix is found on the first key under it; the walk then seeks past every key that
shares it with a new range query, so a prefix holding a million keys costs one index seek, not a
million rows. A common prefix at or before the start position was returned by an earlier page
and is skipped, which is what makes NextMarker/continuation tokens that name a prefix work.

Rows are read straight from ``s3_objects`` with only the columns a listing shows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from overcast.services.s3.keyrange import prefix_end

# key, etag, size, last_modified, storage_class, meta (JSON)
Row = tuple[Any, ...]
# key, version_id, is_latest, delete_marker, etag, size, last_modified, storage_class, meta
VersionRow = tuple[Any, ...]


@dataclass
class Page:
    rows: list[Any] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    last_key: str | None = None  # the last key or common prefix of the page
    last_version: str | None = None  # ListObjectVersions: the version id of the last row


def _common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return None if at < 0 else key[: at + len(delimiter)]


_LATEST_SQL = (
    "SELECT key, etag, size, last_modified, storage_class, meta FROM s3_objects "
    "WHERE bucket = ? AND is_latest = 1 AND delete_marker = 0 AND key {op} ?{end} "
    "ORDER BY key LIMIT ?"
)


def walk_latest(
    conn: sqlite3.Connection,
    bucket: str,
    *,
    prefix: str,
    delimiter: str,
    after: str,
    limit: int,
) -> Page:
    """Current objects with keys > ``after`` under ``prefix``: up to ``limit`` keys and common
    prefixes together, and whether more follow."""
    page = Page()
    if limit <= 0:
        return page
    end = prefix_end(prefix) if prefix else None
    lower, strict = (after, True) if after >= prefix else (prefix, False)
    while True:
        sql = _LATEST_SQL.format(op=">" if strict else ">=", end=" AND key < ?" if end else "")
        args: list[Any] = [bucket, lower]
        if end:
            args.append(end)
        want = limit - len(page.rows) - len(page.prefixes) + 1
        args.append(want)
        seen = 0
        seek: str | None = None
        exhausted = False
        for row in conn.execute(sql, args):
            seen += 1
            key = row[0]
            common = _common_prefix(key, prefix, delimiter)
            if common is not None:
                if common > after:
                    if len(page.rows) + len(page.prefixes) >= limit:
                        page.truncated = True
                        return page
                    page.prefixes.append(common)
                    page.last_key = common
                nxt = prefix_end(common)
                if nxt is None:
                    exhausted = True
                else:
                    seek = nxt
                break
            if len(page.rows) + len(page.prefixes) >= limit:
                page.truncated = True
                return page
            page.rows.append(row)
            page.last_key = key
        if exhausted:
            return page
        if seek is not None:
            lower, strict = seek, False
            continue
        if seen < want:
            return page
        lower, strict = page.rows[-1][0], True


_VERSIONS_SQL = (
    "SELECT key, version_id, is_latest, delete_marker, etag, size, last_modified, "
    "storage_class, meta FROM s3_objects WHERE bucket = ? AND key {op} ?{end} "
    "ORDER BY key, seq DESC LIMIT ?"
)
_MARKER_KEY_SQL = (
    "SELECT key, version_id, is_latest, delete_marker, etag, size, last_modified, "
    "storage_class, meta FROM s3_objects WHERE bucket = ? AND key = ? AND seq < ? "
    "ORDER BY seq DESC"
)


def version_seq(conn: sqlite3.Connection, bucket: str, key: str, version_id: str) -> int | None:
    row = conn.execute(
        "SELECT seq FROM s3_objects WHERE bucket = ? AND key = ? AND version_id = ?",
        (bucket, key, version_id),
    ).fetchone()
    return None if row is None else int(row[0])


def walk_versions(
    conn: sqlite3.Connection,
    bucket: str,
    *,
    prefix: str,
    delimiter: str,
    key_marker: str,
    marker_seq: int | None,
    limit: int,
) -> Page:
    """Versions and delete markers by key, newest first, after (``key_marker``, the version
    with ``marker_seq``) — or after every version of ``key_marker`` when ``marker_seq`` is None.
    """
    page = Page()
    if limit <= 0:
        return page

    def take(row: VersionRow) -> bool:
        """Add a row (or its common prefix); False once the page is full and more follow."""
        if len(page.rows) + len(page.prefixes) >= limit:
            page.truncated = True
            return False
        page.rows.append(row)
        page.last_key, page.last_version = row[0], row[1]
        return True

    # The rest of the marker key's versions come first.
    marker_listed = key_marker.startswith(prefix)
    if marker_listed and _common_prefix(key_marker, prefix, delimiter) is not None:
        marker_listed = False  # rolled up into a common prefix that an earlier page returned
    if marker_seq is not None and marker_listed:
        for row in conn.execute(_MARKER_KEY_SQL, (bucket, key_marker, marker_seq)):
            if not take(row):
                return page

    end = prefix_end(prefix) if prefix else None
    lower, strict = (key_marker, True) if key_marker >= prefix else (prefix, False)
    while True:
        sql = _VERSIONS_SQL.format(op=">" if strict else ">=", end=" AND key < ?" if end else "")
        args: list[Any] = [bucket, lower]
        if end:
            args.append(end)
        want = limit - len(page.rows) - len(page.prefixes) + 1
        args.append(want)
        seen = 0
        seek: str | None = None
        exhausted = False
        last_row_key: str | None = None
        for row in conn.execute(sql, args):
            seen += 1
            key = row[0]
            common = _common_prefix(key, prefix, delimiter)
            if common is not None:
                if common > key_marker:
                    if len(page.rows) + len(page.prefixes) >= limit:
                        page.truncated = True
                        return page
                    page.prefixes.append(common)
                    page.last_key, page.last_version = common, None
                nxt = prefix_end(common)
                if nxt is None:
                    exhausted = True
                else:
                    seek = nxt
                break
            if not take(row):
                return page
            last_row_key = key
        if exhausted:
            return page
        if seek is not None:
            lower, strict = seek, False
            continue
        if seen < want or last_row_key is None:
            return page
        # A batch may end in the middle of a key's versions: re-read that key's remaining
        # versions through the marker query, then carry on after it.
        last_seq = version_seq(conn, bucket, last_row_key, page.last_version or "")
        if last_seq is not None:
            for row in conn.execute(_MARKER_KEY_SQL, (bucket, last_row_key, last_seq)):
                if not take(row):
                    return page
        lower, strict = last_row_key, True
