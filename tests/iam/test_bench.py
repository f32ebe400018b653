"""The enforcement benchmark still runs (a tiny in-process pass)."""

from __future__ import annotations

import pytest

from bench import iam_inprocess


def test_in_process_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert iam_inprocess.main(["--requests", "5", "--rounds", "1", "--condition"]) == 0
    out = capsys.readouterr().out
    assert "iam-user" in out and "Python calls/request" in out
