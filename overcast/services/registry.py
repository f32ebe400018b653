"""Which services Overcast implements natively, and their providers, loaded on first use.

``NATIVE`` is the one explicit list: botocore service name -> "module:Class". A provider is
imported and built the first time a request reaches its service, and its method names are then
checked against the service model so that a misspelt operation fails loudly instead of answering
NotImplemented forever.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING

from overcast.protocol.models import service_model

if TYPE_CHECKING:
    from overcast.services.base import Provider, ServiceEnv

NATIVE: dict[str, str] = {
    "s3": "overcast.services.s3.provider:S3Provider",
    "s3control": "overcast.services.s3control.provider:S3ControlProvider",
    "sts": "overcast.services.sts.provider:StsProvider",
    "ec2": "overcast.services.ec2.provider:Ec2Provider",
    "cloudwatch": "overcast.services.cloudwatch.provider:CloudWatchProvider",
    "lambda": "overcast.services.lambda_.provider:LambdaProvider",
    "sqs": "overcast.services.sqs.provider:SqsProvider",
    "sns": "overcast.services.sns.provider:SnsProvider",
    "dynamodb": "overcast.services.dynamodb.provider:DynamoDBProvider",
    "dynamodbstreams": "overcast.services.dynamodbstreams.provider:DynamoDBStreamsProvider",
    "iam": "overcast.services.iam.provider:IamProvider",
}


# Providers with background work that must resume after a restart (SNS: deliveries and HTTP
# retries armed on the clock; DynamoDB: the TTL sweeper, export and import jobs). The gateway
# loads them shortly after startup when their service has state in the store, instead of
# waiting for their first request.
BACKGROUND: frozenset[str] = frozenset({"sns", "dynamodb", "s3"})


class ProviderError(Exception):
    """A provider does not match its service model (a bug in Overcast, not in the request)."""


def operation_methods(provider_cls: type) -> dict[str, str]:
    """Map operation name -> method name for each operation the provider implements.

    Raises ProviderError for a public method that names no operation of the service model.
    """
    from botocore import xform_name

    model = service_model(provider_cls.service)
    by_method = {xform_name(op): op for op in model.operation_names}
    found: dict[str, str] = {}
    for attr in dir(provider_cls):
        if attr.startswith("_") or attr in _PROVIDER_BASE_ATTRS:
            continue
        if not callable(getattr(provider_cls, attr)):
            continue
        op = by_method.get(attr)
        if op is None:
            raise ProviderError(
                f"{provider_cls.__name__}.{attr} is not an operation of {provider_cls.service}"
            )
        found[op] = attr
    return found


# Provider attributes that are not operations: lifecycle and the gateway's hooks (see base.py).
_PROVIDER_BASE_ATTRS = frozenset(
    {"reset", "start", "stop", "env", "service", "intercept", "decorate_response"}
)


class ServiceRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._providers: dict[str, Provider] = {}
        self._methods: dict[str, dict[str, str]] = {}
        self.env: ServiceEnv | None = None

    @staticmethod
    def is_native(service: str) -> bool:
        return service in NATIVE

    def state(self, service: str) -> str:
        """LocalStack's vocabulary: 'available' until first use, then 'running'."""
        if service not in NATIVE:
            return "not implemented"
        return "running" if service in self._providers else "available"

    def provider(self, service: str) -> Provider | None:
        provider = self._providers.get(service)
        if provider is not None or service not in NATIVE:
            return provider
        with self._lock:
            provider = self._providers.get(service)
            if provider is None:
                cls = load_provider_class(service)
                self._methods[service] = operation_methods(cls)
                assert self.env is not None, "registry used before the environment was attached"
                provider = cls(self.env)
                self._providers[service] = provider
        return provider

    def method_name(self, service: str, operation: str) -> str | None:
        return self._methods.get(service, {}).get(operation)

    def loaded(self) -> list[Provider]:
        return list(self._providers.values())


def load_provider_class(service: str) -> type[Provider]:
    module_name, _, class_name = NATIVE[service].partition(":")
    return getattr(importlib.import_module(module_name), class_name)
