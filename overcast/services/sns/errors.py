"""SNS errors, named after the model's error shapes (the serializer writes the shape's wire code:
``InvalidParameterException`` answers ``InvalidParameter``, ``NotFoundException`` ``NotFound``)."""

from overcast.errors import ServiceError


class InvalidParameterException(ServiceError):
    status = 400


class InvalidParameterValueException(ServiceError):
    status = 400


class NotFoundException(ServiceError):
    status = 404


class AuthorizationErrorException(ServiceError):
    status = 403


class EndpointDisabledException(ServiceError):
    status = 400


class PlatformApplicationDisabledException(ServiceError):
    status = 400


class ResourceNotFoundException(ServiceError):
    status = 404


class TagLimitExceededException(ServiceError):
    status = 400


class FilterPolicyLimitExceededException(ServiceError):
    status = 403


class BatchEntryIdsNotDistinctException(ServiceError):
    status = 400
    message = "Two or more batch entries in the request have the same Id."


class EmptyBatchRequestException(ServiceError):
    status = 400
    message = "The batch request doesn't contain any entries."


class TooManyEntriesInBatchRequestException(ServiceError):
    status = 400
    message = "The batch request contains more entries than permissible."


class InvalidBatchEntryIdException(ServiceError):
    status = 400
    message = "The Id of a batch entry in a batch request doesn't abide by the specification."


class BatchRequestTooLongException(ServiceError):
    status = 400


def invalid(what: str) -> InvalidParameterException:
    """AWS's usual wording: ``Invalid parameter: <what>``."""
    return InvalidParameterException(f"Invalid parameter: {what}")
