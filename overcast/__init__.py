"""Overcast: the whole AWS cloud on one machine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "running"]

if TYPE_CHECKING:
    from overcast.testing import running


def __getattr__(name: str) -> Any:
    # `overcast.running` loads the test helpers only when asked: `import overcast` stays cheap.
    if name == "running":
        from overcast.testing import running

        return running
    raise AttributeError(f"module 'overcast' has no attribute {name!r}")
