"""Service models: botocore's JSON data, loaded lazily and indexed for routing.

Nothing here imports botocore at module import time: the server must become healthy in a fraction
of a second, and botocore's model module alone costs ~130 ms. ``service_names()`` only lists
botocore's data folder; ``service_model(name)`` loads and caches one ``botocore.model.ServiceModel``
on first use; ``service_index()`` is the small routing table (signing names, target prefixes,
protocols) of every service, built once per botocore version and cached on disk because building
it reads all ~420 models (about a second).
"""

from __future__ import annotations

import gc
import gzip
import importlib.util
import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.model import ServiceModel

# Folders of botocore/data that are not services.
_NOT_SERVICES = frozenset({"__pycache__"})


@cache
def botocore_data_dir() -> Path:
    spec = importlib.util.find_spec("botocore")
    if spec is None or spec.origin is None:
        raise RuntimeError("botocore is not installed")
    return Path(spec.origin).parent / "data"


@cache
def botocore_version() -> str:
    text = (botocore_data_dir().parent / "__init__.py").read_text()
    for line in text.splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("'\"")
    return "unknown"


@cache
def service_names() -> tuple[str, ...]:
    """Every service botocore has a model for, sorted (cheap: a directory listing)."""
    root = botocore_data_dir()
    names = []
    for entry in os.scandir(root):
        if entry.is_dir() and entry.name not in _NOT_SERVICES and _latest_model_file(entry.name):
            names.append(entry.name)
    return tuple(sorted(names))


def _latest_model_file(service: str) -> Path | None:
    folder = botocore_data_dir() / service
    try:
        versions = sorted(v for v in os.listdir(folder) if not v.startswith("."))
    except OSError:
        return None
    for version in reversed(versions):
        for name in ("service-2.json.gz", "service-2.json"):
            path = folder / version / name
            if path.is_file():
                return path
    return None


def load_model_json(service: str) -> dict[str, Any]:
    """The raw service-2 JSON of a service's newest API version."""
    path = _latest_model_file(service)
    if path is None:
        raise KeyError(service)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return json.loads(raw)


_model_lock = threading.Lock()
_models: dict[str, ServiceModel] = {}


def service_model(service: str) -> ServiceModel:
    """The botocore ServiceModel of ``service`` (loaded once, then cached)."""
    model = _models.get(service)
    if model is not None:
        return model
    with _model_lock:
        model = _models.get(service)
        if model is None:
            from botocore.model import ServiceModel

            model = ServiceModel(load_model_json(service), service_name=service)
            _models[service] = model
            # Loaded for the process's life: keep its objects out of the cyclic GC's scans.
            gc.freeze()
    return model


@dataclass(frozen=True)
class ServiceInfo:
    """What routing needs to know about one service, without loading its model."""

    name: str  # botocore's name: the folder under botocore/data ("sqs", "s3", "dynamodb")
    protocols: tuple[str, ...]  # in the model's order of preference
    signing_name: str
    endpoint_prefix: str
    target_prefix: str | None
    json_version: str | None
    query_compatible: bool
    api_version: str

    @property
    def protocol(self) -> str:
        return self.protocols[0]


def _info_from_metadata(name: str, meta: dict[str, Any]) -> ServiceInfo:
    protocols = tuple(meta.get("protocols") or [meta["protocol"]])
    return ServiceInfo(
        name=name,
        protocols=protocols,
        signing_name=meta.get("signingName") or meta.get("endpointPrefix") or name,
        endpoint_prefix=meta.get("endpointPrefix") or name,
        target_prefix=meta.get("targetPrefix"),
        json_version=meta.get("jsonVersion"),
        query_compatible="awsQueryCompatible" in meta,
        api_version=meta.get("apiVersion", ""),
    )


def _index_cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "overcast" / f"service-index-{botocore_version()}.json"


def _build_index() -> dict[str, ServiceInfo]:
    return {
        name: _info_from_metadata(name, load_model_json(name)["metadata"])
        for name in service_names()
    }


_index_lock = threading.Lock()
_index: dict[str, ServiceInfo] | None = None


def service_index() -> dict[str, ServiceInfo]:
    """Routing facts for every service, keyed by botocore name (cached on disk per version)."""
    global _index
    if _index is not None:
        return _index
    with _index_lock:
        if _index is not None:
            return _index
        path = _index_cache_path()
        index: dict[str, ServiceInfo] | None = None
        try:
            raw = json.loads(path.read_text())
            index = {
                k: ServiceInfo(**{**v, "protocols": tuple(v["protocols"])}) for k, v in raw.items()
            }
            if set(index) != set(service_names()):
                index = None
        except (OSError, ValueError, TypeError, KeyError):
            index = None
        if index is None:
            index = _build_index()
            _write_index(path, index)
        _index = index
    return _index


def _write_index(path: Path, index: dict[str, ServiceInfo]) -> None:
    # A cache only: failing to write it (read-only home) costs a rebuild next start, nothing more.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump({k: asdict(v) for k, v in index.items()}, f)
        os.replace(tmp, path)
    except OSError:
        pass
