"""Errors that only request authentication answers, named and worded as AWS names them.

The cross-service ones (``SignatureDoesNotMatch``, ``InvalidSignatureException``,
``IncompleteSignature``, ``AccessDenied``...) live in ``overcast.errors``; these are S3's own
codes plus the JSON-protocol spellings of the token errors.
"""

from __future__ import annotations

from overcast.errors import ServiceError

S3_SIGNATURE_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


class AuthorizationHeaderMalformed(ServiceError):
    status = 400
    message = "The authorization header is malformed."


class AuthorizationQueryParametersError(ServiceError):
    status = 400


class InvalidArgument(ServiceError):
    status = 400


class RequestTimeTooSkewed(ServiceError):
    status = 403
    message = "The difference between the request time and the current time is too large."


class XAmzContentSHA256Mismatch(ServiceError):
    status = 400
    message = "The provided 'x-amz-content-sha256' header does not match what was computed."


class BadDigest(ServiceError):
    status = 400


class InvalidRequest(ServiceError):
    status = 400


class IncompleteBody(ServiceError):
    status = 400
    message = "The request body terminated unexpectedly"


class InvalidToken(ServiceError):
    """S3's answer to a session token that does not belong to the access key."""

    status = 400
    message = "The provided token is malformed or otherwise invalid."


class UnrecognizedClientException(ServiceError):
    """JSON protocols' spelling of ``InvalidClientTokenId``."""

    status = 400
    message = "The security token included in the request is invalid."


class ExpiredTokenException(ServiceError):
    """JSON protocols' spelling of ``ExpiredToken``."""

    status = 400
    message = "The security token included in the request is expired"
