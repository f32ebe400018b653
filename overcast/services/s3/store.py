"""S3's tables and every SQL statement S3 runs; the only S3 module that touches the database.

Functions take the connection of an enclosing ``Store.write``/``Store.read`` so a request's reads
and writes form one transaction. Blobs that a change orphans are ``unlink``ed in the same
transaction and deleted from disk only after it commits (see ``overcast/state/blobs.py``).

Versioning lives here (``put_version``, ``delete_key``, ``delete_version``) because it is the
same for PutObject, CopyObject and CompleteMultipartUpload.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator
from typing import Any

from overcast.services.s3.models import NULL_VERSION, Bucket, ObjectVersion, Part, Upload
from overcast.state import Store
from overcast.state.blobs import Blob

NAMESPACE = "s3"

MIGRATIONS = [
    """
    CREATE TABLE s3_buckets (
        name TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        created REAL NOT NULL,
        versioning TEXT NOT NULL DEFAULT '',
        object_lock INTEGER NOT NULL DEFAULT 0,
        config TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX s3_buckets_by_owner ON s3_buckets (account_id, name);
    CREATE TABLE s3_objects (
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        version_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        is_latest INTEGER NOT NULL,
        delete_marker INTEGER NOT NULL DEFAULT 0,
        size INTEGER NOT NULL DEFAULT 0,
        etag TEXT NOT NULL DEFAULT '',
        last_modified REAL NOT NULL,
        storage_class TEXT NOT NULL DEFAULT 'STANDARD',
        segments TEXT NOT NULL DEFAULT '[]',
        meta TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (bucket, key, version_id)
    );
    CREATE INDEX s3_objects_latest ON s3_objects (bucket, is_latest, key);
    CREATE INDEX s3_objects_history ON s3_objects (bucket, key, seq);
    CREATE TABLE s3_uploads (
        upload_id TEXT PRIMARY KEY,
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        initiated REAL NOT NULL,
        meta TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX s3_uploads_by_key ON s3_uploads (bucket, key, initiated);
    CREATE TABLE s3_parts (
        upload_id TEXT NOT NULL,
        part_number INTEGER NOT NULL,
        blob_id TEXT NOT NULL,
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        last_modified REAL NOT NULL,
        checksums TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (upload_id, part_number)
    );
    """,
]


def migrate(store: Store) -> None:
    store.migrate(NAMESPACE, MIGRATIONS)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def new_version_id() -> str:
    """A 32-character URL-safe id, the shape of S3's version ids."""
    return secrets.token_urlsafe(24)


# --- buckets ---------------------------------------------------------------------------------

_BUCKET_COLS = "name, account_id, region, created, versioning, object_lock, config"


def _bucket(row: tuple[Any, ...]) -> Bucket:
    return Bucket(
        name=row[0],
        account_id=row[1],
        region=row[2],
        created=row[3],
        versioning=row[4],
        object_lock=bool(row[5]),
        config=json.loads(row[6]),
    )


def get_bucket(conn: sqlite3.Connection, name: str) -> Bucket | None:
    row = conn.execute(f"SELECT {_BUCKET_COLS} FROM s3_buckets WHERE name = ?", (name,)).fetchone()
    return _bucket(row) if row else None


def insert_bucket(conn: sqlite3.Connection, bucket: Bucket) -> None:
    conn.execute(
        f"INSERT INTO s3_buckets ({_BUCKET_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            bucket.name,
            bucket.account_id,
            bucket.region,
            bucket.created,
            bucket.versioning,
            int(bucket.object_lock),
            _dumps(bucket.config),
        ),
    )


def update_bucket(conn: sqlite3.Connection, bucket: Bucket) -> None:
    conn.execute(
        "UPDATE s3_buckets SET versioning = ?, object_lock = ?, config = ? WHERE name = ?",
        (bucket.versioning, int(bucket.object_lock), _dumps(bucket.config), bucket.name),
    )


def delete_bucket(conn: sqlite3.Connection, store: Store, name: str) -> None:
    """Remove a bucket with no object left; its in-progress multipart uploads go with it (S3
    deletes such a bucket rather than answering BucketNotEmpty), their parts' blobs freed."""
    for (upload_id,) in conn.execute(
        "SELECT upload_id FROM s3_uploads WHERE bucket = ?", (name,)
    ).fetchall():
        delete_upload(conn, store, upload_id, keep=set())
    conn.execute("DELETE FROM s3_buckets WHERE name = ?", (name,))


def list_buckets(
    conn: sqlite3.Connection, account_id: str, *, prefix: str = "", after: str = "", limit: int
) -> list[Bucket]:
    rows = conn.execute(
        f"SELECT {_BUCKET_COLS} FROM s3_buckets WHERE account_id = ? AND name > ? "
        "AND name >= ? ORDER BY name LIMIT ?",
        (account_id, after, prefix, limit),
    ).fetchall()
    return [_bucket(r) for r in rows if r[0].startswith(prefix)]


def bucket_has_content(conn: sqlite3.Connection, name: str) -> bool:
    """Any object version or delete marker: S3 refuses to delete the bucket then. In-progress
    multipart uploads do not count (ceph/ceph#15630 tried it on AWS; scality/cloudserver#1591)."""
    row = conn.execute("SELECT 1 FROM s3_objects WHERE bucket = ? LIMIT 1", (name,)).fetchone()
    return row is not None


# --- objects ---------------------------------------------------------------------------------

_OBJECT_COLS = (
    "bucket, key, version_id, seq, is_latest, delete_marker, size, etag, last_modified, "
    "storage_class, segments, meta"
)


def _object(row: tuple[Any, ...]) -> ObjectVersion:
    return ObjectVersion(
        bucket=row[0],
        key=row[1],
        version_id=row[2],
        seq=row[3],
        is_latest=bool(row[4]),
        delete_marker=bool(row[5]),
        size=row[6],
        etag=row[7],
        last_modified=row[8],
        storage_class=row[9],
        segments=[(b, s) for b, s in json.loads(row[10])],
        meta=json.loads(row[11]),
    )


def get_latest(conn: sqlite3.Connection, bucket: str, key: str) -> ObjectVersion | None:
    """The current version of ``key`` (possibly a delete marker), or None."""
    row = conn.execute(
        f"SELECT {_OBJECT_COLS} FROM s3_objects WHERE bucket = ? AND is_latest = 1 AND key = ?",
        (bucket, key),
    ).fetchone()
    return _object(row) if row else None


def get_version(
    conn: sqlite3.Connection, bucket: str, key: str, version_id: str
) -> ObjectVersion | None:
    row = conn.execute(
        f"SELECT {_OBJECT_COLS} FROM s3_objects WHERE bucket = ? AND key = ? AND version_id = ?",
        (bucket, key, version_id),
    ).fetchone()
    return _object(row) if row else None


def _insert_object(conn: sqlite3.Connection, obj: ObjectVersion) -> None:
    conn.execute(
        f"INSERT INTO s3_objects ({_OBJECT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            obj.bucket,
            obj.key,
            obj.version_id,
            obj.seq,
            int(obj.is_latest),
            int(obj.delete_marker),
            obj.size,
            obj.etag,
            obj.last_modified,
            obj.storage_class,
            _dumps(obj.segments),
            _dumps(obj.meta),
        ),
    )


