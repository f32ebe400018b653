"""DynamoDB errors, named after the model's error shapes (and AWS's ValidationException).

DynamoDB answers every client error with HTTP 400 (throttling included) and server faults with
500. Messages that vary per call are passed at the raise site; the defaults here are AWS's texts
for the cases where the message is fixed. Other modules of this package may append classes.
"""

from __future__ import annotations

from overcast.errors import ServiceError, ValidationException

__all__ = [
    "BackupInUseException",
    "BackupNotFoundException",
    "ConditionalCheckFailedException",
    "ContinuousBackupsUnavailableException",
    "DuplicateItemException",
    "ExportConflictException",
    "ExportNotFoundException",
    "GlobalTableAlreadyExistsException",
    "GlobalTableNotFoundException",
    "IdempotentParameterMismatchException",
    "ImportConflictException",
    "ImportNotFoundException",
    "IndexNotFoundException",
    "InternalServerError",
    "InvalidExportTimeException",
    "InvalidRestoreTimeException",
    "ItemCollectionSizeLimitExceededException",
    "LimitExceededException",
    "PointInTimeRecoveryUnavailableException",
    "PolicyNotFoundException",
    "ProvisionedThroughputExceededException",
    "ReplicaAlreadyExistsException",
    "ReplicaNotFoundException",
    "ReplicatedWriteConflictException",
    "RequestLimitExceeded",
    "ResourceInUseException",
    "ResourceNotFoundException",
    "TableAlreadyExistsException",
    "TableInUseException",
    "TableNotFoundException",
    "ThrottlingException",
    "TransactionCanceledException",
    "TransactionConflictException",
    "TransactionInProgressException",
    "ValidationException",
]


class ConditionalCheckFailedException(ServiceError):
    """``Item=`` carries the old item when ReturnValuesOnConditionCheckFailure is ALL_OLD."""

    status = 400
    message = "The conditional request failed"


class ResourceNotFoundException(ServiceError):
    status = 400
    message = "Requested resource not found"


class ResourceInUseException(ServiceError):
    status = 400


class TransactionCanceledException(ServiceError):
    """``CancellationReasons=[{"Code": "None"}, {"Code": "ConditionalCheckFailed", ...}]``."""

    status = 400


class TransactionConflictException(ServiceError):
    status = 400
    message = "Transaction is ongoing for the item"


class TransactionInProgressException(ServiceError):
    status = 400


class IdempotentParameterMismatchException(ServiceError):
    status = 400


class ItemCollectionSizeLimitExceededException(ServiceError):
    status = 400
    message = "Item collection size limit exceeded"


class ProvisionedThroughputExceededException(ServiceError):
    status = 400
    message = (
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API."
    )


class RequestLimitExceeded(ServiceError):
    status = 400
    message = "Throughput exceeds the current throughput limit for your account."


class ThrottlingException(ServiceError):
    status = 400
    message = "Rate of requests exceeds the allowed throughput."


class LimitExceededException(ServiceError):
    status = 400


class InternalServerError(ServiceError):
    status = 500
    sender_fault = False
    message = "Internal server error"


class BackupInUseException(ServiceError):
    status = 400


class BackupNotFoundException(ServiceError):
    status = 400


class ContinuousBackupsUnavailableException(ServiceError):
    status = 400


class PointInTimeRecoveryUnavailableException(ServiceError):
    status = 400


class InvalidRestoreTimeException(ServiceError):
    status = 400


class InvalidExportTimeException(ServiceError):
    status = 400


class ExportConflictException(ServiceError):
    status = 400


class ExportNotFoundException(ServiceError):
    status = 400


class ImportConflictException(ServiceError):
    status = 400


class ImportNotFoundException(ServiceError):
    status = 400


class DuplicateItemException(ServiceError):
    status = 400
    message = "Duplicate primary key exists in table"


class GlobalTableAlreadyExistsException(ServiceError):
    status = 400
    message = "Global table already exists"


class GlobalTableNotFoundException(ServiceError):
    status = 400
    message = "Global table not found"


class ReplicaAlreadyExistsException(ServiceError):
    status = 400


class ReplicaNotFoundException(ServiceError):
    status = 400


class ReplicatedWriteConflictException(ServiceError):
    status = 400


class IndexNotFoundException(ServiceError):
    status = 400


class PolicyNotFoundException(ServiceError):
    status = 400


class TableAlreadyExistsException(ServiceError):
    status = 400


class TableInUseException(ServiceError):
    status = 400


class TableNotFoundException(ServiceError):
    status = 400
