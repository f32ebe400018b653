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
    message = "The data you are trying to access has been trimmed"


class LimitExceededException(ServiceError):
    status = 400
