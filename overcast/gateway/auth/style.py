"""Which error each authentication failure becomes, per protocol and service.

The same failure has different codes on the wire: S3 answers ``SignatureDoesNotMatch`` with the
string it signed, query/EC2 services answer ``SignatureDoesNotMatch``, JSON and CBOR services
``InvalidSignatureException``; a bad session token is ``InvalidToken`` on S3,
``UnrecognizedClientException`` on JSON services and ``InvalidClientTokenId`` elsewhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from overcast.errors import (
    ExpiredToken,
    IncompleteSignature,
    InvalidClientTokenId,
    InvalidSignatureException,
    ServiceError,
    SignatureDoesNotMatch,
)
from overcast.gateway.auth.errors import (
    S3_SIGNATURE_MESSAGE,
    AuthorizationHeaderMalformed,
    ExpiredTokenException,
    InvalidToken,
    RequestTimeTooSkewed,
    UnrecognizedClientException,
)

JSON_PROTOCOLS = frozenset({"json", "rest-json", "smithy-rpc-v2-cbor", "cbor"})
MAX_SKEW_SECONDS = 15 * 60


def iso8601(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def amz_timestamp(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


@dataclass(frozen=True)
class ErrorStyle:
    """Builds the protocol's error for each way authentication can fail."""

    protocol: str
    s3: bool

    @property
    def json(self) -> bool:
        return self.protocol in JSON_PROTOCOLS

    def signature_error(self, message: str | None = None) -> ServiceError:
        if self.json:
            return InvalidSignatureException(message)
        return SignatureDoesNotMatch(message)

    def mismatch(
        self, access_key: str, string_to_sign: str, signature: str, canonical_request: str = ""
    ) -> ServiceError:
        if not self.s3:
            return self.signature_error()
        fields = {
            "AWSAccessKeyId": access_key,
            "StringToSign": string_to_sign,
            "SignatureProvided": signature,
            "StringToSignBytes": " ".join(f"{b:02x}" for b in string_to_sign.encode()),
        }
        if canonical_request:
            fields["CanonicalRequest"] = canonical_request
            fields["CanonicalRequestBytes"] = " ".join(
                f"{b:02x}" for b in canonical_request.encode()
            )
        return SignatureDoesNotMatch(S3_SIGNATURE_MESSAGE, **fields)

    def malformed(self, message: str) -> ServiceError:
        if self.s3:
            return AuthorizationHeaderMalformed(message)
        return IncompleteSignature(message)

    def invalid_token(self) -> ServiceError:
        if self.s3:
            return InvalidToken(Token="")
        if self.json:
            return UnrecognizedClientException()
        return InvalidClientTokenId()

    def expired_token(self) -> ServiceError:
        if self.s3:
            return ExpiredToken("The provided token has expired.")
        if self.json:
            return ExpiredTokenException()
        return ExpiredToken()

    def check_skew(self, request_time: float, amz_date: str, now: float) -> None:
        """Raise when the signed time is more than 15 minutes away from ``now``."""
        if abs(request_time - now) <= MAX_SKEW_SECONDS:
            return
        if self.s3:
            raise RequestTimeTooSkewed(
                RequestTime=amz_date,
                ServerTime=iso8601(now),
                MaxAllowedSkewMilliseconds=str(MAX_SKEW_SECONDS * 1000),
            )
        if request_time < now:
            bound = amz_timestamp(now - MAX_SKEW_SECONDS)
            message = (
                f"Signature expired: {amz_date} is now earlier than {bound} "
                f"({amz_timestamp(now)} - 15 min.)"
            )
        else:
            bound = amz_timestamp(now + MAX_SKEW_SECONDS)
            message = (
                f"Signature not yet current: {amz_date} is still later than {bound} "
                f"({amz_timestamp(now)} + 15 min.)"
            )
        raise self.signature_error(message)
