"""IAM: users, groups, roles, policies, access keys and the rest of the identity directory."""
