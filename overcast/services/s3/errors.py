"""S3's errors, with AWS's codes, statuses and message texts.

Extra keyword arguments become elements of the ``<Error>`` body, as S3 sends them
(``NoSuchBucket(BucketName="b")`` -> ``<BucketName>b</BucketName>``).
"""

from __future__ import annotations

from overcast.errors import ServiceError


class S3Error(ServiceError):
    status = 400


class AccessDenied(S3Error):
    status = 403
    message = "Access Denied"


class AuthorizationHeaderMalformed(S3Error):
    message = "The authorization header is malformed."


class BadDigest(S3Error):
    message = "The Content-MD5 you specified did not match what we received."


class BucketAlreadyExists(S3Error):
    status = 409
    message = (
        "The requested bucket name is not available. The bucket namespace is shared by all users "
        "of the system. Please select a different name and try again."
    )


class BucketAlreadyOwnedByYou(S3Error):
    status = 409
    message = "Your previous request to create the named bucket succeeded and you already own it."


class BucketNotEmpty(S3Error):
    status = 409
    message = "The bucket you tried to delete is not empty"


class EntityTooLarge(S3Error):
    message = "Your proposed upload exceeds the maximum allowed size"


class EntityTooSmall(S3Error):
    message = "Your proposed upload is smaller than the minimum allowed object size."


class IllegalLocationConstraintException(S3Error):
    message = (
        "The unspecified location constraint is incompatible for the region specific endpoint "
        "this request was sent to."
    )


class IncompleteBody(S3Error):
    message = "You did not provide the number of bytes specified by the Content-Length HTTP header."


class InvalidArgument(S3Error):
    message = "Invalid Argument"


class InvalidBucketName(S3Error):
    message = "The specified bucket is not valid."


class InvalidDigest(S3Error):
    message = "The Content-MD5 you specified is not valid."


class InvalidLocationConstraint(S3Error):
    message = "The specified location-constraint is not valid"


class InvalidObjectState(S3Error):
    status = 403
    message = "The operation is not valid for the object's storage class"


class InvalidPart(S3Error):
    message = (
        "One or more of the specified parts could not be found.  The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag."
    )


class InvalidPartOrder(S3Error):
    message = "The list of parts was not in ascending order. Parts must be ordered by part number."


class InvalidRange(S3Error):
    status = 416
    message = "The requested range is not satisfiable"


class InvalidRequest(S3Error):
    message = "Invalid Request"


class InvalidURI(S3Error):
    message = "Couldn't parse the specified URI."


class InvalidStorageClass(S3Error):
    message = "The storage class you specified is not valid"


class InvalidTag(S3Error):
    message = "The TagValue you have provided is invalid"


class InvalidBucketState(S3Error):
    status = 409
    message = "The request is not valid with the current state of the bucket."


class KeyTooLongError(S3Error):
    message = "Your key is too long"


class MalformedXML(S3Error):
    message = (
        "The XML you provided was not well-formed or did not validate against our published schema"
    )


class MalformedPolicy(S3Error):
    message = "Policies must be valid JSON and the first byte must be '{'"


class MalformedPOSTRequest(S3Error):
    message = "The body of your POST request is not well-formed multipart/form-data."


class MethodNotAllowed(S3Error):
    status = 405
    message = "The specified method is not allowed against this resource."


class MissingContentLength(S3Error):
    status = 411
    message = "You must provide the Content-Length HTTP header."


class NoSuchBucket(S3Error):
    status = 404
    message = "The specified bucket does not exist"


class NoSuchKey(S3Error):
    status = 404
    message = "The specified key does not exist."


class NoSuchUpload(S3Error):
    status = 404
    message = (
        "The specified upload does not exist. The upload ID may be invalid, or the upload may "
        "have been aborted or completed."
    )


class NoSuchVersion(S3Error):
    status = 404
    message = "The specified version does not exist."


class NoSuchTagSet(S3Error):
    status = 404
    message = "The TagSet does not exist"


class NoSuchBucketPolicy(S3Error):
    status = 404
    message = "The bucket policy does not exist"


class NoSuchCORSConfiguration(S3Error):
    status = 404
    message = "The CORS configuration does not exist"


class NoSuchWebsiteConfiguration(S3Error):
    status = 404
    message = "The specified bucket does not have a website configuration"


class NoSuchPublicAccessBlockConfiguration(S3Error):
    status = 404
    message = "The public access block configuration was not found"


class OwnershipControlsNotFoundError(S3Error):
    status = 404
    message = "The bucket ownership controls were not found"


class NotModified(S3Error):
    status = 304
    message = "Not Modified"


class PreconditionFailed(S3Error):
    status = 412
    message = "At least one of the pre-conditions you specified did not hold"


class ConditionalRequestConflict(S3Error):
    status = 409
    message = (
        "The conditional request cannot succeed due to a conflicting operation against this "
        "resource."
    )


class PermanentRedirect(S3Error):
    status = 301
    message = (
        "The bucket you are attempting to access must be addressed using the specified endpoint. "
        "Please send all future requests to this endpoint."
    )


class SignatureDoesNotMatch(S3Error):
    status = 403
    message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


class TooManyBuckets(S3Error):
    message = "You have attempted to create more buckets than allowed"


class XAmzContentSHA256Mismatch(S3Error):
    message = "The provided 'x-amz-content-sha256' header does not match what was computed."


class InvalidObjectName(S3Error):
    message = "Object name contains unsupported characters."


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


class NoSuchLifecycleConfiguration(S3Error):
    status = 404
    message = "The lifecycle configuration does not exist"


class ReplicationConfigurationNotFoundError(S3Error):
    status = 404
    message = "The replication configuration was not found"


class ObjectLockConfigurationNotFoundError(S3Error):
    status = 404
    message = "Object Lock configuration does not exist for this bucket"


class NotImplemented_(S3Error):  # the wire code is "NotImplemented"
    code = "NotImplemented"
    status = 501
    message = "A header you provided implies functionality that is not implemented"


class MetadataTooLarge(S3Error):
    message = "Your metadata headers exceed the maximum allowed metadata size"


class MaxPostPreDataLengthExceededError(S3Error):
    message = "Your POST request fields preceding the upload file were too large."


class InvalidPartNumber(S3Error):
    status = 416
    message = "The requested partnumber is not satisfiable"


class NoSuchConfiguration(S3Error):
    status = 404
    message = "The specified configuration does not exist."


class TooManyConfigurations(S3Error):
    message = (
        "You are attempting to create a new configuration but have already reached the "
        "1,000-configuration limit."
    )


class RestoreAlreadyInProgress(S3Error):
    status = 409
    message = "Object restore is already in progress"


class NoSuchObjectLockConfiguration(S3Error):
    status = 404
    message = "The specified object does not have a ObjectLock configuration"


class ServerSideEncryptionConfigurationNotFoundError(S3Error):
    status = 404
    message = "The server side encryption configuration was not found"


class InvalidTargetBucketForLogging(S3Error):
    message = "The target bucket for logging does not exist"


class CrossLocationLoggingProhibitted(S3Error):  # sic: AWS's spelling
    status = 403
    message = "Cross S3 location logging not allowed. "
