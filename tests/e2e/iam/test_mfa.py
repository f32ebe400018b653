"""Virtual MFA devices: seeds and QR codes, enabling with two consecutive TOTP codes computed on
the server's clock, resync, deactivation and deletion."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.services.iam.totp import code_at, step_of
from overcast.testing import ServerProcess
from tests.e2e.iam.conftest import advance, clock_now, error


def codes(server: ServerProcess, seed: str) -> tuple[str, str]:
    """Two consecutive codes as an authenticator app shows them now."""
    step = step_of(clock_now(server))
    return code_at(seed, step - 1), code_at(seed, step)


def enable(iam: Any, user: str, serial: str, first: str, second: str) -> None:
    iam.enable_mfa_device(
        UserName=user, SerialNumber=serial, AuthenticationCode1=first, AuthenticationCode2=second
    )


@pytest.fixture(scope="module")
def own_server() -> Iterator[ServerProcess]:
    """A server of its own: this test moves the clock an hour, which would make every signed
    request of other tests on a shared server look expired."""
    proc = ServerProcess().start()
    yield proc
    proc.stop()


def test_virtual_mfa_lifecycle(own_server: ServerProcess, name: Callable[..., str]) -> None:
    server = own_server
    iam = server.client("iam")
    user, device = name("mu"), name("dev")
    iam.create_user(UserName=user)
    created = iam.create_virtual_mfa_device(
        VirtualMFADeviceName=device, Tags=[{"Key": "k", "Value": "v"}]
    )["VirtualMFADevice"]
    serial = created["SerialNumber"]
    assert serial == f"arn:aws:iam::000000000000:mfa/{device}"
    seed = created["Base32StringSeed"].decode()
    assert len(seed) == 32 and seed.isalnum()
    assert created["QRCodePNG"].startswith(b"\x89PNG\r\n\x1a\n")
    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert serial in {d["SerialNumber"] for d in unassigned}

    with pytest.raises(ClientError) as info:
        enable(iam, user, serial, "000000", "000001")
    assert error(info) == (
        "InvalidAuthenticationCode",
        "Authentication code for device is not valid.",
        403,
    )
    first, second = codes(server, seed)
    with pytest.raises(ClientError) as info:  # not consecutive: the same code twice
        enable(iam, user, serial, second, second)
    assert error(info)[0] == "InvalidAuthenticationCode"
    enable(iam, user, serial, first, second)
    devices = iam.list_mfa_devices(UserName=user)["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [serial]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    mine = next(d for d in assigned if d["SerialNumber"] == serial)
    assert mine["User"]["UserName"] == user
    assert iam.get_mfa_device(SerialNumber=serial)["UserName"] == user
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "k", "Value": "v"}]
    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "k2", "Value": "v2"}])
    iam.untag_mfa_device(SerialNumber=serial, TagKeys=["k"])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "k2", "Value": "v2"}]

    # Codes follow the shared clock: an hour later, the old codes no longer resync.
    advance(server, 3600)
    with pytest.raises(ClientError):
        iam.resync_mfa_device(UserName=user, SerialNumber=serial,
                              AuthenticationCode1=first, AuthenticationCode2=second)  # fmt: skip
    new_first, new_second = codes(server, seed)
    iam.resync_mfa_device(
        UserName=user, SerialNumber=serial,
        AuthenticationCode1=new_first, AuthenticationCode2=new_second,
    )  # fmt: skip

    with pytest.raises(ClientError) as info:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert error(info)[0] == "DeleteConflict"
    with pytest.raises(ClientError) as info:
        iam.delete_user(UserName=user)
    assert error(info)[0] == "DeleteConflict"
    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    with pytest.raises(ClientError) as info:
        iam.get_mfa_device(SerialNumber=serial)
    assert error(info)[0] == "NoSuchEntity"


def test_duplicate_device_name(iam: Any, name: Callable[..., str]) -> None:
    device = name("dup")
    iam.create_virtual_mfa_device(VirtualMFADeviceName=device)
    with pytest.raises(ClientError) as info:
        iam.create_virtual_mfa_device(VirtualMFADeviceName=device)
    assert error(info)[0] == "EntityAlreadyExists"
