"""The replay's aggregate states, most of them packed into compact bytes.

An audit keeps the state of every aggregate it has replayed, since a later event may touch any of
them: a city's year is hundreds of thousands of volunteers and their accounts. As live objects a
volunteer's state costs about 1,500 bytes (the slotted dataclass, its sets and dicts, the strings
decoded from events); packed, about 210 bytes of data, some 330 with its key and its slot in the
map. :class:`CompactStates` keeps the states the replay touched most recently as live objects
(about ``live`` of them, the ones a command is working on always among them) and packs the
others; reading a packed state unpacks it into a live one again.

Packing writes a state's fields, recursively, as plain values (strings, numbers, tuples, lists,
sets, dicts, bytes) with :mod:`marshal`. Only states of the ledger's model classes whose fields
hold nothing else are packed; any other state stays live, so nothing is ever lost or changed by
packing. The packed bytes never leave the process: a saved replay state holds the states
themselves (see ``ReplayState.__getstate__``), never marshalled bytes, and the state codec cannot
create a :class:`CompactStates`, so reading a saved state never unmarshals anything.
"""

from __future__ import annotations

import dataclasses
import marshal
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from operator import attrgetter
from typing import Any, TypeVar
from uuid import UUID

from ..model.aggregates import AggregateState

LIVE = 20_000
MODEL_PACKAGE = "ledger.model."
_UUID = -1  # the class number that marks a packed UUID
S = TypeVar("S", bound=AggregateState)


class Unpackable(Exception):
    """A value outside what packing writes exactly: the state that holds it stays live."""


class _Layout:
    """The packable classes met so far, each with a number and its fields in order."""

    def __init__(self) -> None:
        self.classes: list[type] = []
        self.fields: list[tuple[str, ...]] = []
        self.number: dict[type, int] = {}

    def of(self, cls: type) -> int:
        number = self.number.get(cls)
        if number is None:
            number = self._admit(cls)
        return number

    def _admit(self, cls: type) -> int:
        if not cls.__module__.startswith(MODEL_PACKAGE) or not dataclasses.is_dataclass(cls):
            raise Unpackable(cls.__qualname__)
        names = tuple(f.name for f in dataclasses.fields(cls))
        slots = {name for klass in cls.__mro__ for name in klass.__dict__.get("__slots__", ())}
        if slots - set(names):
            raise Unpackable(cls.__qualname__)  # an attribute that is not a field
        self.classes.append(cls)
        self.fields.append(names)
        self.number[cls] = len(self.classes) - 1
        return self.number[cls]


_LAYOUT = _Layout()
_CLASS_BYTES = 2
_PLAIN = frozenset({str, int, bool, bytes, float, type(None)})
# Each packable class's fields read in one call (``attrgetter`` of them all, as a tuple).
_READERS: dict[int, Callable[[Any], tuple[Any, ...]]] = {}

# Both walks below look at each value's type before calling themselves on it: most values are
# plain (strings, numbers), and a call per value was two thirds of a state's packing.


