"""STS credentials survive their trip through the store's JSON documents unchanged."""

from __future__ import annotations

import json

from overcast.gateway.auth.credentials import Credential, PrincipalInfo, SessionInfo
from overcast.services.sts.sessions import _from_doc, _to_doc, key_id


def test_session_credentials_round_trip() -> None:
    session = SessionInfo(
        kind="assumed-role",
        name="s1",
        issued_at=100.0,
        expires_at=1000.0,
        policies=('{"Version": "2012-10-17"}',),
        tags={"project": "apollo"},
        transitive_tag_keys=("project",),
        source_identity="alice",
        mfa=True,
        mfa_authenticated_at=90.0,
        chained=True,
        federated_provider="arn:aws:iam::1:oidc-provider/x",
        web_identity={"x:sub": "u"},
    )
    credential = Credential(
        access_key=key_id("ASIA"),
        secret_key="s",
        account_id="111122223333",
        principal_arn="arn:aws:sts::111122223333:assumed-role/r/s1",
        session_token="t",
        expires_at=1000.0,
        principal=PrincipalInfo(
            kind="assumed-role",
            arn="arn:aws:sts::111122223333:assumed-role/r/s1",
            user_id="AROAEXAMPLE:s1",
            name="r",
            source_arn="arn:aws:iam::111122223333:role/r",
            tags={"project": "apollo"},
            session=session,
        ),
    )
    assert _from_doc(json.loads(json.dumps(_to_doc(credential)))) == credential
    root = Credential("ASIAROOT", "s", "1", "arn:aws:iam::1:root", "t", 5.0)
    assert _from_doc(json.loads(json.dumps(_to_doc(root)))) == root
    assert len(credential.access_key) == 20 and credential.access_key.startswith("ASIA")
