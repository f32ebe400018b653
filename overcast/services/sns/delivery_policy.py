"""Validation of HTTP(S) delivery policies (the ``DeliveryPolicy`` attribute of a topic or of a
subscription), with AWS's limits and ``InvalidParameter`` wording.

A subscription's policy is ``{"healthyRetryPolicy", "throttlePolicy", "requestPolicy"}``; a
topic's is ``{"http": {"defaultHealthyRetryPolicy", "disableSubscriptionOverrides",
"defaultThrottlePolicy", "defaultRequestPolicy"}}``. Limits (SNS developer guide, "Creating an
HTTP/S delivery policy"): ``minDelayTarget`` 1 to ``maxDelayTarget``, ``maxDelayTarget`` up to
3,600, ``numRetries`` 0 to 100, the three phase counts 0 or more and together at most
``numRetries``, one of four backoff functions, ``maxReceivesPerSecond`` 1 or more, and the whole
schedule (retry.py, without jitter) at most 3,600 seconds.
"""

from __future__ import annotations

import json
import re
from typing import Any

from overcast.services.sns import retry
from overcast.services.sns.errors import InvalidParameterException

MAX_RETRIES = 100
MAX_DELAY = 3600
MAX_TOTAL_SECONDS = 3600.0
BACKOFF_FUNCTIONS = ("linear", "arithmetic", "geometric", "exponential")
_COUNTS = ("numRetries", "numNoDelayRetries", "numMinDelayRetries", "numMaxDelayRetries")
_RETRY_KEYS = {*_COUNTS, "minDelayTarget", "maxDelayTarget", "backoffFunction"}
# What AWS writes back (EffectiveDeliveryPolicy carries the legacy sickly policy and
# "guaranteed"), so a policy copied from it is accepted.
_SUBSCRIPTION_KEYS = {"healthyRetryPolicy", "throttlePolicy", "requestPolicy",
                      "sicklyRetryPolicy", "guaranteed"}  # fmt: skip
_TOPIC_HTTP_KEYS = {"defaultHealthyRetryPolicy", "defaultThrottlePolicy", "defaultRequestPolicy",
                    "disableSubscriptionOverrides", "defaultSicklyRetryPolicy"}  # fmt: skip
# type/subtype with optional parameters, e.g. "application/json; charset=UTF-8".
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[^;=\s]+=[^;]+)*$")


class _Reject(Exception):
    pass


def _whole(value: Any) -> int | None:
    """An integer JSON value (``5`` or ``5.0``); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _kind(value: Any) -> str:
    """How AWS names a JSON value's type in a type mismatch."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a number"


def _check_retry(policy: Any, path: str) -> None:
    if not isinstance(policy, dict):
        raise _Reject(f"{path} must be a JSON object")
    for key in policy:
        if key not in _RETRY_KEYS:
            raise _Reject(f'{path}: Unrecognized field "{key}"')
    merged = {**retry.DEFAULT_HEALTHY, **{k: v for k, v in policy.items() if v is not None}}
    values: dict[str, int] = {}
    for key in (*_COUNTS, "minDelayTarget", "maxDelayTarget"):
        number = _whole(merged[key])
        if number is None:
            raise _Reject(
                f"{path}.{key} type mismatch, expecting integer, received {_kind(merged[key])}"
            )
        values[key] = number
    if values["minDelayTarget"] < 1:
        raise _Reject(f"{path}.minDelayTarget must be greater than or equal to 1")
    if values["maxDelayTarget"] > MAX_DELAY:
        raise _Reject(f"{path}.maxDelayTarget must be less than or equal to {MAX_DELAY}")
    if values["maxDelayTarget"] < values["minDelayTarget"]:
        raise _Reject(f"{path}.maxDelayTarget must be greater than or equal to minDelayTarget")
    if not 0 <= values["numRetries"] <= MAX_RETRIES:
        raise _Reject(f"{path}.numRetries must be between 0 and {MAX_RETRIES}")
    for key in _COUNTS[1:]:
        if values[key] < 0:
            raise _Reject(f"{path}.{key} must be greater than or equal to 0")
    if sum(values[k] for k in _COUNTS[1:]) > values["numRetries"]:
        raise _Reject(
            f"{path}: numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries must be less "
            "than or equal to numRetries"
        )
    function = merged["backoffFunction"]
    if not isinstance(function, str) or function.lower() not in BACKOFF_FUNCTIONS:
        raise _Reject(f"{path}.backoffFunction must be one of {', '.join(BACKOFF_FUNCTIONS)}")
    if total_seconds(merged) > MAX_TOTAL_SECONDS:
        raise _Reject(f"{path}: Total policy retry time cannot be greater than 3600 seconds")


