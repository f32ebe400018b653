"""SQS errors, named after the model's error shapes.

The serializer takes the legacy query code (``AWS.SimpleQueueService.NonExistentQueue``) from
the SQS dialect data; errors SQS answers that its model does not declare (``InvalidParameterValue``,
``MissingParameter``) come from ``overcast.errors`` and keep their own names on the wire.
"""

from overcast.errors import InvalidParameterValue, MissingParameter, ServiceError

__all__ = ["InvalidParameterValue", "MissingParameter"]


class QueueDoesNotExist(ServiceError):
    status = 400
    message = "The specified queue does not exist."


class QueueNameExists(ServiceError):
    status = 400


class QueueDeletedRecently(ServiceError):
    status = 400
    message = (
        "You must wait 60 seconds after deleting a queue before you can create another queue "
        "with the same name."
    )


class InvalidAttributeName(ServiceError):
    status = 400


class InvalidAttributeValue(ServiceError):
    status = 400


class InvalidMessageContents(ServiceError):
    status = 400


class ReceiptHandleIsInvalid(ServiceError):
    status = 400


class MessageNotInflight(ServiceError):
    status = 400
    message = "The message referred to isn't in flight."


class PurgeQueueInProgress(ServiceError):
    status = 403


class BatchEntryIdsNotDistinct(ServiceError):
    status = 400


class TooManyEntriesInBatchRequest(ServiceError):
    status = 400


class EmptyBatchRequest(ServiceError):
    status = 400


class InvalidBatchEntryId(ServiceError):
    status = 400
    message = (
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
        "It can be at most 80 letters long."
    )


class BatchRequestTooLong(ServiceError):
    status = 400


class OverLimit(ServiceError):
    status = 403


class UnsupportedOperation(ServiceError):
    status = 400


class ResourceNotFoundException(ServiceError):
    status = 404


class InvalidAddress(ServiceError):
    status = 404
    message = "The address is not valid for this endpoint."


class AccessDenied(ServiceError):
    status = 403
    code = "AccessDenied"