def update_object_meta(conn: sqlite3.Connection, obj: ObjectVersion) -> None:
    """Rewrite a version's metadata in place (tags, ACL, retention): no new version."""
    conn.execute(
        "UPDATE s3_objects SET meta = ?, storage_class = ? "
        "WHERE bucket = ? AND key = ? AND version_id = ?",
        (_dumps(obj.meta), obj.storage_class, obj.bucket, obj.key, obj.version_id),
    )


def _next_seq(conn: sqlite3.Connection, bucket: str, key: str) -> int:
    row = conn.execute(
        "SELECT MAX(seq) FROM s3_objects WHERE bucket = ? AND key = ?", (bucket, key)
    ).fetchone()
    return int(row[0] or 0) + 1


def _remove_version(conn: sqlite3.Connection, store: Store, obj: ObjectVersion) -> None:
    conn.execute(
        "DELETE FROM s3_objects WHERE bucket = ? AND key = ? AND version_id = ?",
        (obj.bucket, obj.key, obj.version_id),
    )
    for blob_id in obj.blob_ids:
        store.blobs.unlink(conn, blob_id)


def put_version(
    conn: sqlite3.Connection,
    store: Store,
    bucket: Bucket,
    obj: ObjectVersion,
    *,
    link_blobs: bool = True,
) -> ObjectVersion:
    """Make ``obj`` the current version of its key, as the bucket's versioning state says.

    Unversioned or suspended buckets replace the ``null`` version (its blobs are freed);
    versioned buckets keep every older version. The blobs of ``obj.segments`` must already be
    written; they are linked here, in the caller's transaction, unless ``link_blobs`` is False
    (CompleteMultipartUpload: the parts' blobs are linked already and simply change hands).
    Returns ``obj`` with its version id and sequence filled in.
    """
    obj.version_id = new_version_id() if bucket.versioning == "Enabled" else NULL_VERSION
    if link_blobs:
        # Link before the replaced version unlinks: a copy onto itself shares its blobs, which
        # must not drop to zero references (and be deleted) in between.
        for blob_id, size in obj.segments:
            store.blobs.link(conn, Blob(blob_id, size))
    if bucket.versioned:
        _supersede(conn, store, obj.bucket, obj.key, obj.version_id)
        obj.seq = _next_seq(conn, obj.bucket, obj.key)
    else:
        # Never versioned: the key's only row is its null version, nothing else to demote.
        obj.seq = (_drop_null_version(conn, store, obj.bucket, obj.key) or 0) + 1
    obj.is_latest = True
    _insert_object(conn, obj)
    return obj


