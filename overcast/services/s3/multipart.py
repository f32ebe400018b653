"""S3: multipart uploads."""

from __future__ import annotations

from overcast.services.s3.common import S3Base


class Multipart(S3Base):
    pass
