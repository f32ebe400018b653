"""smithy-rpc-v2-cbor: the operation is named by the path, the input is one CBOR map."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import cbor2

from overcast.errors import SerializationException
from overcast.protocol.parsers.base import BadScalar, OperationCache, request_body
from overcast.protocol.parsers.json import RpcPlan, fill_host_labels

if TYPE_CHECKING:
    from botocore.model import OperationModel

    from overcast.protocol.http import HttpRequest


def decode_cbor(body: bytes) -> Any:
    """Decode a CBOR body; an empty body is an empty map."""
    if not body:
        return {}
    try:
        return cbor2.loads(body)
    except Exception as exc:  # cbor2 raises several types (CBORDecodeError, ValueError...)
        raise SerializationException(f"Unable to parse request body as CBOR: {exc}") from None


class CborRequestParser:
    def __init__(self) -> None:
        self._plans: OperationCache[RpcPlan] = OperationCache(lambda op: RpcPlan(op, True))

    def parse(
        self,
        request: HttpRequest,
        operation: OperationModel,
        uri_params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        plan = self._plans.get(operation)
        if plan.convert is None:
            return {}
        document = decode_cbor(request_body(request, plan.compressed, SerializationException))
        try:
            params = plan.convert(document)
        except BadScalar as exc:
            raise SerializationException(str(exc)) from None
        fill_host_labels(params, request, plan.host_pattern, plan.host_labels)
        return params
