"""The HTTP(S) retry schedule a delivery policy describes (retry.py)."""

from __future__ import annotations

import json

import pytest

from overcast.services.sns import retry


def _schedule(**policy: object) -> list[float]:
    p = {**retry.DEFAULT_HEALTHY, **policy}
    return [retry.delay(p, k) for k in range(retry.num_retries(p))]


def test_default_policy_is_three_retries_twenty_seconds_apart() -> None:
    assert _schedule() == [20.0, 20.0, 20.0]


def test_phases_in_order() -> None:
    delays = _schedule(numRetries=8, numNoDelayRetries=2, numMinDelayRetries=1,
                       numMaxDelayRetries=2, minDelayTarget=5, maxDelayTarget=45)  # fmt: skip
    # immediate x2, min x1, backoff x3 (5 -> 45, linear), max x2
    assert delays == [0.0, 0.0, 5.0, 5.0, 25.0, 45.0, 45.0, 45.0]


@pytest.mark.parametrize("function", ["linear", "arithmetic", "geometric", "exponential"])
def test_backoff_functions_rise_from_min_to_max(function: str) -> None:
    delays = _schedule(numRetries=6, minDelayTarget=2, maxDelayTarget=64,
                       backoffFunction=function)  # fmt: skip
    assert delays[0] == pytest.approx(2) and delays[-1] == pytest.approx(64)
    assert delays == sorted(delays)


def test_backoff_shapes_differ() -> None:
    mid = {f: _schedule(numRetries=5, minDelayTarget=2, maxDelayTarget=32, backoffFunction=f)[2]
           for f in ("linear", "arithmetic", "geometric", "exponential")}  # fmt: skip
    assert mid["linear"] == 17.0
    assert mid["arithmetic"] < mid["linear"] and mid["geometric"] < mid["linear"]
    assert mid["exponential"] < mid["linear"]


def test_subscription_overrides_topic_unless_disabled() -> None:
    topic = {
        "DeliveryPolicy": json.dumps(
            {"http": {"defaultHealthyRetryPolicy": {"numRetries": 7, "minDelayTarget": 3}}}
        )
    }
    sub = {"DeliveryPolicy": json.dumps({"healthyRetryPolicy": {"numRetries": 1}})}
    policy = retry.healthy_policy(topic, sub)
    assert policy["numRetries"] == 1 and policy["minDelayTarget"] == 3
    locked = {
        "DeliveryPolicy": json.dumps(
            {
                "http": {
                    "defaultHealthyRetryPolicy": {"numRetries": 7},
                    "disableSubscriptionOverrides": True,
                }
            }
        )
    }
    assert retry.healthy_policy(locked, sub)["numRetries"] == 7
    assert retry.healthy_policy({}, {}) == retry.DEFAULT_HEALTHY
