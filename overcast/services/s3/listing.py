"""S3: ListObjects, ListObjectsV2, ListObjectVersions."""

from __future__ import annotations

from overcast.services.s3.common import S3Base


class Listing(S3Base):
    pass
