"""The audit's packed aggregate states change nothing it finds.

For any history made from a demo city's log by dropping events, removing leaves and swapping
neighbours (what an operator editing the database could do), the replay finds exactly the same,
in the same order, whether every state stays live or the states are packed at every command's
end and unpacked when read again. And any state the model makes packs and unpacks to an equal
one."""

from __future__ import annotations

import dataclasses
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger import Ledger, MemoryKeystore
from ledger.audit import compact as compact_module
from ledger.audit.compact import CompactStates, Unpackable, pack, unpack
from ledger.audit.findings import Finding
from ledger.audit.replay import Replay, ReplayState
from ledger.audit.sources import Leaf, StoreSource
from ledger.demo import build_demo
from ledger.errors import StorageError
from ledger.model.aggregates import Agreement, Organisation, Transfer, Volunteer
from ledger.state_codec import StateCodecError, dumps_state, loads_state

NEVER_PACKED = 10**9


class _NoSignatures:
    """The replay's rules alone: signatures are the same with or without packing."""

    def submit(self, job: Any, tag: Any) -> None:
        pass


@pytest.fixture(scope="module")
def demo_leaves(tmp_path_factory: pytest.TempPathFactory) -> list[Leaf]:
    path: Path = tmp_path_factory.mktemp("compact") / "demo.db"
    with Ledger(f"sqlite:///{path}", keystore=MemoryKeystore()) as ledger:
        build_demo(ledger, volunteers=12)
        return list(StoreSource(ledger).leaves(0))


def replay(leaves: list[Leaf], live: int) -> tuple[list[Finding], ReplayState]:
    state, findings = ReplayState(states=CompactStates(live=live)), []
    run = Replay(state, findings.append, _NoSignatures(), None)  # type: ignore[arg-type]
    for leaf in leaves:
        run.leaf(leaf)
    run.finish()
    return findings, state


EDIT = st.one_of(
    st.tuples(st.just("drop"), st.integers(min_value=0)),
    st.tuples(st.just("remove"), st.integers(min_value=0)),
    st.tuples(st.just("swap"), st.integers(min_value=0)),
)


def edited(leaves: list[Leaf], edits: list[tuple[str, int]]) -> list[Leaf]:
    """The leaves with each edit made: an event deleted (its leaf kept), a leaf removed, or
    two neighbours' events exchanged (each leaf keeps its place)."""
    result = list(leaves)
    for edit, at in edits:
        i = at % (len(result) - 1)
        if edit == "drop":
            result[i] = result[i]._replace(state=None)
        elif edit == "remove":
            del result[i]
        else:
            first, second = result[i], result[i + 1]
            result[i] = second._replace(index=first.index)
            result[i + 1] = first._replace(index=second.index)
    return result


def test_the_demo_replays_clean_with_every_state_packed(demo_leaves: list[Leaf]) -> None:
    findings, state = replay(demo_leaves, live=1)
    assert findings == []
    assert state.states.packed > 0.8 * len(state.states)


def test_edits_found_with_packed_states_are_those_found_without(demo_leaves: list[Leaf]) -> None:
    history = edited(demo_leaves, [("remove", 40), ("drop", 200), ("swap", 300), ("drop", 333)])
    expected, _ = replay(history, live=NEVER_PACKED)
    found, packed = replay(history, live=1)
    assert found == expected
    assert {"missing-event", "version-sequence"} <= {f.kind for f in found}
    assert packed.states.packed > 0.8 * len(packed.states)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=st.lists(EDIT, min_size=1, max_size=6), live=st.integers(min_value=1, max_value=8))
def test_packing_states_changes_no_finding(
    demo_leaves: list[Leaf], edits: list[tuple[str, int]], live: int
) -> None:
    history = edited(demo_leaves, edits)
    expected, kept = replay(history, live=NEVER_PACKED)
    found, packed = replay(history, live=live)
    assert found == expected
    assert kept.states.packed == 0
    assert dict(packed.states.items()) == dict(kept.states.items())


