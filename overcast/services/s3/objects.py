"""S3 objects: Put, Get, Head, Delete(Objects), Copy, object tagging and attributes."""

from __future__ import annotations

from overcast.services.s3.common import S3Base


class Objects(S3Base):
    pass