def _drop_null_version(conn: sqlite3.Connection, store: Store, bucket: str, key: str) -> int | None:
    """Delete the key's ``null`` version and free its blobs; its ``seq``, None if it had none."""
    # Only the replaced version's blobs matter here: no need to decode the whole row.
    row = conn.execute(
        "DELETE FROM s3_objects WHERE bucket = ? AND key = ? AND version_id = ?"
        " RETURNING segments, seq",
        (bucket, key, NULL_VERSION),
    ).fetchone()
    if row is None:
        return None
    for blob_id, _ in json.loads(row[0]):
        store.blobs.unlink(conn, blob_id)
    return int(row[1])


def _supersede(
    conn: sqlite3.Connection, store: Store, bucket: str, key: str, new_version_id: str
) -> None:
    """Make room for a new current version: drop a replaced ``null`` version, demote the rest."""
    if new_version_id == NULL_VERSION:
        _drop_null_version(conn, store, bucket, key)
    conn.execute(
        "UPDATE s3_objects SET is_latest = 0 WHERE bucket = ? AND key = ? AND is_latest = 1",
        (bucket, key),
    )


def insert_version(conn: sqlite3.Connection, store: Store, obj: ObjectVersion) -> ObjectVersion:
    """Make ``obj`` the current version of its key under the version id it already carries
    (a replica keeps its source's id); its blobs, already written, are linked here."""
    for blob_id, size in obj.segments:
        store.blobs.link(conn, Blob(blob_id, size))
    _supersede(conn, store, obj.bucket, obj.key, obj.version_id)
    obj.seq = _next_seq(conn, obj.bucket, obj.key)
    obj.is_latest = True
    _insert_object(conn, obj)
    return obj


def delete_key(
    conn: sqlite3.Connection, store: Store, bucket: Bucket, key: str, now: float, owner: str
) -> ObjectVersion | None:
    """DeleteObject without a version id. Returns the delete marker created, if any.

    Unversioned: the object goes. Enabled: a delete marker with a new version id becomes
    current. Suspended: the ``null`` version goes and a ``null`` delete marker becomes current.
    """
    if not bucket.versioned:
        old = get_version(conn, bucket.name, key, NULL_VERSION)
        if old is not None:
            _remove_version(conn, store, old)
        return None
    marker = ObjectVersion(
        bucket=bucket.name,
        key=key,
        version_id=new_version_id() if bucket.versioning == "Enabled" else NULL_VERSION,
        last_modified=now,
        delete_marker=True,
        meta={"owner": owner},
    )
    _supersede(conn, store, bucket.name, key, marker.version_id)
    marker.seq = _next_seq(conn, bucket.name, key)
    _insert_object(conn, marker)
    return marker


def delete_version(conn: sqlite3.Connection, store: Store, obj: ObjectVersion) -> None:
    """Delete one specific version; if it was current, the next newest becomes current."""
    _remove_version(conn, store, obj)
    if obj.is_latest:
        conn.execute(
            "UPDATE s3_objects SET is_latest = 1 WHERE bucket = ? AND key = ? AND seq = "
            "(SELECT MAX(seq) FROM s3_objects WHERE bucket = ? AND key = ?)",
            (obj.bucket, obj.key, obj.bucket, obj.key),
        )


def list_latest(
    conn: sqlite3.Connection, bucket: str, *, prefix: str = "", after: str = "", limit: int
) -> list[ObjectVersion]:
    """Current, non-deleted objects with keys > ``after`` starting with ``prefix``, in key order
    (UTF-8 byte order, which is S3's and SQLite's BINARY collation)."""
    start = max(after, prefix) if prefix else after
    strict = start == after
    rows = conn.execute(
        f"SELECT {_OBJECT_COLS} FROM s3_objects WHERE bucket = ? AND is_latest = 1 "
        f"AND delete_marker = 0 AND key {'>' if strict else '>='} ? ORDER BY key LIMIT ?",
        (bucket, start, limit),
    ).fetchall()
    out = []
    for row in rows:
        if not row[1].startswith(prefix):
            break
        out.append(_object(row))
    return out


