"""Bucket event notifications: Put/GetBucketNotificationConfiguration, their validation, and the
``s3:TestEvent`` S3 sends to each SQS and SNS destination when a configuration is put.

Destinations are checked as AWS checks them: an SQS queue or SNS topic must exist and its policy
must let ``s3.amazonaws.com`` send (``sqs:SendMessage`` / ``SNS:Publish``) for this bucket;
otherwise ``InvalidArgument`` "Unable to validate the following destination configurations",
naming each failing ARN. Lambda has no functions to check yet: Lambda destinations are stored
as given. Delivery of object events is ``events_out.py``'s.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.iam import Decision, Policy, PolicyError, Principal, RequestInfo
from overcast.services.s3.common import S3Base, bucket_arn
from overcast.services.s3.errors import InvalidArgument
from overcast.services.s3.event_records import SNS_SUBJECT, test_event
from overcast.services.s3.models import Bucket

log = logging.getLogger("overcast.s3")

S3_PRINCIPAL = "s3.amazonaws.com"
CONFIG_KEY = "notification"

EVENTS = frozenset(
    {
        "s3:ReducedRedundancyLostObject", "s3:ObjectCreated:*", "s3:ObjectCreated:Put",
        "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
        "s3:ObjectCreated:CompleteMultipartUpload", "s3:ObjectRemoved:*",
        "s3:ObjectRemoved:Delete", "s3:ObjectRemoved:DeleteMarkerCreated", "s3:ObjectRestore:*",
        "s3:ObjectRestore:Post", "s3:ObjectRestore:Completed", "s3:ObjectRestore:Delete",
        "s3:Replication:*", "s3:Replication:OperationFailedReplication",
        "s3:Replication:OperationNotTracked", "s3:Replication:OperationMissedThreshold",
        "s3:Replication:OperationReplicatedAfterThreshold", "s3:LifecycleTransition",
        "s3:IntelligentTiering", "s3:ObjectAcl:Put", "s3:LifecycleExpiration:*",
        "s3:LifecycleExpiration:Delete", "s3:LifecycleExpiration:DeleteMarkerCreated",
        "s3:ObjectTagging:*", "s3:ObjectTagging:Put", "s3:ObjectTagging:Delete",
    }
)  # fmt: skip

# (request member, ARN member, kind) of each destination list.
DESTINATIONS = (
    ("TopicConfigurations", "TopicArn", "sns"),
    ("QueueConfigurations", "QueueArn", "sqs"),
    ("LambdaFunctionConfigurations", "LambdaFunctionArn", "lambda"),
)


def event_matches(pattern: str, event_name: str) -> bool:
    """Whether a configured event ("s3:ObjectCreated:*") covers an event ("ObjectCreated:Put")."""
    name = pattern.removeprefix("s3:")
    if name.endswith(":*"):
        return event_name.startswith(name[:-1])
    return name == event_name


def filter_rules(config: dict[str, Any]) -> list[dict[str, str]]:
    return list(((config.get("Filter") or {}).get("Key") or {}).get("FilterRules") or [])


def key_matches(config: dict[str, Any], key: str) -> bool:
    for rule in filter_rules(config):
        name, value = rule.get("Name", "").lower(), rule.get("Value", "")
        if name == "prefix" and not key.startswith(value):
            return False
        if name == "suffix" and not key.endswith(value):
            return False
    return True


def matching(config: dict[str, Any], event_name: str, key: str) -> list[tuple[str, str, str]]:
    """The destinations of a stored configuration an event goes to: (kind, arn, config id)."""
    out: list[tuple[str, str, str]] = []
    for member, arn_member, kind in DESTINATIONS:
        for entry in config.get(member) or []:
            if any(event_matches(e, event_name) for e in entry.get("Events") or []) and (
                key_matches(entry, key)
            ):
                out.append((kind, entry[arn_member], entry["Id"]))
    return out


def _new_id() -> str:
    return base64.b64encode(str(uuid.uuid4()).encode()).decode().rstrip("=")


def _check_filter(entry: dict[str, Any]) -> None:
    seen: set[str] = set()
    for rule in filter_rules(entry):
        name = str(rule.get("Name", "")).lower()
        if name not in ("prefix", "suffix"):
            raise InvalidArgument(
                "filter rule name must be either prefix or suffix",
                ArgumentName="FilterRule.Name",
                ArgumentValue=rule.get("Name", ""),
            )
        if name in seen:
            raise InvalidArgument(
                "Cannot specify more than one prefix rule in a filter."
                if name == "prefix"
                else "Cannot specify more than one suffix rule in a filter.",
                ArgumentName="FilterRule.Name",
                ArgumentValue=rule.get("Name", ""),
            )
        seen.add(name)


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two configurations overlap when they share an event type and their filters can both
    match one key (AWS refuses that: one event would go to two places)."""

    def types(entry: dict[str, Any]) -> set[str]:
        return {e.removeprefix("s3:").split(":")[0] for e in entry.get("Events") or []}

    def events_overlap() -> bool:
        for x in a.get("Events") or []:
            for y in b.get("Events") or []:
                if event_matches(x, y.removeprefix("s3:")) or event_matches(
                    y, x.removeprefix("s3:")
                ):
                    return True
                if (x.endswith(":*") or y.endswith(":*")) and types({"Events": [x]}) == types(
                    {"Events": [y]}
                ):
                    return True
        return False

    if not events_overlap():
        return False

    def rule(entry: dict[str, Any], name: str) -> str:
        for r in filter_rules(entry):
            if r.get("Name", "").lower() == name:
                return str(r.get("Value", ""))
        return ""

    pa, pb = rule(a, "prefix"), rule(b, "prefix")
    sa, sb = rule(a, "suffix"), rule(b, "suffix")
    prefixes = pa.startswith(pb) or pb.startswith(pa)
    suffixes = sa.endswith(sb) or sb.endswith(sa)
    return prefixes and suffixes


