"""Users and groups through boto3: names, paths, ids, errors, tags, membership, pagination."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam.conftest import ALLOW_S3_READ, error


def test_create_get_user(iam: Any, name: Callable[..., str]) -> None:
    user = name("u")
    created = iam.create_user(UserName=user, Path="/team/", Tags=[{"Key": "k", "Value": "v"}])
    got = iam.get_user(UserName=user)["User"]
    assert got["Arn"] == f"arn:aws:iam::000000000000:user/team/{user}"
    assert got["Path"] == "/team/"
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", got["UserId"])
    assert got["UserId"] == created["User"]["UserId"]
    assert got["Tags"] == [{"Key": "k", "Value": "v"}]


def test_names_are_case_insensitive(iam: Any, name: Callable[..., str]) -> None:
    user = name("Case")
    iam.create_user(UserName=user)
    assert iam.get_user(UserName=user.upper())["User"]["UserName"] == user
    with pytest.raises(ClientError) as info:
        iam.create_user(UserName=user.lower())
    assert error(info) == (
        "EntityAlreadyExists",
        f"User with name {user.lower()} already exists.",
        409,
    )


def test_unknown_user(iam: Any) -> None:
    with pytest.raises(ClientError) as info:
        iam.get_user(UserName="nobody-here")
    assert error(info) == ("NoSuchEntity", "The user with name nobody-here cannot be found.", 404)


def test_invalid_name_and_path(iam: Any) -> None:
    with pytest.raises(ClientError) as info:
        iam.create_user(UserName="bad name")
    assert error(info)[0] == "ValidationError"
    with pytest.raises(ClientError) as info:
        iam.create_user(UserName="okname", Path="no-slashes")
    assert error(info)[0] == "ValidationError"


def test_get_user_without_name_is_the_caller(iam: Any) -> None:
    user = iam.get_user()["User"]
    assert user["Arn"] == "arn:aws:iam::000000000000:root"
    assert user["UserId"] == "000000000000"
    assert "UserName" not in user


def test_list_users_paginates_and_filters_by_path(iam: Any, name: Callable[..., str]) -> None:
    path = f"/{name('p')}/"
    users = sorted(name("pg") for _ in range(5))
    for user in users:
        iam.create_user(UserName=user, Path=path)
    first = iam.list_users(PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] is True
    assert [u["UserName"] for u in first["Users"]] == users[:2]
    assert "Tags" not in first["Users"][0]
    second = iam.list_users(PathPrefix=path, MaxItems=2, Marker=first["Marker"])
    assert [u["UserName"] for u in second["Users"]] == users[2:4]
    paginator = iam.get_paginator("list_users")
    seen = [u["UserName"] for p in paginator.paginate(PathPrefix=path) for u in p["Users"]]
    assert seen == users


def test_update_user_renames_everything(iam: Any, name: Callable[..., str]) -> None:
    old, new, group = name("old"), name("new"), name("g")
    iam.create_user(UserName=old)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=old)
    key = iam.create_access_key(UserName=old)["AccessKey"]["AccessKeyId"]
    iam.update_user(UserName=old, NewUserName=new, NewPath="/moved/")
    user = iam.get_user(UserName=new)["User"]
    assert user["Arn"].endswith(f":user/moved/{new}")
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=new)["Groups"]] == [group]
    assert iam.list_access_keys(UserName=new)["AccessKeyMetadata"][0]["AccessKeyId"] == key
    with pytest.raises(ClientError):
        iam.get_user(UserName=old)


def test_delete_user_conflicts(iam: Any, name: Callable[..., str]) -> None:
    user, group = name("del"), name("g")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    with pytest.raises(ClientError) as info:
        iam.delete_user(UserName=user)
    assert error(info) == (
        "DeleteConflict",
        "Cannot delete entity, must delete access keys first.",
        409,
    )
    iam.delete_access_key(UserName=user, AccessKeyId=key)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=ALLOW_S3_READ)
    with pytest.raises(ClientError) as info:
        iam.delete_user(UserName=user)
    assert error(info)[1] == "Cannot delete entity, must delete policies first."
    iam.delete_user_policy(UserName=user, PolicyName="p")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    with pytest.raises(ClientError) as info:
        iam.delete_user(UserName=user)
    assert error(info)[1] == "Cannot delete entity, must remove users from group first."
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_user(UserName=user)
    with pytest.raises(ClientError):
        iam.get_user(UserName=user)


def test_user_tags(iam: Any, name: Callable[..., str]) -> None:
    user = name("t")
    iam.create_user(UserName=user)
    iam.tag_user(UserName=user, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    iam.tag_user(UserName=user, Tags=[{"Key": "a", "Value": "3"}])
    iam.untag_user(UserName=user, TagKeys=["b"])
    assert iam.list_user_tags(UserName=user)["Tags"] == [{"Key": "a", "Value": "3"}]
    with pytest.raises(ClientError) as info:
        iam.tag_user(UserName=user, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert error(info)[0] == "LimitExceeded"


def test_groups_and_membership(iam: Any, name: Callable[..., str]) -> None:
    group, a, b = name("grp"), name("a"), name("b")
    created = iam.create_group(GroupName=group, Path="/g/")["Group"]
    assert re.fullmatch(r"AGPA[A-Z2-7]{17}", created["GroupId"])
    assert created["Arn"] == f"arn:aws:iam::000000000000:group/g/{group}"
    for user in (a, b):
        iam.create_user(UserName=user)
        iam.add_user_to_group(GroupName=group, UserName=user)
    got = iam.get_group(GroupName=group)
    assert sorted(u["UserName"] for u in got["Users"]) == sorted([a, b])
    with pytest.raises(ClientError) as info:
        iam.delete_group(GroupName=group)
    assert error(info) == (
        "DeleteConflict",
        "Cannot delete entity, must remove users from group first.",
        409,
    )
    iam.remove_user_from_group(GroupName=group, UserName=a)
    iam.remove_user_from_group(GroupName=group, UserName=b)
    iam.update_group(GroupName=group, NewGroupName=group + "x")
    assert iam.get_group(GroupName=group + "x")["Group"]["GroupName"] == group + "x"
    iam.delete_group(GroupName=group + "x")
    with pytest.raises(ClientError) as info:
        iam.get_group(GroupName=group + "x")
    assert error(info) == ("NoSuchEntity", f"The group with name {group}x cannot be found.", 404)


def test_add_unknown_user_to_group(iam: Any, name: Callable[..., str]) -> None:
    group = name("g")
    iam.create_group(GroupName=group)
    with pytest.raises(ClientError) as info:
        iam.add_user_to_group(GroupName=group, UserName="ghost-user")
    assert error(info)[0] == "NoSuchEntity"