def iter_versions(
    conn: sqlite3.Connection,
    bucket: str,
    *,
    prefix: str = "",
    key_marker: str = "",
    version_marker: str = "",
) -> Iterator[ObjectVersion]:
    """Every version and delete marker, by key then newest first, after the markers."""
    sql = (
        f"SELECT {_OBJECT_COLS} FROM s3_objects WHERE bucket = ? AND key >= ? "
        "ORDER BY key, seq DESC"
    )
    start = max(key_marker, prefix)
    skipping_key = key_marker if key_marker else None
    passed_marker = not version_marker
    for row in conn.execute(sql, (bucket, start)):
        obj = _object(row)
        if not obj.key.startswith(prefix):
            if obj.key > prefix:
                return
            continue
        if skipping_key is not None and obj.key == skipping_key:
            # With only a key marker, that key is skipped entirely; with a version marker, the
            # versions up to and including it are.
            if passed_marker:
                continue
            if obj.version_id == version_marker:
                passed_marker = True
            continue
        yield obj


# --- multipart uploads -----------------------------------------------------------------------


def insert_upload(conn: sqlite3.Connection, upload: Upload) -> None:
    conn.execute(
        "INSERT INTO s3_uploads (upload_id, bucket, key, initiated, meta) VALUES (?, ?, ?, ?, ?)",
        (upload.upload_id, upload.bucket, upload.key, upload.initiated, _dumps(upload.meta)),
    )


def get_upload(conn: sqlite3.Connection, upload_id: str) -> Upload | None:
    row = conn.execute(
        "SELECT upload_id, bucket, key, initiated, meta FROM s3_uploads WHERE upload_id = ?",
        (upload_id,),
    ).fetchone()
    if not row:
        return None
    return Upload(row[0], row[1], row[2], row[3], json.loads(row[4]))


def list_uploads(
    conn: sqlite3.Connection,
    bucket: str,
    *,
    prefix: str = "",
    key_marker: str = "",
    upload_id_marker: str = "",
    limit: int,
) -> list[Upload]:
    rows = conn.execute(
        "SELECT upload_id, bucket, key, initiated, meta FROM s3_uploads WHERE bucket = ? "
        "AND key >= ? ORDER BY key, initiated, upload_id",
        (bucket, max(key_marker, prefix)),
    )
    out: list[Upload] = []
    passed_marker = not upload_id_marker
    for row in rows:
        upload = Upload(row[0], row[1], row[2], row[3], json.loads(row[4]))
        if not upload.key.startswith(prefix):
            if upload.key > prefix:
                break
            continue
        if key_marker and upload.key == key_marker:
            # Without an upload-id marker the marker key is skipped entirely; with one, only
            # that key's uploads after the marker upload (in initiation order) follow.
            if not upload_id_marker:
                continue
            if not passed_marker:
                passed_marker = upload.upload_id == upload_id_marker
                continue
        out.append(upload)
        if len(out) >= limit:
            break
    return out


def delete_upload(
    conn: sqlite3.Connection, store: Store, upload_id: str, *, keep: set[str]
) -> None:
    """Remove an upload and its parts; blobs not in ``keep`` (moved into an object) are freed."""
    for (blob_id,) in conn.execute(
        "SELECT blob_id FROM s3_parts WHERE upload_id = ?", (upload_id,)
    ).fetchall():
        if blob_id not in keep:
            store.blobs.unlink(conn, blob_id)
    conn.execute("DELETE FROM s3_parts WHERE upload_id = ?", (upload_id,))
    conn.execute("DELETE FROM s3_uploads WHERE upload_id = ?", (upload_id,))


def put_part(conn: sqlite3.Connection, store: Store, part: Part) -> None:
    """Store a part, replacing (and freeing) an earlier upload of the same part number."""
    old = conn.execute(
        "SELECT blob_id FROM s3_parts WHERE upload_id = ? AND part_number = ?",
        (part.upload_id, part.part_number),
    ).fetchone()
    if old:
        store.blobs.unlink(conn, old[0])
        conn.execute(
            "DELETE FROM s3_parts WHERE upload_id = ? AND part_number = ?",
            (part.upload_id, part.part_number),
        )
    conn.execute(
        "INSERT INTO s3_parts (upload_id, part_number, blob_id, size, etag, last_modified, "
        "checksums) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            part.upload_id,
            part.part_number,
            part.blob_id,
            part.size,
            part.etag,
            part.last_modified,
            _dumps(part.checksums),
        ),
    )
    store.blobs.link(conn, Blob(part.blob_id, part.size))


def list_parts(
    conn: sqlite3.Connection, upload_id: str, *, after: int = 0, limit: int = 10_000
) -> list[Part]:
    rows = conn.execute(
        "SELECT upload_id, part_number, blob_id, size, etag, last_modified, checksums "
        "FROM s3_parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?",
        (upload_id, after, limit),
    ).fetchall()
    return [Part(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6])) for r in rows]