TEXT = st.text(max_size=12)
AGREEMENT = st.builds(
    Agreement, TEXT, TEXT, st.lists(TEXT, max_size=3).map(tuple), TEXT, st.text(max_size=40)
)
VOLUNTEER = st.builds(
    Volunteer,
    aggregate_id=st.uuids(),
    version=st.integers(min_value=0, max_value=2**40),
    number=TEXT,
    registered_by=TEXT,
    registered_at=TEXT,
    members_of=st.sets(TEXT, max_size=4),
    consents=st.dictionaries(TEXT, st.booleans(), max_size=3),
    transfers=st.dictionaries(TEXT, st.builds(Transfer, TEXT, TEXT, TEXT), max_size=2),
    personal_data_erased=st.booleans(),
    home=TEXT,
    agreements=st.dictionaries(TEXT, AGREEMENT, max_size=3),
)
ORGANISATION = st.builds(
    Organisation,
    aggregate_id=st.uuids(),
    version=st.integers(min_value=0, max_value=99),
    org_id=TEXT,
    parent=st.none() | TEXT,
    keys=st.dictionaries(TEXT, TEXT, max_size=3),
    revoked=st.sets(TEXT, max_size=3),
    honours=st.dictionaries(TEXT, st.none() | st.integers() | st.uuids(), max_size=3),
)


@given(state=VOLUNTEER | ORGANISATION)
def test_a_state_unpacks_to_an_equal_one(state: Volunteer | Organisation) -> None:
    back = unpack(pack(state))
    assert type(back) is type(state) and back == state
    assert back is not state


@dataclasses.dataclass(slots=True)
class _OneField:
    note: str | None = None


@dataclasses.dataclass(slots=True)
class _Fieldless:
    pass


_OneField.__module__ = _Fieldless.__module__ = "ledger.model.test_only"  # packable, as the model's


@given(note=st.none() | st.text(max_size=5))
def test_values_of_one_field_or_none_pack_and_unpack(note: str | None) -> None:
    """A packed class's fields are read together in one call; a class of one field, or of
    none, is read as well."""
    holder = Volunteer(UUID(int=1), version=1)
    holder.consents = {"one": _OneField(note), "none": _Fieldless()}  # type: ignore[dict-item]
    back = unpack(pack(holder))
    assert isinstance(back, Volunteer) and back == holder
    assert type(back.consents["one"]) is _OneField and type(back.consents["none"]) is _Fieldless


def compacted(
    states: list[Volunteer | Organisation], live: int
) -> tuple[dict[UUID, Volunteer | Organisation], CompactStates]:
    """The states by id, and the same put one by one (copies) into compacted states."""
    by_id = {s.aggregate_id: s for s in states}
    compact = CompactStates(live=live)
    for aggregate_id, state in by_id.items():
        compact[aggregate_id] = unpack(pack(state))
        compact.compact()
    return by_id, compact


@given(states=st.lists(VOLUNTEER | ORGANISATION, max_size=12), live=st.integers(1, 4))
def test_compacted_states_are_the_states_put_in(
    states: list[Volunteer | Organisation], live: int
) -> None:
    by_id, compact = compacted(states, live)
    assert len(compact) == len(by_id) and set(compact) == set(by_id)
    assert dict(compact.items()) == by_id
    for aggregate_id, state in by_id.items():
        assert aggregate_id in compact and compact[aggregate_id] == state


@given(states=st.lists(VOLUNTEER | ORGANISATION, max_size=12), live=st.integers(1, 4))
def test_the_states_of_one_class_are_read_without_unpacking_the_others(
    states: list[Volunteer | Organisation], live: int
) -> None:
    by_id, compact = compacted(states, live)
    unpacked: list[object] = []
    real_unpack = compact_module.unpack

    def counting_unpack(packed: bytes) -> Any:
        unpacked.append(state := real_unpack(packed))
        return state

    compact_module.unpack = counting_unpack
    try:
        volunteers = list(compact.values_of(Volunteer))
    finally:
        compact_module.unpack = real_unpack
    expected = [s for s in by_id.values() if isinstance(s, Volunteer)]
    assert sorted(volunteers, key=_id) == sorted(expected, key=_id)
    assert all(isinstance(state, Volunteer) for state in unpacked)
    assert compact.packed == max(0, len(by_id) - len(compact._live))  # none made live again


def _id(state: Volunteer | Organisation) -> int:
    return state.aggregate_id.int


class _Foreign:
    pass


