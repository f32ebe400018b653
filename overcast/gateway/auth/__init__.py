"""Request authentication: SigV4 (header, presigned query, aws-chunked streaming) and S3's SigV2.

The gateway reads ``signing_scope(request)`` before the body to route the request, then calls
``Authenticator.authenticate(request, protocol)`` for the ``Identity`` it acts as. Unknown access
keys pass unverified as the default account; keys a ``CredentialStore`` knows are verified as AWS
verifies them. Streaming uploads come out decoded (``request.stream`` is replaced, with the
trailing checksums in ``request.stream.trailers`` once read).
"""

from overcast.gateway.auth.authenticator import Authenticator, Identity
from overcast.gateway.auth.checksums import new_checksum
from overcast.gateway.auth.chunked import AwsChunkedBody
from overcast.gateway.auth.credentials import (
    Credential,
    CredentialChain,
    CredentialStore,
    StaticCredentials,
)
from overcast.gateway.auth.scope import SigningScope, signing_scope

__all__ = [
    "Authenticator",
    "AwsChunkedBody",
    "Credential",
    "CredentialChain",
    "CredentialStore",
    "Identity",
    "SigningScope",
    "StaticCredentials",
    "new_checksum",
    "signing_scope",
]