def total_seconds(policy: dict[str, Any]) -> float:
    """The time the whole retry schedule of a healthyRetryPolicy takes (no jitter)."""
    return sum(retry.delay(policy, k) for k in range(retry.num_retries(policy)))


def _check_throttle(policy: Any, path: str) -> None:
    if not isinstance(policy, dict):
        raise _Reject(f"{path} must be a JSON object")
    for key, value in policy.items():
        if key != "maxReceivesPerSecond":
            raise _Reject(f'{path}: Unrecognized field "{key}"')
        number = _whole(value)
        if number is None or number < 1:
            raise _Reject(f"{path}.maxReceivesPerSecond must be greater than or equal to 1")


def _check_request(policy: Any, path: str) -> None:
    if not isinstance(policy, dict):
        raise _Reject(f"{path} must be a JSON object")
    for key, value in policy.items():
        if key != "headerContentType":
            raise _Reject(f'{path}: Unrecognized field "{key}"')
        if not isinstance(value, str) or not _MEDIA_TYPE.match(value.strip()):
            raise _Reject(f"{path}.headerContentType is not a valid content type")


def _parse(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise _Reject("failed to parse JSON.") from None
    if not isinstance(value, dict):
        raise _Reject("failed to parse JSON.")
    return value


def _sections(
    policy: dict[str, Any], retry_key: str, throttle_key: str, request_key: str, prefix: str
) -> None:
    checks = {retry_key: _check_retry, throttle_key: _check_throttle, request_key: _check_request}
    for key, value in policy.items():
        check = checks.get(key)
        if check is not None and value is not None:  # AWS writes absent sections as null
            check(value, prefix + key)


def check_subscription_policy(text: str, reason_prefix: str = "") -> None:
    """Raise AWS's InvalidParameter for a subscription DeliveryPolicy outside the limits."""
    try:
        policy = _parse(text)
        for key in policy:
            if key not in _SUBSCRIPTION_KEYS:
                raise _Reject(f'Unrecognized field "{key}"')
        _sections(policy, "healthyRetryPolicy", "throttlePolicy", "requestPolicy", "")
    except _Reject as exc:
        raise InvalidParameterException(
            f"Invalid parameter: {reason_prefix}DeliveryPolicy: {exc}"
        ) from None


def check_topic_policy(text: str, reason_prefix: str = "") -> None:
    """Raise AWS's InvalidParameter for a topic DeliveryPolicy outside the limits. Only the
    ``http`` section is customisable; other protocols' sections are kept as given."""
    try:
        policy = _parse(text)
        http = policy.get("http")
        if http is None:
            return
        if not isinstance(http, dict):
            raise _Reject("http must be a JSON object")
        for key in http:
            if key not in _TOPIC_HTTP_KEYS:
                raise _Reject(f'http: Unrecognized field "{key}"')
        if not isinstance(http.get("disableSubscriptionOverrides", False), bool):
            raise _Reject("http.disableSubscriptionOverrides must be a boolean")
        _sections(
            http, "defaultHealthyRetryPolicy", "defaultThrottlePolicy", "defaultRequestPolicy",
            "http.",
        )  # fmt: skip
    except _Reject as exc:
        raise InvalidParameterException(
            f"Invalid parameter: {reason_prefix}DeliveryPolicy: {exc}"
        ) from None
