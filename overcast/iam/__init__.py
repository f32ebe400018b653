"""Overcast's IAM policy engine: one for every service.

- ``policy.py``: documents (``Policy``, ``Statement``), validation with AWS's messages, matching
  of one statement and one policy (``Policy.evaluate``/``explain``);
- ``conditions.py``: the condition operators; ``matching.py``: wildcards and policy variables;
- ``evaluation.py``: AWS's evaluation logic across every kind of policy (``authorize``);
- ``reference.py`` + ``data/``: the Service Authorization Reference of the implemented services;
- ``requests.py``: from an API request to the (action, resource, condition keys) checks;
- ``resources.py``: condition keys that need a lookup (``aws:ResourceTag``, LeadingKeys).

``overcast.gateway.authorize`` applies it to every request of an IAM principal
(docs/iam-policies.md).
"""

from overcast.iam.policy import (
    Decision,
    Policy,
    PolicyError,
    Principal,
    RequestInfo,
    evaluate,
)

__all__ = ["Decision", "Policy", "PolicyError", "Principal", "RequestInfo", "evaluate"]
