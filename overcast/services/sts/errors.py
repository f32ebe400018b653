"""STS's errors, named as the STS model names them (the serializer takes the wire code from the
model: ``MalformedPolicyDocumentException`` answers ``MalformedPolicyDocument``)."""

from __future__ import annotations

from overcast.errors import ServiceError


class AccessDenied(ServiceError):
    status = 403


class ValidationError(ServiceError):
    status = 400


class InvalidParameterValue(ServiceError):
    status = 400


class MalformedPolicyDocumentException(ServiceError):
    status = 400


class PackedPolicyTooLargeException(ServiceError):
    status = 400


class ExpiredTokenException(ServiceError):
    status = 400


class InvalidIdentityTokenException(ServiceError):
    status = 400


class IDPRejectedClaimException(ServiceError):
    status = 403


class IDPCommunicationErrorException(ServiceError):
    status = 400


class InvalidAuthorizationMessageException(ServiceError):
    status = 400
