"""STS end to end: caller identities, AssumeRole (trust policies, ExternalId, session policies,
session tags, duration limits, role chaining), GetSessionToken with MFA, GetFederationToken,
temporary credentials expiring on the shared clock and surviving a restart."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.services.iam import totp
from overcast.testing import ServerProcess
from tests.iam.helpers import (
    ACCOUNT,
    allow,
    doc,
    error_code,
    error_message,
    from_sts,
    new_role,
    new_user,
    own_server,
    unique,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from own_server(tmp_path_factory)


def trusting(arn: str, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole", **extra}


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def advance(server: ServerProcess, seconds: float) -> None:
    requests.post(f"{server.endpoint}/_overcast/clock", json={"advance": seconds}, timeout=10)


@pytest.fixture
def queue_url(server: ServerProcess) -> str:
    url: str = server.client("sqs").create_queue(QueueName=unique("q"))["QueueUrl"]
    return url


def test_caller_identity_of_each_kind_of_principal(server: ServerProcess) -> None:
    name, creds = new_user(server, allow("sts:*"))
    me = server.client("sts", **creds).get_caller_identity()
    assert me["Arn"] == user_arn(name) and me["UserId"].startswith("AIDA")
    role = new_role(server, trusting(user_arn(name)))
    session = server.client("sts", **creds).assume_role(RoleArn=role, RoleSessionName="s1")
    assert session["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.rsplit('/', 1)[-1]}/s1"
    )
    assumed = server.client("sts", **from_sts(session["Credentials"])).get_caller_identity()
    assert assumed["Arn"] == session["AssumedRoleUser"]["Arn"]
    assert assumed["UserId"].startswith("AROA") and assumed["UserId"].endswith(":s1")
    assert assumed["UserId"] == session["AssumedRoleUser"]["AssumedRoleId"]
    root = server.client("sts").get_caller_identity()
    assert root == {**root, "Arn": f"arn:aws:iam::{ACCOUNT}:root", "UserId": ACCOUNT}


def test_assume_role_needs_the_trust_policy(server: ServerProcess) -> None:
    name, creds = new_user(server, allow("sts:AssumeRole"))
    _, other = new_user(server, allow("sts:AssumeRole"))
    role = new_role(server, trusting(user_arn(name)))
    server.client("sts", **creds).assume_role(RoleArn=role, RoleSessionName="ok")
    with pytest.raises(ClientError) as exc:
        server.client("sts", **other).assume_role(RoleArn=role, RoleSessionName="no")
    assert error_code(exc) == "AccessDenied"
    assert f"not authorized to perform: sts:AssumeRole on resource: {role}" in error_message(exc)


def test_trust_policy_naming_the_user_needs_no_identity_policy(server: ServerProcess) -> None:
    # Same account: a resource-based policy (the trust policy) naming the user is enough.
    name, creds = new_user(server)
    role = new_role(server, trusting(user_arn(name)))
    server.client("sts", **creds).assume_role(RoleArn=role, RoleSessionName="direct")
    # Naming the account delegates to IAM: then the identity policy must allow.
    account_role = new_role(server, trusting(f"arn:aws:iam::{ACCOUNT}:root"))
    with pytest.raises(ClientError):
        server.client("sts", **creds).assume_role(RoleArn=account_role, RoleSessionName="sx")


def test_external_id_condition(server: ServerProcess) -> None:
    name, creds = new_user(server, allow("sts:AssumeRole"))
    condition = {"StringEquals": {"sts:ExternalId": "secret-42"}}
    role = new_role(server, trusting(user_arn(name), Condition=condition))
    sts = server.client("sts", **creds)
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=role, RoleSessionName="no-id")
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=role, RoleSessionName="bad-id", ExternalId="secret-41")
    sts.assume_role(RoleArn=role, RoleSessionName="good", ExternalId="secret-42")


def test_role_permissions_and_session_policy_intersection(
    server: ServerProcess, queue_url: str
) -> None:
    name, creds = new_user(server, allow("sts:AssumeRole"))
    role = new_role(server, trusting(user_arn(name)), allow("sqs:*"))
    sts = server.client("sts", **creds)
    full = from_sts(sts.assume_role(RoleArn=role, RoleSessionName="full")["Credentials"])
    server.client("sqs", **full).send_message(QueueUrl=queue_url, MessageBody="1")
    server.client("sqs", **full).receive_message(QueueUrl=queue_url)
    with pytest.raises(ClientError):  # the user itself may not use SQS
        server.client("sqs", **creds).send_message(QueueUrl=queue_url, MessageBody="x")
    answer = sts.assume_role(
        RoleArn=role, RoleSessionName="narrow", Policy=doc(allow("sqs:SendMessage"))
    )
    assert 0 < answer["PackedPolicySize"] <= 100
    narrow = from_sts(answer["Credentials"])
    server.client("sqs", **narrow).send_message(QueueUrl=queue_url, MessageBody="2")
    with pytest.raises(ClientError) as exc:
        server.client("sqs", **narrow).receive_message(QueueUrl=queue_url)
    assert "because no session policy allows the sqs:ReceiveMessage action" in error_message(exc)


def test_session_policy_must_be_valid(server: ServerProcess) -> None:
    name, creds = new_user(server, allow("sts:AssumeRole"))
    role = new_role(server, trusting(user_arn(name)))
    with pytest.raises(ClientError) as exc:
        server.client("sts", **creds).assume_role(
            RoleArn=role, RoleSessionName="bad", Policy='{"Version": "2012-10-17"}'
        )
    assert error_code(exc) == "MalformedPolicyDocument"


def test_duration_limits_and_role_chaining(server: ServerProcess) -> None:
    name, creds = new_user(server, allow("sts:AssumeRole"))
    first = new_role(server, trusting(user_arn(name)), allow("sts:AssumeRole"), max_session=7200)
    sts = server.client("sts", **creds)
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=first, RoleSessionName="long", DurationSeconds=7201)
    assert error_code(exc) == "ValidationError"
    assert "MaxSessionDuration" in error_message(exc)
    session = sts.assume_role(RoleArn=first, RoleSessionName="sa", DurationSeconds=7200)
    second = new_role(server, trusting(first), max_session=7200)
    chained = server.client("sts", **from_sts(session["Credentials"]))
    with pytest.raises(ClientError) as exc:
        chained.assume_role(RoleArn=second, RoleSessionName="sb", DurationSeconds=3601)
    assert "1 hour session limit for roles assumed by role chaining" in error_message(exc)
    answer = chained.assume_role(RoleArn=second, RoleSessionName="sb")
    assert answer["AssumedRoleUser"]["Arn"].endswith(f"/{second.rsplit('/', 1)[-1]}/sb")


def test_temporary_credentials_expire_on_the_clock(tmp_path: Any) -> None:
    # Its own server: moving the shared clock would put other tests' signatures out of skew.
    with ServerProcess(log_file=tmp_path / "overcast.log") as server:
        _expire_on_the_clock(server)


def _expire_on_the_clock(server: ServerProcess) -> None:
    name, creds = new_user(server, allow("sts:AssumeRole"))
    role = new_role(server, trusting(user_arn(name)))
    answer = server.client("sts", **creds).assume_role(
        RoleArn=role, RoleSessionName="short", DurationSeconds=900
    )
    session = server.client("sts", **from_sts(answer["Credentials"]))
    session.get_caller_identity()
    advance(server, 901)
    with pytest.raises(ClientError) as exc:
        session.get_caller_identity()
    assert error_code(exc) == "ExpiredToken"
    wrong_token = {**from_sts(answer["Credentials"]), "aws_session_token": "forged"}
    with pytest.raises(ClientError) as exc:
        server.client("sts", **wrong_token).get_caller_identity()
    assert error_code(exc) == "InvalidClientTokenId"


def test_session_tags_need_tag_session_and_become_principal_tags(
    server: ServerProcess, queue_url: str
) -> None:
    name, creds = new_user(server, allow("sts:AssumeRole"))
    tag_condition = {"StringEquals": {"aws:PrincipalTag/project": "apollo"}}
    plain = new_role(server, trusting(user_arn(name)), allow("sqs:*", Condition=tag_condition))
    sts = server.client("sts", **creds)
    tags = [{"Key": "project", "Value": "apollo"}]
    with pytest.raises(ClientError):  # the trust policy does not allow sts:TagSession
        sts.assume_role(RoleArn=plain, RoleSessionName="tagged", Tags=tags)
    taggable = new_role(
        server,
        {**trusting(user_arn(name)), "Action": ["sts:AssumeRole", "sts:TagSession"]},
        allow("sqs:*", Condition=tag_condition),
    )
    tagged = sts.assume_role(RoleArn=taggable, RoleSessionName="tagged", Tags=tags)
    server.client("sqs", **from_sts(tagged["Credentials"])).send_message(
        QueueUrl=queue_url, MessageBody="tagged"
    )
    untagged = sts.assume_role(RoleArn=taggable, RoleSessionName="untagged")
    with pytest.raises(ClientError):
        server.client("sqs", **from_sts(untagged["Credentials"])).send_message(
            QueueUrl=queue_url, MessageBody="untagged"
        )


def test_get_session_token_with_mfa(server: ServerProcess, queue_url: str) -> None:
    mfa_only = allow("sqs:*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    name, creds = new_user(server, mfa_only)
    iam = server.client("iam")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=unique("mfa"))["VirtualMFADevice"]
    seed = device["Base32StringSeed"]
    seed = seed.decode() if isinstance(seed, bytes) else seed
    now = requests.get(f"{server.endpoint}/_overcast/clock", timeout=10).json()["now"]
    step = totp.step_of(now)
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp.code_at(seed, step - 1),
        AuthenticationCode2=totp.code_at(seed, step),
    )
    sts = server.client("sts", **creds)
    with pytest.raises(ClientError) as exc:
        sts.get_session_token(SerialNumber=device["SerialNumber"], TokenCode="000000")
    assert error_code(exc) == "AccessDenied"
    plain = from_sts(sts.get_session_token()["Credentials"])
    with pytest.raises(ClientError):
        server.client("sqs", **plain).send_message(QueueUrl=queue_url, MessageBody="no mfa")
    code = totp.code_at(seed, step)
    with_mfa = sts.get_session_token(SerialNumber=device["SerialNumber"], TokenCode=code)
    mfa_creds = from_sts(with_mfa["Credentials"])
    server.client("sqs", **mfa_creds).send_message(QueueUrl=queue_url, MessageBody="mfa")
    assert server.client("sts", **mfa_creds).get_caller_identity()["Arn"] == user_arn(name)
    with pytest.raises(ClientError) as exc:
        server.client("sts", **mfa_creds).get_session_token()
    assert "session credentials" in error_message(exc)


def test_get_federation_token(server: ServerProcess, queue_url: str) -> None:
    _, creds = new_user(server, allow(["sts:GetFederationToken", "sqs:*"]))
    sts = server.client("sts", **creds)
    bare = sts.get_federation_token(Name="bob")
    assert bare["FederatedUser"] == {
        "FederatedUserId": f"{ACCOUNT}:bob",
        "Arn": f"arn:aws:sts::{ACCOUNT}:federated-user/bob",
    }
    with pytest.raises(ClientError):  # no policy passed: the federated user may do nothing
        server.client("sqs", **from_sts(bare["Credentials"])).send_message(
            QueueUrl=queue_url, MessageBody="x"
        )
    scoped = sts.get_federation_token(Name="carol", Policy=doc(allow("sqs:SendMessage")))
    carol = server.client("sqs", **from_sts(scoped["Credentials"]))
    carol.send_message(QueueUrl=queue_url, MessageBody="y")
    with pytest.raises(ClientError):
        carol.receive_message(QueueUrl=queue_url)
    identity = server.client("sts", **from_sts(scoped["Credentials"])).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:federated-user/carol"


def test_get_access_key_info(server: ServerProcess) -> None:
    _, creds = new_user(server)
    info = server.client("sts").get_access_key_info(AccessKeyId=creds["aws_access_key_id"])
    assert info["Account"] == ACCOUNT


def test_temporary_credentials_survive_a_restart(disk_server: ServerProcess) -> None:
    iam = disk_server.client("iam")
    iam.create_user(UserName="durable")
    iam.put_user_policy(
        UserName="durable", PolicyName="p", PolicyDocument=doc(allow("sts:AssumeRole"))
    )
    key = iam.create_access_key(UserName="durable")["AccessKey"]
    creds = {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }
    role = new_role(disk_server, trusting(user_arn("durable")))
    answer = disk_server.client("sts", **creds).assume_role(RoleArn=role, RoleSessionName="sd")
    disk_server.stop()
    disk_server.start()
    session = disk_server.client("sts", **from_sts(answer["Credentials"]))
    assert session.get_caller_identity()["Arn"] == answer["AssumedRoleUser"]["Arn"]


def test_managed_session_policies(server: ServerProcess, queue_url: str) -> None:
    name, creds = new_user(server, allow("sts:AssumeRole"))
    role = new_role(server, trusting(user_arn(name)), allow("sqs:*"))
    managed = server.client("iam").create_policy(
        PolicyName=unique("send-only"), PolicyDocument=doc(allow("sqs:SendMessage"))
    )["Policy"]["Arn"]
    answer = server.client("sts", **creds).assume_role(
        RoleArn=role, RoleSessionName="managed", PolicyArns=[{"arn": managed}]
    )
    sqs = server.client("sqs", **from_sts(answer["Credentials"]))
    sqs.send_message(QueueUrl=queue_url, MessageBody="ok")
    with pytest.raises(ClientError):
        sqs.receive_message(QueueUrl=queue_url)
    missing = f"arn:aws:iam::{ACCOUNT}:policy/{unique('missing')}"
    with pytest.raises(ClientError) as exc:
        server.client("sts", **creds).assume_role(
            RoleArn=role, RoleSessionName="missing", PolicyArns=[{"arn": missing}]
        )
    assert error_code(exc) == "InvalidParameterValue"


def test_transitive_tags_and_source_identity_follow_role_chains(server: ServerProcess) -> None:
    name, creds = new_user(server, allow("sts:AssumeRole"))
    actions = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
    first = new_role(
        server, {**trusting(user_arn(name)), "Action": actions}, allow("sts:AssumeRole")
    )
    second = new_role(server, {**trusting(first), "Action": actions})
    answer = server.client("sts", **creds).assume_role(
        RoleArn=first,
        RoleSessionName="one",
        Tags=[{"Key": "project", "Value": "apollo"}, {"Key": "stage", "Value": "dev"}],
        TransitiveTagKeys=["project"],
        SourceIdentity="alice@example.com",
    )
    assert answer["SourceIdentity"] == "alice@example.com"
    chained = server.client("sts", **from_sts(answer["Credentials"])).assume_role(
        RoleArn=second, RoleSessionName="two"
    )
    assert chained["SourceIdentity"] == "alice@example.com"
    # The chained session's principal tags carry the transitive tag only.
    tagged = {"StringEquals": {"aws:PrincipalTag/project": "apollo"}}
    untagged = {"Null": {"aws:PrincipalTag/stage": "true"}}
    role_name = second.rsplit("/", 1)[-1]
    server.client("iam").put_role_policy(
        RoleName=role_name,
        PolicyName="probe",
        PolicyDocument=doc(allow("sqs:ListQueues", Condition={**tagged, **untagged})),
    )
    server.client("sqs", **from_sts(chained["Credentials"])).list_queues()


def test_get_caller_identity_needs_no_permission(server: ServerProcess) -> None:
    # AWS: "No permissions are required to perform this operation", even under a Deny of "*".
    name, creds = new_user(server, {"Effect": "Deny", "Action": "*", "Resource": "*"})
    assert server.client("sts", **creds).get_caller_identity()["Arn"] == user_arn(name)
    answer = server.client("sts", **creds).get_session_token()
    temporary = from_sts(answer["Credentials"])
    assert temporary["aws_access_key_id"].startswith("ASIA")
    info = server.client("sts").get_access_key_info(AccessKeyId=temporary["aws_access_key_id"])
    assert info["Account"] == ACCOUNT
