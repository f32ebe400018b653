"""The pytest plugin (run in inner pytest sessions with pytester) and ``overcast.running()``."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest

import overcast
from overcast.testing import ServerProcess

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _no_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_") or name == "OVERCAST_URL":
            monkeypatch.delenv(name)


def test_plugin_is_registered_and_starts_nothing_unless_asked(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import overcast.testing

        def refuse(self, *args, **kwargs):
            raise AssertionError("a server was started")

        overcast.testing.ServerProcess.start = refuse
        """
    )
    pytester.makepyfile("def test_plain():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    help_text = pytester.runpytest_subprocess("--help")
    help_text.stdout.fnmatch_lines(["*--overcast-url*"])


def test_fixtures_share_one_server_reset_and_set_the_environment(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import os
        import boto3
        import pytest

        ENDPOINTS = set()

        def test_env_points_the_sdks_at_overcast(overcast_env):
            assert os.environ["AWS_ENDPOINT_URL"] == overcast_env.endpoint
            assert os.environ["AWS_ACCESS_KEY_ID"] == "test"
            boto3.client("s3").create_bucket(Bucket="kept")
            ENDPOINTS.add(overcast_env.endpoint)

        def test_same_server_for_the_session(overcast):
            names = [b["Name"] for b in overcast.client("s3").list_buckets()["Buckets"]]
            assert names == ["kept"]
            ENDPOINTS.add(overcast.endpoint)
            assert len(ENDPOINTS) == 1

        def test_environment_is_restored_after_the_test():
            assert "AWS_ENDPOINT_URL" not in os.environ

        @pytest.mark.overcast_reset
        def test_marker_wipes_state(overcast):
            assert overcast.client("s3").list_buckets()["Buckets"] == []
            overcast.client("s3").create_bucket(Bucket="again")

        def test_reset_fixture_wipes_state(overcast_reset):
            assert overcast_reset.client("s3").list_buckets()["Buckets"] == []
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_overcast_url_uses_a_running_server(
    pytester: pytest.Pytester, server: ServerProcess
) -> None:
    pytester.makepyfile(
        f"""
        def test_uses_the_given_server(overcast):
            assert overcast.endpoint == "{server.endpoint}"
            assert overcast.process is None
            overcast.client("sqs").create_queue(QueueName="from-plugin-url")
        """
    )
    result = pytester.runpytest_subprocess("--overcast-url", server.endpoint)
    result.assert_outcomes(passed=1)
    urls = server.client("sqs").list_queues(QueueNamePrefix="from-plugin-url")["QueueUrls"]
    assert len(urls) == 1
    assert server.healthy()  # the plugin did not stop a server it did not start


def test_overcast_url_that_does_not_answer_is_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(overcast):\n    pass\n")
    result = pytester.runpytest_subprocess("--overcast-url", "http://127.0.0.1:9")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no Overcast server answers at http://127.0.0.1:9*"])


def test_one_server_per_xdist_worker(pytester: pytest.Pytester, tmp_path: Path) -> None:
    out = tmp_path / "endpoints"
    out.mkdir()
    pytester.makepyfile(
        f"""
        from pathlib import Path

        def test_record(overcast, worker_id):
            overcast.client("sqs").create_queue(QueueName="q-" + worker_id)
            queues = overcast.client("sqs").list_queues()["QueueUrls"]
            assert len(queues) == 1  # a worker never sees another's state
            Path({str(out)!r}, worker_id).write_text(overcast.endpoint)
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "--dist", "each", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    endpoints = {p.read_text() for p in out.iterdir()}
    assert len(endpoints) == 2


def test_running_context_manager_points_the_sdks_at_a_new_server() -> None:
    with overcast.running() as cloud:
        assert os.environ["AWS_ENDPOINT_URL"] == cloud.endpoint
        cloud.client("s3").create_bucket(Bucket="ctx")
        assert [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]] == ["ctx"]
        cloud.reset()
        assert boto3.client("s3").list_buckets()["Buckets"] == []
        process = cloud.process
    assert "AWS_ENDPOINT_URL" not in os.environ
    assert process is not None and process.process is None  # stopped


def test_running_as_a_decorator() -> None:
    seen: list[str] = []

    @overcast.running()
    def uses_default_clients() -> None:
        url = boto3.client("sqs").create_queue(QueueName="decorated")["QueueUrl"]
        seen.append(url)

    uses_default_clients()
    uses_default_clients()  # a fresh server each call: the same queue is created anew
    assert len(seen) == 2 and all(url.endswith("/000000000000/decorated") for url in seen)
    assert "AWS_ENDPOINT_URL" not in os.environ


def test_overcast_args_from_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\novercast_args = --moto-compat\n")
    pytester.makepyfile(
        """
        def test_moto_account(overcast):
            url = overcast.client("sqs").create_queue(QueueName="q")["QueueUrl"]
            assert "/123456789012/q" in url
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
