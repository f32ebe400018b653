"""AWS errors as exceptions.

Every error a provider or the gateway raises is a ``ServiceError`` subclass named exactly as AWS
names the error code (``NoSuchBucket``, ``QueueDoesNotExist``), carrying the HTTP status, whether
the sender is at fault, and AWS's default message text, so call sites never retype the message::

    class NoSuchBucket(ServiceError):
        status = 404
        message = "The specified bucket does not exist"

    raise NoSuchBucket(BucketName="my-bucket")

Keyword arguments are extra members of the modeled error shape (S3's ``BucketName``, DynamoDB's
``CancellationReasons``); serializers write them into the error body where the protocol allows.
Where a service model declares the error shape, serializers take the wire code and status from it
(that is how awsQueryCompatible services answer ``AWS.SimpleQueueService.NonExistentQueue``).
"""

from __future__ import annotations

from typing import Any, ClassVar


class ServiceError(Exception):
    """An error answered to the client in the protocol's error format."""

    code: ClassVar[str] = ""  # the error code on the wire; defaults to the class name
    status: ClassVar[int] = 400
    sender_fault: ClassVar[bool] = True
    message: ClassVar[str] = ""  # AWS's default message text

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        self.error_message: str = type(self).message if message is None else message
        self.fields: dict[str, Any] = fields
        # Extra response headers (e.g. S3's x-amz-bucket-region on a wrong-region request).
        self.headers: dict[str, str] = {}
        super().__init__(self.error_message)

    @property
    def error_code(self) -> str:
        return type(self).code or type(self).__name__

    @property
    def http_status(self) -> int:
        return type(self).status

    def __repr__(self) -> str:
        return f"{self.error_code}({self.error_message!r})"


def error_class(
    code: str, status: int = 400, message: str = "", sender_fault: bool = True
) -> type[ServiceError]:
    """Build a ServiceError subclass for a code known only at run time (e.g. from a model)."""
    return type(
        code,
        (ServiceError,),
        {"code": code, "status": status, "message": message, "sender_fault": sender_fault},
    )


# --- Errors the gateway itself answers, whatever the service -----------------------------------


class NotImplementedOperation(ServiceError):
    """A known operation of a known service that Overcast does not implement yet."""

    code = "NotImplemented"
    status = 501
    sender_fault = False


class InvalidAction(ServiceError):
    """Query/EC2 protocols: the Action names no operation of the service."""

    status = 400


class UnknownOperationException(ServiceError):
    """JSON/CBOR protocols: the target names no operation of the service."""

    status = 400


class UnknownService(ServiceError):
    """The request matches no service Overcast knows."""

    code = "UnrecognizedClientException"
    status = 400
    message = "The request could not be routed to any AWS service."


class SerializationException(ServiceError):
    status = 400


class ValidationException(ServiceError):
    status = 400


class MissingParameter(ServiceError):
    status = 400


class InvalidParameterValue(ServiceError):
    status = 400


class InternalFailure(ServiceError):
    status = 500
    sender_fault = False
    message = "The request processing has failed because of an unknown error, exception or failure."


class AccessDenied(ServiceError):
    status = 403
    message = "Access Denied"


class AccessDeniedException(ServiceError):
    status = 403


class SignatureDoesNotMatch(ServiceError):
    status = 403
    message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service documentation "
        "for details."
    )


class InvalidSignatureException(ServiceError):
    status = 403
    message = SignatureDoesNotMatch.message


class IncompleteSignature(ServiceError):
    status = 400


class MissingAuthenticationToken(ServiceError):
    status = 403
    message = "Request is missing Authentication Token"


class InvalidClientTokenId(ServiceError):
    status = 403
    message = "The security token included in the request is invalid."


class ExpiredToken(ServiceError):
    status = 400
    message = "The security token included in the request is expired"
