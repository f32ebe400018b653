"""Overcast's state layer: the only code that persists anything.

* ``Store``: SQLite (WAL) as the system of record, versioned migrations per namespace, sync and
  async reads/writes, ``after_commit`` hooks, ``reset``; ``Store.open(None)`` is ephemeral.
* ``BlobStore`` / ``Blob``: crash-safe large payloads beside the database (``store.blobs``).
* ``Collection`` / ``Page``: JSON documents keyed by (account_id, region, id).
* ``dialect``: everything SQLite-specific, so services' SQL stays portable.
"""

from overcast.state.blobs import Blob, BlobStore
from overcast.state.collection import Collection, Page
from overcast.state.errors import BlobNotFound, StateError
from overcast.state.store import Store

__all__ = ["Blob", "BlobNotFound", "BlobStore", "Collection", "Page", "StateError", "Store"]
