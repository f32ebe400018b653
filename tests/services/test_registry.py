"""Every native provider matches its service model, and docs/status.md matches the providers."""

from __future__ import annotations

from pathlib import Path

import pytest

from overcast.services.base import Provider
from overcast.services.coverage import render
from overcast.services.registry import NATIVE, ProviderError, load_provider_class, operation_methods

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", sorted(NATIVE))
def test_provider_methods_are_operations(service: str) -> None:
    cls = load_provider_class(service)
    assert cls.service == service
    assert operation_methods(cls), f"{service} implements no operation"


def test_a_misspelt_operation_fails_loudly() -> None:
    class Broken(Provider):
        service = "sts"

        def get_caller_identiti(self) -> None: ...

    with pytest.raises(ProviderError, match="get_caller_identiti"):
        operation_methods(Broken)


def test_status_doc_is_current() -> None:
    assert (ROOT / "docs" / "status.md").read_text() == render(), (
        "docs/status.md is stale: python -m overcast.services.coverage > docs/status.md"
    )
