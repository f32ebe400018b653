"""IAM's errors, named and worded as AWS answers them."""

from __future__ import annotations

from overcast.errors import ServiceError


class NoSuchEntity(ServiceError):
    code = "NoSuchEntity"
    status = 404


class EntityAlreadyExists(ServiceError):
    status = 409


class DeleteConflict(ServiceError):
    status = 409


class LimitExceeded(ServiceError):
    code = "LimitExceeded"
    status = 409


class InvalidInput(ServiceError):
    status = 400


class ValidationError(ServiceError):
    status = 400


class MalformedPolicyDocument(ServiceError):
    status = 400


class UnmodifiableEntity(ServiceError):
    status = 400


class InvalidAuthenticationCode(ServiceError):
    status = 403


class InvalidUserType(ServiceError):
    status = 400


class PasswordPolicyViolation(ServiceError):
    status = 400


class MalformedCertificate(ServiceError):
    status = 400


class KeyPairMismatch(ServiceError):
    status = 400


class DuplicateCertificate(ServiceError):
    status = 409


class DuplicateSSHPublicKey(ServiceError):
    status = 400


class InvalidPublicKey(ServiceError):
    status = 400


class NotSupportedService(ServiceError):
    status = 404


class PolicyNotAttachable(ServiceError):
    status = 400


class FeatureEnabled(ServiceError):
    status = 409


class FeatureDisabled(ServiceError):
    status = 404


class OrganizationNotFoundException(ServiceError):
    status = 400


class CredentialReportNotPresent(ServiceError):
    code = "ReportNotPresent"
    status = 410
    message = "Credential report does not exist. Use GenerateCredentialReport to generate one."


class CredentialReportExpired(ServiceError):
    code = "ReportExpired"
    status = 410
    message = "Credential report has expired. Use GenerateCredentialReport to generate a new one."


def no_such(kind: str, name: str) -> NoSuchEntity:
    """AWS's wording: ``The user with name x cannot be found.``"""
    return NoSuchEntity(f"The {kind} with name {name} cannot be found.")
