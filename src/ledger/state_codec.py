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

import contextlib
import dataclasses
import functools
import importlib
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import orjson

from .errors import StorageError
from .signing import VerifyingKey

MODEL_PACKAGE = "ledger.model."
REPLAY_MODULES = frozenset({"ledger.trust", "ledger.log.merkle", "ledger.audit.replay"})
_LONG_NUMBER = re.compile(rb"[0-9]{19}")
_FACTORIES: dict[str, type] = {"int": int, "list": list, "set": set, "dict": dict}


class StateCodecError(StorageError):
    """A saved state that cannot be written or read as the codec's JSON."""


def dumps_state(value: object, *, modules: frozenset[str] = REPLAY_MODULES) -> bytes:
    """``value`` as UTF-8 JSON; its objects must be of classes in the model or ``modules``."""
    encoded = _encode(value, modules)
    try:
        return orjson.dumps(encoded)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, a lone surrogate
        return json.dumps(encoded, separators=(",", ":"), allow_nan=False).encode("utf-8")


def loads_state(data: bytes, *, modules: frozenset[str] = REPLAY_MODULES) -> Any:
    """The value :func:`dumps_state` wrote; refuses anything outside the codec's tags and any
    object of a class outside the model and ``modules`` (none: the model alone)."""
    try:
        return _decode(_parse(data), modules)
    except StateCodecError:
        raise
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        RecursionError,
        ImportError,
    ) as error:
        raise StateCodecError(f"not a saved state: {type(error).__name__}: {error}") from None


def _parse(data: bytes) -> Any:
    """The JSON value of ``data``: by ``orjson``, or by ``json`` where ``orjson`` would not give
    it exactly: an integer of 19 digits or more may be beyond 64 bits, which ``orjson`` reads
    as a float (``json`` as that integer; a string holding such digits takes the same way)."""
    if _LONG_NUMBER.search(data) is None:
        with contextlib.suppress(orjson.JSONDecodeError):
            return orjson.loads(data)
    return json.loads(data.decode("utf-8"))


def _allowed_module(name: str, modules: frozenset[str]) -> bool:
    return name in modules or name.startswith(MODEL_PACKAGE)


# Values that stand for themselves, written and read as they are (a float is checked first).
_PLAIN: frozenset[type] = frozenset({str, int, bool, type(None)})
_JSON_PLAIN: frozenset[type] = _PLAIN | {float}


@dataclass(frozen=True, slots=True)
class _Shape:
    """What encoding or decoding an object of one state class needs, worked out once."""

    cls: type
    name: str  # "module:Qualname"
    setstate: bool  # the class has its own ``__setstate__``
    slots: tuple[str, ...]  # slot names over the class's MRO
    defaults: tuple[tuple[str, Any, Any], ...]  # (field, default, default factory)
    descriptors: frozenset[str]  # names a data descriptor of the class sets
    slotted: bool  # its instances have slots and no ``__dict__``


@functools.lru_cache(maxsize=512)
def _shape(cls: Any, modules: frozenset[str]) -> _Shape:
    if not _allowed_module(cls.__module__, modules):
        raise StateCodecError(f"a saved state may not hold {cls.__module__}.{cls.__qualname__}")
    defaults: tuple[tuple[str, Any, Any], ...] = ()
    if dataclasses.is_dataclass(cls):
        defaults = tuple(
            (f.name, f.default, f.default_factory)
            for f in dataclasses.fields(cls)
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        )
    return _Shape(
        cls,
        f"{cls.__module__}:{cls.__qualname__}",
        "__setstate__" in cls.__dict__,
        tuple(name for klass in cls.__mro__ for name in klass.__dict__.get("__slots__", ())),
        defaults,
        frozenset(
            name
            for klass in cls.__mro__
            for name, member in vars(klass).items()
            if hasattr(member, "__set__") or hasattr(member, "__delete__")
        ),
        all("__slots__" in klass.__dict__ for klass in cls.__mro__[:-1])
        and not any("__dict__" in klass.__dict__.get("__slots__", ()) for klass in cls.__mro__),
    )


@functools.lru_cache(maxsize=512)
def _named_shape(name: str, modules: frozenset[str]) -> _Shape:
    module_name, _, qualname = name.partition(":")
    if not _allowed_module(module_name, modules) or not qualname.isidentifier():
        raise StateCodecError(f"a saved state may not create {name}")
    cls = getattr(importlib.import_module(module_name), qualname, None)
    if not isinstance(cls, type) or cls.__module__ != module_name:
        raise StateCodecError(f"a saved state names no state class {name}")
    return _shape(cls, modules)