def flatten(value: Any) -> Any:
    """``value`` as plain values :mod:`marshal` writes; :class:`Unpackable` if it cannot be."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is tuple:
        return tuple([v if type(v) in _PLAIN else flatten(v) for v in value])
    if kind is list:
        return [v if type(v) in _PLAIN else flatten(v) for v in value]
    if kind is dict:
        return {
            k if type(k) in _PLAIN else flatten(k): v if type(v) in _PLAIN else flatten(v)
            for k, v in value.items()
        }
    if kind is set:
        return {v if type(v) in _PLAIN else flatten(v) for v in value}
    if kind is frozenset:
        return frozenset([v if type(v) in _PLAIN else flatten(v) for v in value])
    if kind is UUID:
        return (..., _UUID, value.int)
    number = _LAYOUT.of(kind)
    if not hasattr(value, "__slots__") and set(vars(value)) != set(_LAYOUT.fields[number]):
        raise Unpackable(kind.__qualname__)  # an attribute that is not a field
    try:
        fields = _reader(number)(value)
    except AttributeError:
        raise Unpackable(kind.__qualname__) from None  # a field never set
    return (..., number, *[v if type(v) in _PLAIN else flatten(v) for v in fields])


def _reader(number: int) -> Callable[[Any], tuple[Any, ...]]:
    reader = _READERS.get(number)
    if reader is None:
        names = _LAYOUT.fields[number]
        if len(names) > 1:
            reader = attrgetter(*names)
        else:  # ``attrgetter`` of one name gives the value itself, not a tuple
            getters = [attrgetter(name) for name in names]
            reader = lambda value: tuple(get(value) for get in getters)  # noqa: E731
        _READERS[number] = reader
    return reader


def unflatten(value: Any) -> Any:
    """The value :func:`flatten` was given."""
    kind = type(value)
    if kind is tuple:
        if value and value[0] is ...:
            return _rebuild(value)
        return tuple([v if type(v) in _PLAIN else unflatten(v) for v in value])
    if kind is list:
        return [v if type(v) in _PLAIN else unflatten(v) for v in value]
    if kind is dict:
        return {
            k if type(k) in _PLAIN else unflatten(k): v if type(v) in _PLAIN else unflatten(v)
            for k, v in value.items()
        }
    if kind is set:
        return {v if type(v) in _PLAIN else unflatten(v) for v in value}
    if kind is frozenset:
        return frozenset([v if type(v) in _PLAIN else unflatten(v) for v in value])
    return value


def _rebuild(packed: tuple[Any, ...]) -> Any:
    number = packed[1]
    if number == _UUID:
        return UUID(int=packed[2])
    instance = object.__new__(_LAYOUT.classes[number])
    for name, field in zip(_LAYOUT.fields[number], packed[2:], strict=True):
        object.__setattr__(instance, name, field if type(field) in _PLAIN else unflatten(field))
    return instance


def pack(state: AggregateState) -> bytes:
    """``state`` as compact bytes, led by its class's number (two bytes, so that the states of
    one class are found without unpacking the others); :class:`Unpackable` if it holds what
    packing cannot write."""
    try:
        flat = flatten(state)
        number: int = flat[1]
        return number.to_bytes(_CLASS_BYTES, "big") + marshal.dumps(flat)
    except (TypeError, ValueError, RecursionError, OverflowError):  # an unhashable key, say
        raise Unpackable(type(state).__qualname__) from None


def unpack(packed: bytes) -> AggregateState:
    """The state :func:`pack` packed (in this process: the bytes are never read from outside)."""
    state = unflatten(marshal.loads(memoryview(packed)[_CLASS_BYTES:]))
    assert isinstance(state, AggregateState)
    return state


def _class_numbers(cls: type) -> set[bytes]:
    """The leading bytes of the packed states of ``cls`` and its subclasses."""
    return {
        number.to_bytes(_CLASS_BYTES, "big")
        for number, known in enumerate(_LAYOUT.classes)
        if issubclass(known, cls)
    }


class CompactStates(MutableMapping[UUID, AggregateState]):
    """Aggregate states by id: the ``live`` most recently used as objects, the rest packed.

    A state read or written becomes the most recently used. :meth:`compact` packs the least
    recently used beyond ``live``; the replay calls it between commands, when no rule holds a
    state, so a state is never packed while anything could still change it.
    """

    def __init__(self, states: Mapping[Any, Any] | None = None, live: int = LIVE) -> None:
        """``states`` may come from a saved replay (read by the state codec, so possibly
        forged): anything but aggregate states by their ids is refused."""
        self.live = live
        self._live: dict[UUID, AggregateState] = {}
        self._packed: dict[int, bytes] = {}
        # The most recently used state, handed back without moving it in ``_live`` (an event's
        # rules read their aggregate several times in a row).
        self._recent: tuple[UUID, AggregateState] | None = None
        for aggregate_id, state in (states or {}).items():
            if not isinstance(aggregate_id, UUID) or not isinstance(state, AggregateState):
                raise TypeError(f"not an aggregate state by its id: {aggregate_id!r}")
            self[aggregate_id] = state

    def __getitem__(self, aggregate_id: UUID) -> AggregateState:
        state: AggregateState | None = self.get(aggregate_id)
        if state is None:
            raise KeyError(aggregate_id)
        return state

    def get(self, aggregate_id: UUID, default: Any = None) -> Any:
        """The state (now the most recently used), or ``default``."""
        recent = self._recent
        if recent is not None and (aggregate_id is recent[0] or aggregate_id == recent[0]):
            return recent[1]
        state = self._live.pop(aggregate_id, None)
        if state is None:
            packed = self._packed.pop(aggregate_id.int, None) if self._packed else None
            if packed is None:
                return default
            state = unpack(packed)
        self._live[aggregate_id] = state
        self._recent = (aggregate_id, state)
        return state

    def __setitem__(self, aggregate_id: UUID, state: AggregateState) -> None:
        self._live.pop(aggregate_id, None)
        self._live[aggregate_id] = state
        self._recent = (aggregate_id, state)
        if self._packed:
            self._packed.pop(aggregate_id.int, None)

    def __delitem__(self, aggregate_id: UUID) -> None:
        self._recent = None
        if self._live.pop(aggregate_id, None) is None:
            del self._packed[aggregate_id.int]

    def __contains__(self, aggregate_id: object) -> bool:
        return aggregate_id in self._live or (
            isinstance(aggregate_id, UUID) and aggregate_id.int in self._packed
        )

    def __len__(self) -> int:
        return len(self._live) + len(self._packed)

    def __iter__(self) -> Iterator[UUID]:
        yield from list(self._live)
        yield from [UUID(int=number) for number in self._packed]

    def values(self) -> Iterator[AggregateState]:  # type: ignore[override]
        """Every state, packed ones unpacked one at a time (none is kept live by this)."""
        for _, state in self.items():
            yield state

    def items(self) -> Iterator[tuple[UUID, AggregateState]]:  # type: ignore[override]
        """Every (id, state), packed ones unpacked one at a time and not kept live."""
        yield from list(self._live.items())
        for number, packed in list(self._packed.items()):
            yield UUID(int=number), unpack(packed)

    def values_of(self, cls: type[S]) -> Iterator[S]:
        """The states of ``cls`` (subclasses included), packed ones unpacked one at a time and
        not kept live; the packed states of other classes are not unpacked at all."""
        for state in list(self._live.values()):
            if isinstance(state, cls):
                yield state
        numbers = _class_numbers(cls)
        for packed in list(self._packed.values()):
            if packed[:_CLASS_BYTES] in numbers:
                state = unpack(packed)
                assert isinstance(state, cls)
                yield state

    def compact(self) -> None:
        """Pack the least recently used states beyond ``live``, down to half of it (so that the
        work is done in batches, not at every command)."""
        if len(self._live) <= self.live:
            return
        self._recent = None
        excess = len(self._live) - self.live // 2
        for aggregate_id in list(self._live)[:excess]:
            state = self._live.pop(aggregate_id)
            try:
                self._packed[aggregate_id.int] = pack(state)
            except Unpackable:
                self._live[aggregate_id] = state  # kept live, tried again last

    @property
    def packed(self) -> int:
        """How many states are packed now."""
        return len(self._packed)
