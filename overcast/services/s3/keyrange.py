"""Key ranges in S3's order, and the opaque continuation tokens that point into them.

S3 orders keys by their UTF-8 bytes, which is the order of Python's code points and of SQLite's
BINARY collation, so ranges can be written as plain string comparisons.
"""

from __future__ import annotations

import base64
import binascii

from overcast.services.s3.errors import InvalidArgument


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with ``prefix``.

    None when there is none (empty prefix, or one made only of the highest code point): the
    range is then open-ended. Lets listings seek past a whole common prefix in one query.
    """
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last >= 0x10FFFF:
            continue
        nxt = last + 1
        if 0xD800 <= nxt <= 0xDFFF:  # surrogates cannot be encoded in UTF-8: skip past them
            nxt = 0xE000
        return "".join(chars) + chr(nxt)
    return None


def encode_token(position: str) -> str:
    """An opaque continuation token for "continue after ``position``"."""
    return base64.urlsafe_b64encode(b"\x01" + position.encode()).decode()


def decode_token(token: str) -> str:
    """The position a continuation token points after; InvalidArgument if it is not ours."""
    try:
        padded = token.encode() + b"=" * (-len(token) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        if not raw.startswith(b"\x01"):
            raise ValueError(token)
        return raw[1:].decode()
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidArgument(
            "The continuation token provided is incorrect",
            ArgumentName="continuation-token",
            ArgumentValue=token,
        ) from None
