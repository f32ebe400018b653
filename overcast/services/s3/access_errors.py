"""S3 errors raised only by access control (ACLs, ownership, public access, CORS, POST uploads).

They live beside ``errors.py`` rather than in it so the access modules own their error texts.
"""

from __future__ import annotations

from overcast.services.s3.errors import S3Error


class AccessControlListNotSupported(S3Error):
    message = "The bucket does not allow ACLs"


class InvalidBucketAclWithObjectOwnership(S3Error):
    message = "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"


class InvalidBucketAclWithBlockPublicAccessError(S3Error):
    message = "Bucket cannot have public ACLs set with BlockPublicAccess enabled"


class MalformedACLError(S3Error):
    message = (
        "The XML you provided was not well-formed or did not validate against our published schema"
    )


class MissingSecurityHeader(S3Error):
    message = "Your request was missing a required header"


class UnresolvableGrantByEmailAddress(S3Error):
    message = "The e-mail address you provided does not match any account on record."


class AccessForbidden(S3Error):
    """CORS preflight refusals: S3's own code for them, not AccessDenied."""

    status = 403
    message = "CORSResponse: This CORS request is not allowed."


class BadRequest(S3Error):
    message = "Bad Request"


class InvalidPolicyDocument(S3Error):
    message = (
        "The content of the form does not meet the conditions specified in the policy document."
    )


class IncorrectNumberOfFilesInPostRequest(S3Error):
    message = "POST requires exactly one file upload per request."


class InvalidAccessKeyId(S3Error):
    status = 403
    message = "The AWS Access Key Id you provided does not exist in our records."