def normalize(config: dict[str, Any]) -> dict[str, Any]:
    """Validate a NotificationConfiguration; returns it as stored (every entry with an Id)."""
    out: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []
    for member, arn_member, _kind in DESTINATIONS:
        kept = []
        for entry in config.get(member) or []:
            events = list(entry.get("Events") or [])
            for event in events:
                if event not in EVENTS:
                    raise InvalidArgument(
                        "The event is not supported for notifications",
                        ArgumentName="Event",
                        ArgumentValue=event,
                    )
            if not entry.get(arn_member):
                raise InvalidArgument("The ARN is not well formed", ArgumentName=arn_member)
            _check_filter(entry)
            stored: dict[str, Any] = {
                "Id": entry.get("Id") or _new_id(),
                arn_member: entry[arn_member],
            }
            stored["Events"] = events
            if filter_rules(entry):
                # S3 answers the rule names capitalized, whatever case they were put in.
                rules = [
                    {"Name": str(r["Name"]).capitalize(), "Value": r.get("Value", "")}
                    for r in filter_rules(entry)
                ]
                stored["Filter"] = {"Key": {"FilterRules": rules}}
            kept.append(stored)
            entries.append(stored)
        if kept:
            out[member] = kept
    for i, a in enumerate(entries):
        for b in entries[i + 1 :]:
            if _overlap(a, b):
                raise InvalidArgument(
                    "Configurations overlap. Configurations on the same bucket cannot share a "
                    "common event type.",
                    ArgumentName="Event",
                    ArgumentValue=(a.get("Events") or [""])[0],
                )
    if config.get("EventBridgeConfiguration") is not None:
        out["EventBridgeConfiguration"] = {}
    return out


def _policy_allows(text: str | None, action: str, resource: str, bucket: Bucket) -> bool:
    if not text:
        return False
    try:
        policy = Policy.parse(text)
    except PolicyError:
        return False
    request = RequestInfo(
        action=action,
        resource=resource,
        principal=Principal(service=S3_PRINCIPAL),
        context={"aws:SourceArn": bucket_arn(bucket.name), "aws:SourceAccount": bucket.account_id},
    )
    return policy.evaluate(request) is Decision.ALLOW


