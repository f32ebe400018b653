"""Overcast's IAM policy language: parsing, validation and evaluation shared by every service.

``policy.py`` holds the documents (``Policy``, ``Statement``) and the evaluation of resource
policies (S3 bucket policies today; identity policies when IAM lands); ``conditions.py`` the
condition operators; ``matching.py`` wildcards and policy variables.
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
