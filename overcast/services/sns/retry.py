"""HTTP(S) retry timing from a delivery policy, as AWS describes its four phases.

After a failed first attempt, retry ``k`` (1-based, up to ``numRetries``) waits:

1. immediate phase (``numNoDelayRetries``): no delay;
2. pre-backoff phase (``numMinDelayRetries``): ``minDelayTarget``;
3. backoff phase (what ``numRetries`` leaves after the other three): from ``minDelayTarget``
   towards ``maxDelayTarget`` along ``backoffFunction`` (linear, arithmetic, geometric,
   exponential), reaching the maximum on its last retry;
4. post-backoff phase (``numMaxDelayRetries``): ``maxDelayTarget``.

AWS adds jitter; Overcast does not, so tests can advance the Clock to an exact retry. The
effective policy is the topic's ``http.defaultHealthyRetryPolicy`` (AWS's defaults where unset)
overridden by the subscription's ``healthyRetryPolicy``, unless the topic sets
``disableSubscriptionOverrides``.
"""

from __future__ import annotations

import json
from typing import Any

DEFAULT_CONTENT_TYPE = "text/plain; charset=UTF-8"
BUDGET_SECONDS = 3600.0  # AWS: a delivery policy's retries span an hour at most
DEFAULT_HEALTHY: dict[str, Any] = {
    "minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3, "numMaxDelayRetries": 0,
    "numNoDelayRetries": 0, "numMinDelayRetries": 0, "backoffFunction": "linear",
}  # fmt: skip


def _load(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def healthy_policy(topic_attrs: dict[str, str], sub_attrs: dict[str, str]) -> dict[str, Any]:
    """The healthyRetryPolicy that applies to an HTTP(S) subscription."""
    policy = dict(DEFAULT_HEALTHY)
    http = _load(topic_attrs.get("DeliveryPolicy")).get("http")
    http = http if isinstance(http, dict) else {}
    topic_default = http.get("defaultHealthyRetryPolicy")
    if isinstance(topic_default, dict):
        policy.update(topic_default)
    if not http.get("disableSubscriptionOverrides"):
        own = _load(sub_attrs.get("DeliveryPolicy")).get("healthyRetryPolicy")
        if isinstance(own, dict):
            policy.update(own)
    return policy


def content_type(topic_attrs: dict[str, str], sub_attrs: dict[str, str]) -> str:
    """The Content-Type of HTTP(S) deliveries: the subscription's ``requestPolicy`` over the
    topic's ``http.defaultRequestPolicy`` (unless ``disableSubscriptionOverrides``)."""
    http = _load(topic_attrs.get("DeliveryPolicy")).get("http")
    http = http if isinstance(http, dict) else {}
    chosen = DEFAULT_CONTENT_TYPE
    topic_request = http.get("defaultRequestPolicy")
    if isinstance(topic_request, dict) and isinstance(topic_request.get("headerContentType"), str):
        chosen = topic_request["headerContentType"]
    if not http.get("disableSubscriptionOverrides"):
        own = _load(sub_attrs.get("DeliveryPolicy")).get("requestPolicy")
        if isinstance(own, dict) and isinstance(own.get("headerContentType"), str):
            chosen = own["headerContentType"]
    return chosen


def throttle_policy(
    topic_attrs: dict[str, str], sub_attrs: dict[str, str]
) -> dict[str, Any] | None:
    """The throttlePolicy of an HTTP(S) subscription (its own over the topic's default)."""
    http = _load(topic_attrs.get("DeliveryPolicy")).get("http")
    http = http if isinstance(http, dict) else {}
    throttle = http.get("defaultThrottlePolicy")
    if not http.get("disableSubscriptionOverrides"):
        throttle = _load(sub_attrs.get("DeliveryPolicy")).get("throttlePolicy") or throttle
    return throttle if isinstance(throttle, dict) else None


def max_receives(topic_attrs: dict[str, str], sub_attrs: dict[str, str]) -> int | None:
    """Deliveries a second the subscription accepts (None: no throttling)."""
    rate = (throttle_policy(topic_attrs, sub_attrs) or {}).get("maxReceivesPerSecond")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 1:
        return None
    return int(rate)


def effective_policy(topic_attrs: dict[str, str], sub_attrs: dict[str, str]) -> str:
    """A subscription's EffectiveDeliveryPolicy, as GetSubscriptionAttributes shows it."""
    policy: dict[str, Any] = {
        "healthyRetryPolicy": healthy_policy(topic_attrs, sub_attrs),
        "sicklyRetryPolicy": None,
        "throttlePolicy": throttle_policy(topic_attrs, sub_attrs),
        "guaranteed": False,
    }
    chosen = content_type(topic_attrs, sub_attrs)
    if chosen != DEFAULT_CONTENT_TYPE:  # AWS shows a request policy only when one is set
        policy["requestPolicy"] = {"headerContentType": chosen}
    return json.dumps(policy, separators=(",", ":"))


def within_budget(first_failure: float, now: float, next_delay: float) -> bool:
    """Whether a retry ``next_delay`` from ``now`` still falls inside the hour that started with
    the first failed attempt (a topic default merged with a subscription override can describe
    a longer schedule than either allows alone)."""
    return (now - first_failure) + next_delay <= BUDGET_SECONDS


def _int(policy: dict[str, Any], key: str) -> int:
    try:
        return max(0, int(policy.get(key, DEFAULT_HEALTHY[key])))
    except (TypeError, ValueError):
        return int(DEFAULT_HEALTHY[key])


def num_retries(policy: dict[str, Any]) -> int:
    return _int(policy, "numRetries")


def delay(policy: dict[str, Any], k: int) -> float:
    """Seconds between the failure of attempt ``k`` (0 = the first delivery) and retry ``k``+1."""
    low = float(_int(policy, "minDelayTarget"))
    high = max(low, float(_int(policy, "maxDelayTarget")))
    retry = k + 1
    no_delay = _int(policy, "numNoDelayRetries")
    at_min = _int(policy, "numMinDelayRetries")
    at_max = _int(policy, "numMaxDelayRetries")
    backoff = max(0, num_retries(policy) - no_delay - at_min - at_max)
    if retry <= no_delay:
        return 0.0
    if retry <= no_delay + at_min:
        return low
    step = retry - no_delay - at_min  # 1..backoff inside the backoff phase
    if step > backoff:
        return high
    if backoff == 1 or high == low:
        return high if backoff == 1 else low
    t = (step - 1) / (backoff - 1)  # 0 on the first backoff retry, 1 on the last
    function = str(policy.get("backoffFunction") or "linear").lower()
    if function == "arithmetic":  # delays grow by an increasing step: quadratic
        share = t * t
    elif function == "geometric":  # a constant ratio between consecutive delays
        return low * (high / low) ** t if low > 0 else high * t
    elif function == "exponential":  # slow at first, steep at the end
        share = (2 ** (t * (backoff - 1)) - 1) / (2 ** (backoff - 1) - 1)
    else:  # linear
        share = t
    return low + (high - low) * share
