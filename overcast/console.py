"""What the CLI prints: colour only on a terminal, and log lines as text or JSON.

Colour follows the conventions users expect: ``NO_COLOR`` (any value) turns it off, else
``FORCE_COLOR`` (any value but ``0``) turns it on even through a pipe, else colour only when the
stream is a terminal. ``--log-format json`` writes one JSON object per log line (the access log
too, with its fields: account, service, operation, status, ms, error_code) for CI to parse.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def color_enabled(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    if "NO_COLOR" in environ and environ["NO_COLOR"] != "":
        return False
    force = environ.get("FORCE_COLOR")
    if force is not None and force != "":
        return force != "0"
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and environ.get("TERM") != "dumb"


class Painter:
    """``paint(text, "green")``: the text in colour when the stream shows colour, else as is."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.enabled = color_enabled(stream or sys.stdout)

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(STYLES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


# Attributes every LogRecord has: anything else was passed with ``extra=`` and goes in the JSON.
_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str, log_format: str = "text") -> None:
    """Root logging to stderr, in the chosen format; the access log follows the same format."""
    from overcast.gateway import access_log

    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s.%(msecs)03d %(message)s", datefmt=access_log.TIME_FORMAT)
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Text access lines skip logging's per-record machinery (same text, same stream, same level);
    # JSON ones go through logging so that the formatter gets their fields.
    access_log.write_to(handler if log_format != "json" else None)
