"""S3 buckets: Create, Head, Delete, List, GetBucketLocation, versioning and bucket tagging."""

from __future__ import annotations

from overcast.services.s3.common import S3Base


class Buckets(S3Base):
    pass
