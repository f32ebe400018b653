"""IAM's provider: the union of its operation groups, one module per kind of resource."""

from __future__ import annotations

from overcast.services.base import ServiceEnv
from overcast.services.iam import storage
from overcast.services.iam.access_keys import AccessKeys
from overcast.services.iam.account import Account
from overcast.services.iam.certificates import ServerCertificates
from overcast.services.iam.credential_report import CredentialReport
from overcast.services.iam.entity_policies import EntityPolicies
from overcast.services.iam.groups import Groups
from overcast.services.iam.identity_providers import IdentityProviders
from overcast.services.iam.instance_profiles import InstanceProfiles
from overcast.services.iam.mfa import MfaDevices
from overcast.services.iam.misc import Misc
from overcast.services.iam.organizations import Organizations
from overcast.services.iam.policies import Policies
from overcast.services.iam.roles import Roles
from overcast.services.iam.simulation import Simulation
from overcast.services.iam.user_credentials import UserCredentials
from overcast.services.iam.users import Users


class IamProvider(
    Users,
    Groups,
    Roles,
    Policies,
    EntityPolicies,
    AccessKeys,
    InstanceProfiles,
    MfaDevices,
    IdentityProviders,
    ServerCertificates,
    Account,
    CredentialReport,
    Simulation,
    UserCredentials,
    Misc,
    Organizations,
):
    service = "iam"

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        storage.migrate(env.store)
