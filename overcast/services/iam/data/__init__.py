"""Data shipped with IAM: the AWS managed policies catalogue (``aws_managed_policies.json.gz``)."""