def test_a_state_holding_what_packing_cannot_write_stays_live() -> None:
    volunteer = Volunteer(UUID(int=1), version=1)
    volunteer.consents = {"x": _Foreign()}  # type: ignore[dict-item]
    with pytest.raises(Unpackable):
        pack(volunteer)
    compact = CompactStates(live=1)
    compact[volunteer.aggregate_id] = volunteer
    compact[UUID(int=2)] = Volunteer(UUID(int=2), version=1)
    compact[UUID(int=3)] = Volunteer(UUID(int=3), version=1)
    compact.compact()
    assert compact[volunteer.aggregate_id] is volunteer
    assert compact.packed == 2


def test_a_saved_replay_holds_states_not_packed_bytes() -> None:
    state = ReplayState(states=CompactStates(live=1))
    for number in range(1, 4):
        state.states[UUID(int=number)] = Volunteer(UUID(int=number), version=number)
    state.states.compact()
    assert state.states.packed == 3

    saved = dumps_state(state)
    assert b"$bytes" not in saved and b"ledger.audit.compact" not in saved
    back = loads_state(saved)
    assert isinstance(back.states, CompactStates)
    assert dict(back.states.items()) == dict(state.states.items())


@pytest.mark.parametrize(
    "forged",
    [
        {"$object": "ledger.audit.compact:CompactStates", "fields": {"_packed": {}}},
        {"$dict": [[{"$uuid": str(UUID(int=1))}, "not a state"]]},
        {"$dict": [["not an id", {"$object": "ledger.model.aggregates:Volunteer", "fields": {}}]]},
    ],
)
def test_a_forged_saved_replay_cannot_plant_states(forged: dict[str, Any]) -> None:
    saved = json.loads(dumps_state(ReplayState()))
    saved["fields"]["states"] = forged
    with pytest.raises(StateCodecError):
        loads_state(json.dumps(saved).encode())


def test_a_saved_replay_without_its_own_states_is_refused_by_the_replay() -> None:
    """A file written as the codec's plain fields (as before states were packed) is read; one
    whose states are not states is refused before anything is replayed."""
    saved = json.loads(dumps_state(ReplayState()))
    del saved["setstate"]
    saved["fields"]["states"] = {"$dict": [[{"$uuid": str(UUID(int=1))}, 5]]}
    state = loads_state(json.dumps(saved).encode())
    with pytest.raises(StorageError, match="not an aggregate state"):
        Replay(state, [].append, _NoSignatures(), None)  # type: ignore[arg-type]
    saved["fields"]["states"] = {"$dict": []}
    state = loads_state(json.dumps(saved).encode())
    Replay(state, [].append, _NoSignatures(), None)  # type: ignore[arg-type]
    assert isinstance(state.states, CompactStates)


OPERATION = st.one_of(
    st.tuples(st.sampled_from(["get", "set", "delete"]), st.integers(1, 4)),
    st.just(("compact", 0)),
)


@settings(max_examples=300)
@given(operations=st.lists(OPERATION, max_size=40), live=st.integers(1, 4))
@example(operations=[("set", 1), ("get", 1), ("set", 1), ("get", 1)], live=2)
def test_states_stay_live_in_the_order_they_were_last_used(
    operations: list[tuple[str, int]], live: int
) -> None:
    """Against a plain ordered model: the same states, and those packed are the least recently
    read or written, however often one is read in a row."""
    model: OrderedDict[UUID, Volunteer] = OrderedDict()  # by recency, oldest first
    packed: set[UUID] = set()
    compact = CompactStates(live=live)
    for step, (operation, number) in enumerate(operations):
        aggregate_id = UUID(int=number)
        if operation == "get":
            assert compact.get(aggregate_id) == model.get(aggregate_id)
            if aggregate_id in model:
                model.move_to_end(aggregate_id)
                packed.discard(aggregate_id)
        elif operation == "set":
            compact[aggregate_id] = model[aggregate_id] = Volunteer(aggregate_id, version=step)
            model.move_to_end(aggregate_id)
            packed.discard(aggregate_id)
        elif operation == "delete" and aggregate_id in model:
            del compact[aggregate_id], model[aggregate_id]
            packed.discard(aggregate_id)
        elif operation == "compact":
            compact.compact()
            live_ids = [i for i in model if i not in packed]
            if len(live_ids) > live:
                packed.update(live_ids[: len(live_ids) - live // 2])
        assert list(compact._live) == [i for i in model if i not in packed]
        assert compact.packed == len(packed)
    assert dict(compact.items()) == dict(model)
