"""Exceptions of the state layer.

``StateError`` carries a one-line, human message: the CLI prints it as is (no traceback) when a
data directory cannot be opened, is locked by another process, or was written by a newer Overcast.
"""

from __future__ import annotations


class StateError(Exception):
    """The state layer cannot do what was asked; ``str(exc)`` is a one-line message for humans."""


class BlobNotFound(StateError, KeyError):
    """No blob with that id exists (never written, already deleted, or garbage-collected)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "blob not found"
