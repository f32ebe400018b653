"""Service-specific wire facts the botocore models leave out, kept as data.

The serializers are generic; where one service answers differently from what its model implies,
the difference lives here, looked up by the model's ``endpointPrefix``:

- S3 names its XML root elements (``ListBucketResult``), puts its namespace on them, sends
  ``x-amz-request-id``/``x-amz-id-2`` and writes errors as a bare ``<Error>``.
- DynamoDB lists some enums in its own order, words a few validation errors its own way
  (``ValidationMessage``) and echoes values Java-style (the validator does that for everyone).
- SQS still answers the old query protocol, though its current model is JSON: the query
  namespace, the XML names its query model had (flattened ``<Attribute><Name>``...), and the
  legacy query error codes (``AWS.SimpleQueueService.NonExistentQueue``) the model dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.model import ServiceModel

# Per shape name: XML traits to use when the model has none. Keys: "name" (the element name of a
# member of this shape), "member" (list item element), "key"/"value" (map entry elements),
# "flattened" (bool).
XmlNames = Mapping[str, Mapping[str, str | bool]]


@dataclass(frozen=True)
class ValidationMessage:
    """One request-validation error a service words its own way.

    It replaces each generic error of ``operations`` whose path fully matches ``path`` and whose
    constraint text starts with ``constraint``. ``message`` is a format string: ``{top}`` is the
    top-level member the path starts in and ``{value}`` the offending value (both echoed
    Java-style), plus the named groups of ``path``. ``alone``: the message is the whole answer,
    without the ``N validation errors detected: `` envelope.
    """

    operations: frozenset[str]
    path: re.Pattern[str]
    constraint: str
    message: str
    alone: bool = False


@dataclass(frozen=True)
class ServiceDialect:
    # xmlns of query-protocol answers when the model's metadata has no xmlNamespace.
    query_namespace: str | None = None
    xml_names: XmlNames = field(default_factory=dict)
    # awsQueryCompatible error codes by error shape name, when the shapes lack ``error.code``.
    legacy_query_codes: Mapping[str, str] = field(default_factory=dict)
    # rest-xml: namespace of the body's root element when the shape declares none.
    xml_namespace: str | None = None
    # rest-xml: root element name per operation when the output shape has no locationName.
    xml_roots: Mapping[str, str] = field(default_factory=dict)
    # rest-xml: operations whose whole body is the root element holding the one member's text
    # (S3's ``<LocationConstraint>us-west-2</LocationConstraint>``).
    xml_text_roots: frozenset[str] = frozenset()
    s3_request_ids: bool = False
    # rest-xml errors as a bare ``<Error>`` with RequestId/HostId inside (S3), not the
    # ``<ErrorResponse>`` envelope the other rest-xml services use.
    bare_xml_errors: bool = False
    # Whether the generic validation checks the model's enums. SQS answers an unknown attribute
    # name with its own ``InvalidAttributeName`` ("Unknown Attribute X."), not the enum
    # ValidationException, so for it the provider makes that check.
    validate_enums: bool = True
    # Per enum shape name: the order its values are listed in validation messages, where the
    # service's order differs from the model's.
    enum_orders: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    validation_messages: tuple[ValidationMessage, ...] = ()
    # rest: query key -> (error code, message) for a value of the wrong type, instead of the
    # generic ``InvalidRequest``; the error names the argument and its value.
    query_value_errors: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # json: structure shapes whose values the provider builds wire-ready, sent without the
    # per-member walk (member names as in the model, no None members, no timestamps or floats;
    # bytes are base64-encoded by the JSON encoder itself).
    json_as_is: frozenset[str] = frozenset()


DEFAULT = ServiceDialect()

_S3_ROOTS = {
    "ListObjects": "ListBucketResult",
    "ListObjectsV2": "ListBucketResult",
    "ListObjectVersions": "ListVersionsResult",
    "ListBuckets": "ListAllMyBucketsResult",
    "ListDirectoryBuckets": "ListAllMyDirectoryBucketsResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "ListParts": "ListPartsResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "DeleteObjects": "DeleteResult",
    "GetBucketLocation": "LocationConstraint",
    "GetBucketAcl": "AccessControlPolicy",
    "GetObjectAcl": "AccessControlPolicy",
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketTagging": "Tagging",
    "GetObjectTagging": "Tagging",
    "GetBucketCors": "CORSConfiguration",
    "GetBucketLifecycleConfiguration": "LifecycleConfiguration",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
    "GetBucketWebsite": "WebsiteConfiguration",
    "GetBucketLogging": "BucketLoggingStatus",
    "GetBucketRequestPayment": "RequestPaymentConfiguration",
    "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
    "GetObjectAttributes": "GetObjectAttributesOutput",
    "GetObjectLockConfiguration": "ObjectLockConfiguration",
    "GetBucketOwnershipControls": "OwnershipControls",
    "GetBucketEncryption": "ServerSideEncryptionConfiguration",
    "GetPublicAccessBlock": "PublicAccessBlockConfiguration",
    "GetBucketReplication": "ReplicationConfiguration",
    "GetObjectRetention": "Retention",
    "GetObjectLegalHold": "LegalHold",
    "CopyObject": "CopyObjectResult",
    "UploadPartCopy": "CopyPartResult",
}

S3 = ServiceDialect(
    xml_namespace="http://s3.amazonaws.com/doc/2006-03-01/",
    xml_roots=MappingProxyType(_S3_ROOTS),
    xml_text_roots=frozenset({"GetBucketLocation"}),
    s3_request_ids=True,
    bare_xml_errors=True,
    query_value_errors=MappingProxyType(
        {
            **{
                key: ("InvalidArgument", f"Provided {key} not an integer or within integer range")
                for key in (
                    "max-keys",
                    "max-uploads",
                    "max-parts",
                    "part-number-marker",
                    "max-buckets",
                    "max-directory-buckets",
                )
            },
            "partNumber": (
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive",
            ),
        }
    ),
)

_BATCH_SIZE = (
    "Map value must satisfy constraint: [Member must have length less than or equal to 25, "
    "Member must have length greater than or equal to 1]"
)

DYNAMODB = ServiceDialect(
    # Items: ~45% of a small GetItem's serialization was this walk (profiled).
    json_as_is=frozenset({"AttributeValue"}),
    enum_orders=MappingProxyType(
        {
            "ScalarAttributeType": ("B", "N", "S"),
            "Select": (
                "SPECIFIC_ATTRIBUTES",
                "COUNT",
                "ALL_ATTRIBUTES",
                "ALL_PROJECTED_ATTRIBUTES",
            ),
            "ReturnValue": ("ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW"),
        }
    ),
    validation_messages=(
        *(
            ValidationMessage(
                frozenset({op}),
                re.compile("requestItems"),
                "Member must have length greater than or equal to",
                f"The requestItems parameter is required for {op}",
                alone=True,
            )
            for op in ("BatchWriteItem", "BatchGetItem")
        ),
        # Over 25 writes for a table: reported on the whole map, with both of its bounds.
        ValidationMessage(
            frozenset({"BatchWriteItem"}),
            re.compile(r"requestItems\.(?P<table>.+)\.member"),
            "Member must have length",
            "Value '{top}' at 'requestItems' failed to satisfy constraint: " + _BATCH_SIZE,
        ),
        # Over 100 keys: no echo, and the path keeps the members' own capitals.
        ValidationMessage(
            frozenset({"BatchGetItem"}),
            re.compile(r"requestItems\.(?P<table>.+)\.member\.keys"),
            "Member must have length less than or equal to",
            "Value at 'RequestItems.{table}.member.Keys' failed to satisfy constraint: "
            "Member must have length less than or equal to 100",
        ),
        ValidationMessage(
            frozenset({"CreateTable"}),
            re.compile("tableName"),
            "Member must not be null",
            "The parameter 'TableName' is required but was not present in the request",
            alone=True,
        ),
        ValidationMessage(
            frozenset({"CreateTable", "UpdateTable"}),
            re.compile("tableClass"),
            "Member must satisfy enum value set",
            "Invalid table-class parameter provided. Please try again with a valid table-class "
            "value: [STANDARD, STANDARD_INFREQUENT_ACCESS].",
            alone=True,
        ),
    ),
)

_NAME_VALUE = {"key": "Name", "value": "Value"}

SQS = ServiceDialect(
    validate_enums=False,
    query_namespace="http://queue.amazonaws.com/doc/2012-11-05/",
    xml_names=MappingProxyType(
        {
            "QueueUrlList": {"member": "QueueUrl"},
            "MessageList": {"member": "Message"},
            "StringList": {"member": "StringListValue", "flattened": True},
            "BinaryList": {"member": "BinaryListValue", "flattened": True},
            "SendMessageBatchResultEntryList": {"member": "SendMessageBatchResultEntry"},
            "DeleteMessageBatchResultEntryList": {"member": "DeleteMessageBatchResultEntry"},
            "ChangeMessageVisibilityBatchResultEntryList": {
                "member": "ChangeMessageVisibilityBatchResultEntry"
            },
            "BatchResultErrorEntryList": {"member": "BatchResultErrorEntry"},
            "ListMessageMoveTasksResultEntryList": {"member": "ListMessageMoveTasksResultEntry"},
            "QueueAttributeMap": {"name": "Attribute", **_NAME_VALUE},
            "MessageSystemAttributeMap": {"name": "Attribute", **_NAME_VALUE},
            "MessageBodyAttributeMap": {"name": "MessageAttribute", **_NAME_VALUE},
            "MessageBodySystemAttributeMap": {"name": "MessageSystemAttribute", **_NAME_VALUE},
            "TagMap": {"name": "Tag", "key": "Key", "value": "Value"},
            # Request-only lists: the names old query clients send (`AttributeName.1`,
            # `SendMessageBatchRequestEntry.1.Id`); the query parser accepts them too.
            "AttributeNameList": {"member": "AttributeName", "flattened": True},
            "MessageAttributeNameList": {"member": "MessageAttributeName", "flattened": True},
            "MessageSystemAttributeList": {
                "member": "MessageSystemAttributeName",
                "flattened": True,
            },
            "SendMessageBatchRequestEntryList": {
                "member": "SendMessageBatchRequestEntry",
                "flattened": True,
            },
            "DeleteMessageBatchRequestEntryList": {
                "member": "DeleteMessageBatchRequestEntry",
                "flattened": True,
            },
            "ChangeMessageVisibilityBatchRequestEntryList": {
                "member": "ChangeMessageVisibilityBatchRequestEntry",
                "flattened": True,
            },
            "TagKeyList": {"member": "TagKey", "flattened": True},
            "AWSAccountIdList": {"member": "AWSAccountId", "flattened": True},
            "ActionNameList": {"member": "ActionName", "flattened": True},
        }
    ),
    legacy_query_codes=MappingProxyType(
        {
            "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
            "QueueNameExists": "QueueAlreadyExists",
            "QueueDeletedRecently": "AWS.SimpleQueueService.QueueDeletedRecently",
            "PurgeQueueInProgress": "AWS.SimpleQueueService.PurgeQueueInProgress",
            "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
            "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
            "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            "BatchRequestTooLong": "AWS.SimpleQueueService.BatchRequestTooLong",
            "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
            "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
            "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            "KmsAccessDenied": "KMS.AccessDeniedException",
            "KmsDisabled": "KMS.DisabledException",
            "KmsInvalidKeyUsage": "KMS.InvalidKeyUsageException",
            "KmsInvalidState": "KMS.InvalidStateException",
            "KmsNotFound": "KMS.NotFoundException",
            "KmsOptInRequired": "KMS.OptInRequired",
            "KmsThrottled": "KMS.ThrottlingException",
        }
    ),
)

_DIALECTS: Mapping[str, ServiceDialect] = MappingProxyType(
    {"s3": S3, "s3-control": S3, "sqs": SQS, "dynamodb": DYNAMODB}
)


def dialect_for(service_model: ServiceModel) -> ServiceDialect:
    """The dialect of a service (``DEFAULT`` when it answers as its model says)."""
    return _DIALECTS.get(service_model.metadata.get("endpointPrefix", ""), DEFAULT)
