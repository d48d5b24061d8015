"""Saved states as JSON: data only, never code.

Two kinds of state are saved and read back later: the audit's replay state (``ledger audit
--state FILE`` and the provincial follower), so the next run continues from there, and the
aggregate states of the ledger's snapshots (:mod:`ledger.snapshots`). Whoever reads them may
distrust whoever wrote them (an auditor the operator, a process the database), so reading must
run nothing the saved data says: it is JSON with a small set of tags, not ``pickle``:

* JSON's own values stand for themselves; a list is a JSON array;
* ``{"$tuple": [...]}``, ``{"$set": [...]}``, ``{"$frozenset": [...]}``,
  ``{"$dict": [[key, value], ...]}`` (keys of any type), ``{"$defaultdict": factory, "items":
  [...]}`` (factory one of ``int``, ``list``, ``set``, ``dict``);
* ``{"$bytes": hex}``, ``{"$uuid": text}``, ``{"$datetime": ISO 8601}``, ``{"$key": base64}``
  (an Ed25519 public key);
* ``{"$object": "module:Class", "fields": {...}}`` for the replay's own state classes. Decoding
  only ever creates instances of the state classes the reader admits (the audit: the ledger's
  model, trust directory, Merkle tree and replay modules; a snapshot: the model only), and sets
  their fields; it calls no constructor, and no other code than a state class's own
  ``__setstate__`` (marked ``"setstate": true``).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from .errors import StorageError
from .signing import VerifyingKey

MODEL_PACKAGE = "ledger.model."
REPLAY_MODULES = frozenset({"ledger.trust", "ledger.log.merkle", "ledger.audit.replay"})
_FACTORIES: dict[str, type] = {"int": int, "list": list, "set": set, "dict": dict}


class StateCodecError(StorageError):
    """A saved state that cannot be written or read as the codec's JSON."""


def dumps_state(value: object, *, modules: frozenset[str] = REPLAY_MODULES) -> bytes:
    """``value`` as UTF-8 JSON; its objects must be of classes in the model or ``modules``."""
    encoded = _encode(value, modules)
    return json.dumps(encoded, separators=(",", ":"), allow_nan=False).encode("utf-8")


def loads_state(data: bytes, *, modules: frozenset[str] = REPLAY_MODULES) -> Any:
    """The value :func:`dumps_state` wrote; refuses anything outside the codec's tags and any
    object of a class outside the model and ``modules`` (none: the model alone)."""
    try:
        return _decode(json.loads(data.decode("utf-8")), modules)
    except StateCodecError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        raise StateCodecError(f"not a saved state: {type(error).__name__}: {error}") from None


def _allowed_module(name: str, modules: frozenset[str]) -> bool:
    return name in modules or name.startswith(MODEL_PACKAGE)


def _encode(value: object, modules: frozenset[str]) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StateCodecError(f"a saved state holds a non-finite number: {value}")
        return value
    if isinstance(value, list):
        return [_encode(v, modules) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, modules) for v in value]}
    if isinstance(value, (set, frozenset)):
        tag = "$set" if isinstance(value, set) else "$frozenset"
        members = [_encode(v, modules) for v in value]
        return {tag: sorted(members, key=lambda m: json.dumps(m, sort_keys=True))}
    if isinstance(value, defaultdict):
        factory = next((n for n, f in _FACTORIES.items() if value.default_factory is f), None)
        if factory is None:
            raise StateCodecError(f"a defaultdict of {value.default_factory!r} cannot be saved")
        return {"$defaultdict": factory, "items": _pairs(value, modules)}
    if isinstance(value, dict):
        return {"$dict": _pairs(value, modules)}
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, UUID):
        return {"$uuid": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, VerifyingKey):
        return {"$key": value.to_base64()}
    return _encode_object(value, modules)


def _pairs(mapping: dict[Any, Any], modules: frozenset[str]) -> list[list[Any]]:
    return [[_encode(k, modules), _encode(v, modules)] for k, v in mapping.items()]


def _encode_object(value: object, modules: frozenset[str]) -> dict[str, Any]:
    cls = type(value)
    if not _allowed_module(cls.__module__, modules):
        raise StateCodecError(f"a saved state may not hold {cls.__module__}.{cls.__qualname__}")
    own_state = value.__getstate__() if "__setstate__" in cls.__dict__ else None
    if isinstance(own_state, dict):
        fields: dict[str, Any] = own_state
    else:
        fields = dict(getattr(value, "__dict__", {}))
        for klass in cls.__mro__:
            for name in klass.__dict__.get("__slots__", ()):
                if hasattr(value, name):
                    fields[name] = getattr(value, name)
    encoded: dict[str, Any] = {
        "$object": f"{cls.__module__}:{cls.__qualname__}",
        "fields": {name: _encode(v, modules) for name, v in fields.items()},
    }
    if own_state is fields:
        encoded["setstate"] = True
    return encoded


def _decode(value: Any, modules: frozenset[str]) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(v, modules) for v in value]
    if not isinstance(value, dict) or not value:
        raise StateCodecError(f"unexpected JSON value in a saved state: {value!r:.80}")
    tag = next(iter(value))
    body = value[tag]
    if tag == "$tuple":
        return tuple(_decode(v, modules) for v in body)
    if tag == "$set":
        return {_decode(v, modules) for v in body}
    if tag == "$frozenset":
        return frozenset(_decode(v, modules) for v in body)
    if tag == "$dict":
        return {_decode(k, modules): _decode(v, modules) for k, v in body}
    if tag == "$defaultdict":
        restored: defaultdict[Any, Any] = defaultdict(_FACTORIES[body])
        restored.update((_decode(k, modules), _decode(v, modules)) for k, v in value["items"])
        return restored
    if tag == "$bytes":
        return bytes.fromhex(body)
    if tag == "$uuid":
        return UUID(body)
    if tag == "$datetime":
        return datetime.fromisoformat(body)
    if tag == "$key":
        return VerifyingKey.from_base64(body)
    if tag == "$object":
        setstate = value.get("setstate") is True
        return _decode_object(body, value["fields"], modules, setstate=setstate)
    raise StateCodecError(f"unknown tag {tag!r} in a saved state")


def _decode_object(
    name: str, fields: dict[str, Any], modules: frozenset[str], *, setstate: bool
) -> object:
    module_name, _, qualname = name.partition(":")
    if not _allowed_module(module_name, modules) or not qualname.isidentifier():
        raise StateCodecError(f"a saved state may not create {name}")
    cls = getattr(importlib.import_module(module_name), qualname, None)
    if not isinstance(cls, type) or cls.__module__ != module_name:
        raise StateCodecError(f"a saved state names no state class {name}")
    instance: Any = object.__new__(cls)
    decoded = {str(k): _decode(v, modules) for k, v in fields.items()}
    if setstate and "__setstate__" in cls.__dict__:
        instance.__setstate__(decoded)
        return instance
    if dataclasses.is_dataclass(cls):  # a field added since the state was saved: its default
        for field in dataclasses.fields(cls):
            if field.name not in decoded and field.default is not dataclasses.MISSING:
                decoded[field.name] = field.default
            elif field.name not in decoded and field.default_factory is not dataclasses.MISSING:
                decoded[field.name] = field.default_factory()
    for field_name, field_value in decoded.items():
        object.__setattr__(instance, field_name, field_value)
    return instance
