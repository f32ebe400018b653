"""Configuration layers (flags > environment > file > defaults) and LocalStack's variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from overcast.config import ConfigError, isolated_environ, resolve
from overcast.settings import StaticKey

BASE = {"XDG_CONFIG_HOME": "/nonexistent/config", "XDG_DATA_HOME": "/nonexistent/data"}


def settings_of(tmp_path: Path, flags: dict | None = None, **env: str):
    return resolve(flags or {}, {**BASE, **env}, tmp_path)


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    config = settings_of(tmp_path)
    s = config.settings
    assert (s.host, s.port, s.extra_listeners) == ("127.0.0.1", 4566, ())
    assert s.data_dir == Path("/nonexistent/data/overcast")
    assert (s.default_account, s.default_region, s.log_level, s.log_format) == (
        "000000000000",
        "us-east-1",
        "info",
        "text",
    )
    assert s.tls and not s.moto_compat and s.iam_mode == "enforce"
    assert s.dynamodb_error_probability == 0.0 and not s.dynamodb_enforce_throughput
    assert Path("/nonexistent/config/overcast/init") in s.init_dirs
    assert set(config.sources.values()) == {"default"}
    assert config.file is None and config.notes == []


def test_every_setting_from_overcast_variables(tmp_path: Path) -> None:
    config = settings_of(
        tmp_path,
        OVERCAST_LISTEN_HOST="0.0.0.0",
        OVERCAST_PORT="5000",
        OVERCAST_LISTEN="127.0.0.1:5001,[::1]:5002",
        OVERCAST_DATA_DIR=str(tmp_path / "d"),
        OVERCAST_ACCOUNT="111122223333",
        OVERCAST_REGION="eu-west-1",
        OVERCAST_LOG_LEVEL="debug",
        OVERCAST_LOG_FORMAT="json",
        OVERCAST_SERVER="hypercorn",
        OVERCAST_DURABILITY="power",
        OVERCAST_CREDENTIALS="AKIDX:secret:444455556666",
        OVERCAST_HOST="cloud.test:4566",
        OVERCAST_TLS="false",
        OVERCAST_MOTO_COMPAT="1",
        OVERCAST_INIT_DIRS=f"{tmp_path}/a,{tmp_path}/b",
        OVERCAST_IAM_MODE="audit",
        OVERCAST_DYNAMODB_ERROR_PROBABILITY="0.25",
        OVERCAST_DYNAMODB_ENFORCE_THROUGHPUT="yes",
    )
    s = config.settings
    assert (s.host, s.port) == ("0.0.0.0", 5000)
    assert s.extra_listeners == (("127.0.0.1", 5001), ("::1", 5002))
    assert s.data_dir == tmp_path / "d"
    assert (s.default_account, s.default_region) == ("111122223333", "eu-west-1")
    assert (s.log_level, s.log_format, s.server, s.synchronous) == (
        "debug",
        "json",
        "hypercorn",
        "FULL",
    )
    assert s.static_keys == (StaticKey("AKIDX", "secret", "444455556666"),)
    assert s.external_host == "cloud.test:4566"
    assert not s.tls and s.moto_compat
    assert s.init_dirs == (tmp_path / "a", tmp_path / "b")
    assert s.iam_mode == "audit"
    assert s.dynamodb_error_probability == 0.25 and s.dynamodb_enforce_throughput
    assert config.sources["port"] == "env OVERCAST_PORT"
    assert all(
        src.startswith("env OVERCAST_") for k, src in config.sources.items() if k != "ephemeral"
    )


def test_flags_beat_environment_which_beats_the_file(tmp_path: Path) -> None:
    (tmp_path / "overcast.toml").write_text(
        'port = 7000\nregion = "ap-south-1"\nlog_level = "warning"\nephemeral = true\n'
    )
    config = settings_of(
        tmp_path,
        {"port": "9000", "ephemeral": None},
        OVERCAST_PORT="8000",
        OVERCAST_REGION="sa-east-1",
    )
    assert config.settings.port == 9000 and config.sources["port"] == "flag --port"
    assert config.settings.default_region == "sa-east-1"
    assert config.sources["region"] == "env OVERCAST_REGION"
    assert config.settings.log_level == "warning"
    assert config.sources["log_level"] == f"file {tmp_path / 'overcast.toml'}"
    assert config.settings.ephemeral and config.file == tmp_path / "overcast.toml"


def test_pyproject_tool_table_when_there_is_no_overcast_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.overcast]\nport = 4600\nlisten = ["127.0.0.1:4601"]\n'
        'init-dirs = ["hooks"]\nmoto_compat = true\n'
    )
    config = settings_of(tmp_path)
    assert config.settings.port == 4600
    assert config.settings.extra_listeners == (("127.0.0.1", 4601),)
    assert config.settings.init_dirs == (tmp_path / "hooks",)  # relative to the file
    # moto's account comes with moto compatibility unless an account was chosen
    assert config.settings.default_account == "123456789012"
    assert config.sources["account"] == "default (moto_compat)"


def test_a_pyproject_without_the_table_is_no_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert settings_of(tmp_path).settings.port == 4566


def test_repeatable_flags_and_negated_booleans(tmp_path: Path) -> None:
    flags = {"listen": ["127.0.0.1:6001", ":6002"], "tls": False, "init_dirs": ["/x", "/y"]}
    config = settings_of(tmp_path, flags)
    assert config.settings.extra_listeners == (("127.0.0.1", 6001), ("127.0.0.1", 6002))
    assert config.settings.init_dirs == (Path("/x"), Path("/y"))
    assert not config.settings.tls and config.sources["tls"] == "flag --no-tls"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OVERCAST_PORT": "http"}, "env OVERCAST_PORT: expected a port number"),
        ({"OVERCAST_PORT": "70000"}, "out of range"),
        ({"OVERCAST_IAM_MODE": "strict"}, "expected one of enforce, audit, off"),
        ({"OVERCAST_TLS": "maybe"}, "expected true or false"),
        ({"OVERCAST_ACCOUNT": "123"}, "12 digits"),
        ({"OVERCAST_DYNAMODB_ERROR_PROBABILITY": "2"}, "between 0 and 1"),
        ({"OVERCAST_CREDENTIALS": "justakey"}, "ACCESS_KEY:SECRET_KEY"),
    ],
)
def test_bad_values_name_their_source(tmp_path: Path, env: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_of(tmp_path, **env)


def test_file_errors_are_clear(tmp_path: Path) -> None:
    (tmp_path / "overcast.toml").write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        settings_of(tmp_path)
    (tmp_path / "overcast.toml").write_text("port = [\n")
    with pytest.raises(ConfigError, match=r"overcast\.toml"):
        settings_of(tmp_path)
    (tmp_path / "overcast.toml").write_text('port = "x"\n')
    with pytest.raises(ConfigError, match=r"file .*overcast.toml: expected a port number"):
        settings_of(tmp_path)


def test_overcast_config_names_the_file_and_use_file_false_skips_it(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text("port = 4700\n")
    (tmp_path / "overcast.toml").write_text("port = 4800\n")
    assert settings_of(tmp_path, OVERCAST_CONFIG=str(other)).settings.port == 4700
    assert resolve({}, BASE, tmp_path, use_file=False).settings.port == 4566
    with pytest.raises(ConfigError, match="no such file"):
        settings_of(tmp_path, OVERCAST_CONFIG=str(tmp_path / "missing.toml"))


# ---------------------------------------------------------------------------------------------
# LocalStack


def test_gateway_listen_sets_host_port_and_extra_listeners(tmp_path: Path) -> None:
    config = settings_of(tmp_path, GATEWAY_LISTEN="0.0.0.0:4567,127.0.0.1:4568")
    s = config.settings
    assert (s.host, s.port, s.extra_listeners) == ("0.0.0.0", 4567, (("127.0.0.1", 4568),))
    assert config.sources["port"] == "env GATEWAY_LISTEN"
    assert any("GATEWAY_LISTEN" in note and "0.0.0.0:4567" in note for note in config.notes)


def test_gateway_listen_loses_to_overcast_variables_and_flags(tmp_path: Path) -> None:
    config = settings_of(
        tmp_path, {"port": "4999"}, GATEWAY_LISTEN=":4567", OVERCAST_LISTEN_HOST="::1"
    )
    assert (config.settings.host, config.settings.port) == ("::1", 4999)


@pytest.mark.parametrize(("value", "ephemeral"), [("0", True), ("1", False), ("true", False)])
def test_persistence(tmp_path: Path, value: str, ephemeral: bool) -> None:
    config = settings_of(tmp_path, PERSISTENCE=value)
    assert config.settings.ephemeral is ephemeral
    assert any(note.startswith(f"LocalStack PERSISTENCE={value}") for note in config.notes)


def test_unset_persistence_keeps_our_default_of_persisting(tmp_path: Path) -> None:
    assert not settings_of(tmp_path, PERSISTENCE="").settings.ephemeral


@pytest.mark.parametrize(
    ("env", "level"),
    [
        ({"DEBUG": "1"}, "debug"),
        ({"DEBUG": "0"}, "info"),
        ({"LS_LOG": "trace"}, "debug"),
        ({"LS_LOG": "warn"}, "warning"),
        ({"LS_LOG": "error", "DEBUG": "1"}, "error"),
        ({"LOCALSTACK_DEBUG": "true"}, "debug"),
    ],
)
def test_debug_and_ls_log(tmp_path: Path, env: dict, level: str) -> None:
    assert settings_of(tmp_path, **env).settings.log_level == level


def test_host_region_and_dynamodb_variables(tmp_path: Path) -> None:
    config = settings_of(
        tmp_path,
        LOCALSTACK_HOST="localhost.localstack.cloud:4566",
        AWS_DEFAULT_REGION="eu-central-1",
        DYNAMODB_ERROR_PROBABILITY="0.5",
    )
    s = config.settings
    assert s.external_host == "localhost.localstack.cloud:4566"
    assert s.default_region == "eu-central-1"
    assert s.dynamodb_error_probability == 0.5
    assert config.sources["external_host"] == "env LOCALSTACK_HOST"
    assert len([n for n in config.notes if n.startswith("LocalStack")]) == 3


def test_iam_variables(tmp_path: Path) -> None:
    assert settings_of(tmp_path, ENFORCE_IAM="1").settings.iam_mode == "enforce"
    assert settings_of(tmp_path, ENFORCE_IAM="0").settings.iam_mode == "off"
    assert settings_of(tmp_path, IAM_SOFT_MODE="1").settings.iam_mode == "audit"


def test_services_is_accepted_and_ignored_with_a_note(tmp_path: Path) -> None:
    config = settings_of(tmp_path, SERVICES="s3,sqs")
    assert any("SERVICES=s3,sqs: ignored" in note for note in config.notes)


def test_unknown_localstack_and_overcast_variables_are_noted(tmp_path: Path) -> None:
    config = settings_of(
        tmp_path,
        LAMBDA_EXECUTOR="docker",
        LOCALSTACK_AUTH_TOKEN="x",
        OVERCAST_PROT="1",
        HOME="/root",
    )
    assert "LocalStack LAMBDA_EXECUTOR: not used by Overcast, ignored" in config.notes
    assert "LocalStack LOCALSTACK_AUTH_TOKEN: not used by Overcast, ignored" in config.notes
    assert "OVERCAST_PROT: not an Overcast setting, ignored" in config.notes
    assert not any("HOME" in note for note in config.notes)


def test_isolated_environ_drops_server_configuration() -> None:
    env = isolated_environ(
        {"OVERCAST_PORT": "1", "PERSISTENCE": "1", "AWS_DEFAULT_REGION": "x", "PATH": "/bin"}
    )
    assert env == {"PATH": "/bin"}


def test_relative_paths_in_a_file_are_relative_to_that_file(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "overcast.toml").write_text('data_dir = "state"\ninit_dirs = ["/abs"]\n')
    config = settings_of(tmp_path, OVERCAST_CONFIG=str(tmp_path / "conf" / "overcast.toml"))
    assert config.settings.data_dir == tmp_path / "conf" / "state"
    assert config.settings.init_dirs == (Path("/abs"),)


def test_settings_endpoint_brackets_an_ipv6_listen_host() -> None:
    from overcast.settings import Settings

    assert Settings(host="::1", port=4566).endpoint == "http://[::1]:4566"
    assert Settings(host="::", port=4566).endpoint == "http://localhost:4566"
    assert Settings(host="127.0.0.1", port=4510).endpoint == "http://127.0.0.1:4510"
