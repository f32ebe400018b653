"""RFC 6238 time-based one-time passwords (what virtual MFA apps compute): SHA-1, 6 digits, 30 s."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct

STEP = 30
DIGITS = 6


def new_seed() -> str:
    """A random 160-bit secret in base32, as CreateVirtualMFADevice's Base32StringSeed."""
    return base64.b32encode(secrets.token_bytes(20)).decode()


def _key(seed: str) -> bytes:
    text = seed.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def code_at(seed: str, counter: int) -> str:
    """The code for time step ``counter`` (RFC 4226 HOTP over the step number)."""
    mac = hmac.new(_key(seed), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def step_of(now: float) -> int:
    return int(now // STEP)


def code_now(seed: str, now: float) -> str:
    return code_at(seed, step_of(now))


def find_step(seed: str, code: str, now: float, window: int) -> int | None:
    """The time step within ``window`` steps of ``now`` whose code is ``code``, or None."""
    if not (len(code) == DIGITS and code.isdigit()):
        return None
    current = step_of(now)
    for delta in sorted(range(-window, window + 1), key=abs):
        if hmac.compare_digest(code_at(seed, current + delta), code):
            return current + delta
    return None
