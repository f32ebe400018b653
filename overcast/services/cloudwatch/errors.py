"""CloudWatch errors, named after the model's error shapes (the wire code comes from the model)."""

from overcast.errors import ServiceError


class DashboardNotFoundError(ServiceError):
    status = 404
    message = "The specified dashboard does not exist."


class DashboardInvalidInputError(ServiceError):
    status = 400


class InvalidParameterValueException(ServiceError):
    status = 400
