"""Property: every operation's inputs survive botocore's client serializer and Overcast's parser.

For each service, each protocol botocore speaks for it, and each operation, hypothesis draws
valid parameters (``strategies.input_strategy``), botocore serializes the request exactly as a
client would, and Overcast must detect the protocol, route to the same operation and parse the
same parameters back (after ``roundtrip.normalize``). The default run draws
``OVERCAST_ROUNDTRIP_EXAMPLES`` (3) examples per operation; the ``slow`` variant draws 25.

Genuine limitations are listed in ``EXPECTED_INPUT_FAILURES`` with the reason; anything else
failing fails the test.
"""

from __future__ import annotations

import pytest

from tests.protocol.roundtrip import example_budget, outcome, service_protocols

_DEPRECATED_TWIN = (
    "deprecated: the very same request as its current twin (GetBucketLifecycleConfiguration...), "
    "which the router serves instead"
)
# (service, protocol or "*", operation or "*") -> why that round trip cannot succeed.
EXPECTED_INPUT_FAILURES: dict[tuple[str, str, str], str] = {
    ("s3", "rest-xml", "GetBucketLifecycle"): _DEPRECATED_TWIN,
    ("s3", "rest-xml", "PutBucketLifecycle"): _DEPRECATED_TWIN,
    ("s3", "rest-xml", "GetBucketNotification"): _DEPRECATED_TWIN,
    ("s3", "rest-xml", "PutBucketNotification"): _DEPRECATED_TWIN,
    ("s3", "rest-xml", "ListDirectoryBuckets"): (
        "the same request as ListBuckets (GET /): only the endpoint host (s3express-control) "
        "tells them apart, and the serializer alone does not resolve endpoints"
    ),
}

PAIRS = service_protocols()


def _check(service: str, protocol: str, examples: int) -> None:
    result = outcome("input", service, protocol, examples, EXPECTED_INPUT_FAILURES)
    if result.unexpected:
        lines = "\n".join(f.markdown() for f in result.unexpected)
        pytest.fail(f"{len(result.unexpected)} operations do not round-trip:\n{lines}")


@pytest.mark.parametrize(("service", "protocol"), PAIRS, ids=[f"{s}-{p}" for s, p in PAIRS])
def test_inputs_round_trip(service: str, protocol: str) -> None:
    _check(service, protocol, example_budget())


@pytest.mark.slow
@pytest.mark.parametrize(("service", "protocol"), PAIRS, ids=[f"{s}-{p}" for s, p in PAIRS])
def test_inputs_round_trip_more_examples(service: str, protocol: str) -> None:
    _check(service, protocol, max(25, example_budget()))


def test_expected_failures_name_real_operations() -> None:
    from overcast.protocol.models import service_model
    from tests.protocol.roundtrip import protocols_of
    from tests.protocol.test_roundtrip_outputs import EXPECTED_OUTPUT_FAILURES

    for service, protocol, operation in [*EXPECTED_INPUT_FAILURES, *EXPECTED_OUTPUT_FAILURES]:
        assert protocol == "*" or protocol in protocols_of(service), (service, protocol)
        assert operation == "*" or operation in service_model(service).operation_names, operation
