"""DynamoDB Streams errors, named after the model's error shapes."""

from overcast.errors import ServiceError, ValidationException

__all__ = ["ValidationException"]


class ResourceNotFoundException(ServiceError):
    status = 400
    message = "Requested resource not found"


class ExpiredIteratorException(ServiceError):
    status = 400
    message = "Iterator expired. The iterator was created more than 15 minutes ago."


class TrimmedDataAccessException(ServiceError):
    status = 400
    message = (
        "The operation attempted to read past the oldest stream record in a shard. "
        "The requested data is beyond the 24-hour retention period."
    )


class LimitExceededException(ServiceError):
    status = 400
