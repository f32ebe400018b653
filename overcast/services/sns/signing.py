"""The key SNS signs its messages with, and the string it signs.

One RSA key and a self-signed certificate are made with ``cryptography`` on first use and kept in
the store, so signatures stay verifiable across restarts; the certificate is served at
``/_overcast/sns/SimpleNotificationService.pem`` (the envelope's ``SigningCertURL``).
SignatureVersion 1 signs with SHA1withRSA, 2 with SHA256withRSA, over AWS's canonical string:
``Name\\nValue\\n`` for a fixed, sorted set of envelope fields.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from overcast.services.sns import store
from overcast.state import Store

# The fields each message type signs, in AWS's (alphabetical) order; Subject only when present.
NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn",
                       "Type")  # fmt: skip


def string_to_sign(envelope: dict[str, Any]) -> str:
    fields = NOTIFICATION_FIELDS if envelope["Type"] == "Notification" else CONFIRMATION_FIELDS
    return "".join(f"{name}\n{envelope[name]}\n" for name in fields if name in envelope)


class Signer:
    """Signs envelopes with the persisted key (made on first use)."""

    def __init__(self, state: Store) -> None:
        self._state = state
        self._key: rsa.RSAPrivateKey | None = None
        self.cert_pem = ""

    def _load(self) -> rsa.RSAPrivateKey:
        if self._key is None:
            pair = self._state.read(store.signing_key)
            if pair is None:
                key_pem, cert_pem = _make_key()
                self._state.write(lambda c: store.save_signing_key(c, key_pem, cert_pem))
                pair = self._state.read(store.signing_key)  # another writer may have won
                assert pair is not None
            key = serialization.load_pem_private_key(pair[0].encode(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            self._key, self.cert_pem = key, pair[1]
        return self._key

    def certificate(self) -> str:
        self._load()
        return self.cert_pem

    def sign(self, envelope: dict[str, Any]) -> str:
        digest = hashes.SHA1() if envelope["SignatureVersion"] == "1" else hashes.SHA256()
        raw = self._load().sign(string_to_sign(envelope).encode(), padding.PKCS1v15(), digest)
        return base64.b64encode(raw).decode()

    def reset(self) -> None:
        self._key = None
        self.cert_pem = ""


def _make_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    # Fixed validity far around "now": the controllable clock may be set anywhere.
    start = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365 * 99))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()