class Notifications(S3Base):
    def put_bucket_notification_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        bucket = self._config_bucket(ctx, request, "s3:PutBucketNotification")
        config = normalize(request.get("NotificationConfiguration") or {})
        if not request.get("SkipDestinationValidation"):
            self._validate_destinations(bucket, config)
        action = "s3:PutBucketNotification"
        if config:
            self._write_config(ctx, request, action, CONFIG_KEY, config)
        else:  # an empty configuration turns notifications off
            self._write_config(ctx, request, action, CONFIG_KEY)
        if not request.get("SkipDestinationValidation"):
            self._send_test_events(ctx, bucket, config)
        return {}

    def get_bucket_notification_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        bucket = self._config_bucket(ctx, request, "s3:GetBucketNotification")
        return dict(bucket.config.get(CONFIG_KEY) or {})

    # --- destinations ---------------------------------------------------------------------

    def _validate_destinations(self, bucket: Bucket, config: dict[str, Any]) -> None:
        failures: list[tuple[str, str]] = []
        for member, arn_member, kind in DESTINATIONS:
            for entry in config.get(member) or []:
                arn = entry[arn_member]
                problem = self._destination_problem(kind, arn, bucket)
                if problem is not None:
                    failures.append((arn, problem))
        if failures:
            extra: dict[str, str] = {}
            for n, (arn, problem) in enumerate(failures, 1):
                extra[f"ArgumentName{n}"] = arn
                extra[f"ArgumentValue{n}"] = problem
            raise InvalidArgument(
                "Unable to validate the following destination configurations", **extra
            )

    def _destination_problem(self, kind: str, arn: str, bucket: Bucket) -> str | None:
        """Why S3 could not send to ``arn`` (None: it can)."""
        if kind == "sqs":
            sqs: Any = self.env.registry.provider("sqs")
            queue = self._store.read(lambda conn: sqs._queue_by_arn(conn, arn))
            if queue is None:
                return "The destination queue does not exist"
            if queue.fifo:  # S3 cannot send to FIFO queues
                return "FIFO SQS queues are not supported as S3 event notification destinations"
            if not _policy_allows(queue.attrs.get("Policy"), "sqs:SendMessage", arn, bucket):
                return (
                    "Permissions on the destination queue do not allow S3 to publish "
                    "notifications from this bucket"
                )
        elif kind == "sns":
            from overcast.services.sns import store as sns_store

            self.env.registry.provider("sns")  # its tables exist once it is loaded
            topic = self._store.read(lambda conn: sns_store.get_topic(conn, arn))
            if topic is None:
                return "The destination topic does not exist"
            if not _policy_allows(topic.attrs.get("Policy"), "SNS:Publish", arn, bucket):
                return (
                    "Permissions on the destination topic do not allow S3 to publish "
                    "notifications from this bucket"
                )
        return None

    def _send_test_events(
        self, ctx: RequestContext, bucket: Bucket, config: dict[str, Any]
    ) -> None:
        message = json.dumps(test_event(bucket.name, ctx.request_id, self._now()))
        for member, arn_member, kind in DESTINATIONS:
            for entry in config.get(member) or []:
                try:
                    if kind == "sqs":
                        self._to_queue(entry[arn_member], message, bucket.name)
                    elif kind == "sns":
                        self._to_topic(entry[arn_member], message, ctx.base_url("sns"))
                except Exception:  # validated a moment ago: a lost test message is not an error
                    log.warning("s3:TestEvent to %s failed", entry[arn_member], exc_info=True)

    def _to_queue(self, arn: str, message: str, bucket_name: str) -> None:
        from overcast.services.sqs import delivery as sqs_delivery

        sqs_delivery.deliver(
            self.env, arn, message, source_arn=bucket_arn(bucket_name), source_service=S3_PRINCIPAL
        )

    def _to_topic(self, arn: str, message: str, base_url: str) -> None:
        """Publish through SNS's own path (validation, FIFO rules, fan-out event)."""
        from overcast.services.sns import store as sns_store
        from overcast.services.sns.errors import NotFoundException

        sns: Any = self.env.registry.provider("sns")
        now = self._now()

        def write(conn: Any) -> None:
            topic = sns_store.get_topic(conn, arn)
            if topic is None:
                raise NotFoundException("Topic does not exist")
            entry: dict[str, Any] = {"Message": message, "Subject": SNS_SUBJECT}
            if topic.fifo:
                entry["MessageGroupId"] = "s3"
                entry["MessageDeduplicationId"] = uuid.uuid4().hex
            sns._prepare(None, conn, topic, entry, now, base_url)

        self._store.write(write)