def _encode(value: object, modules: frozenset[str]) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list:
        return [v if type(v) in _PLAIN else _encode(v, modules) for v in value]  # type: ignore[attr-defined]
    if kind is dict:
        return {"$dict": _pairs(value, modules)}  # type: ignore[arg-type]
    return _encode_other(value, modules)


def _encode_other(value: object, modules: frozenset[str]) -> Any:
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
    return [
        [
            k if type(k) in _PLAIN else _encode(k, modules),
            v if type(v) in _PLAIN else _encode(v, modules),
        ]
        for k, v in mapping.items()
    ]


_UNSET = object()
_set = object.__setattr__


def _encode_object(value: object, modules: frozenset[str]) -> dict[str, Any]:
    shape = _shape(cast(Any, type(value)), modules)  # typeshed: a type is not Hashable
    if shape.slotted and not shape.setstate:
        fields_of: dict[str, Any] = {}
        for name in shape.slots:
            v = getattr(value, name, _UNSET)
            if v is not _UNSET:
                fields_of[name] = v if type(v) in _PLAIN else _encode(v, modules)
        return {"$object": shape.name, "fields": fields_of}
    own_state = value.__getstate__() if shape.setstate else None
    if isinstance(own_state, dict):
        fields: dict[str, Any] = own_state
    else:
        fields = dict(getattr(value, "__dict__", {}))
        for name in shape.slots:
            slot = getattr(value, name, _UNSET)
            if slot is not _UNSET:
                fields[name] = slot
    encoded: dict[str, Any] = {
        "$object": shape.name,
        "fields": {
            name: v if type(v) in _PLAIN else _encode(v, modules) for name, v in fields.items()
        },
    }
    if own_state is fields:
        encoded["setstate"] = True
    return encoded


def _decode(value: Any, modules: frozenset[str]) -> Any:
    kind = type(value)
    if kind in _JSON_PLAIN:
        return value
    if kind is list:
        return [v if type(v) in _JSON_PLAIN else _decode(v, modules) for v in value]
    if kind is not dict or not value:
        raise StateCodecError(f"unexpected JSON value in a saved state: {value!r:.80}")
    tag = next(iter(value))
    body = value[tag]
    if tag == "$object":
        setstate = value.get("setstate") is True
        return _decode_object(body, value["fields"], modules, setstate=setstate)
    if tag == "$dict":
        return {
            k if type(k) in _JSON_PLAIN else _decode(k, modules): (
                v if type(v) in _JSON_PLAIN else _decode(v, modules)
            )
            for k, v in body
        }
    if tag == "$tuple":
        return tuple(_decode(v, modules) for v in body)
    if tag == "$set":
        return {_decode(v, modules) for v in body}
    if tag == "$frozenset":
        return frozenset(_decode(v, modules) for v in body)
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
    raise StateCodecError(f"unknown tag {tag!r} in a saved state")


def _decode_object(
    name: str, fields: dict[str, Any], modules: frozenset[str], *, setstate: bool
) -> object:
    if type(name) is not str:
        raise StateCodecError(f"a saved state may not create {name!r:.80}")
    shape = _named_shape(name, modules)
    instance: Any = object.__new__(shape.cls)
    if shape.slotted and not (setstate and shape.setstate):
        # Each field set as it is decoded (a name that is no slot of the class is refused).
        for field_name, field_value in fields.items():
            _set(
                instance,
                field_name,
                field_value if type(field_value) in _JSON_PLAIN else _decode(field_value, modules),
            )
        for field_name, default, factory in shape.defaults:  # a field added since it was saved
            if field_name not in fields:
                _set(instance, field_name, default if factory is dataclasses.MISSING else factory())
        return instance
    decoded = {
        str(k): v if type(v) in _JSON_PLAIN else _decode(v, modules) for k, v in fields.items()
    }
    if setstate and shape.setstate:
        instance.__setstate__(decoded)
        return instance
    for field_name, default, factory in shape.defaults:  # a field added since it was saved
        if field_name not in decoded:
            decoded[field_name] = default if factory is dataclasses.MISSING else factory()
    if shape.descriptors.isdisjoint(decoded) and hasattr(instance, "__dict__"):
        instance.__dict__.update(decoded)  # no field is a slot, property or other descriptor
        return instance
    for field_name, field_value in decoded.items():
        object.__setattr__(instance, field_name, field_value)
    return instance
