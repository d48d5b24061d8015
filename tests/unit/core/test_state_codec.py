"""[architecture] The audit's saved replay state is JSON: it round-trips, and reading it never
creates anything but the replay's own state classes."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.audit.replay import ReplayState
from ledger.errors import StorageError
from ledger.log.merkle import TreeBuilder, leaf_hash
from ledger.model.aggregates import Organisation, Transfer
from ledger.signing import SigningKey
from ledger.state_codec import StateCodecError, dumps_state, loads_state

scalars = st.none() | st.booleans() | st.integers() | st.text() | st.binary(max_size=16)
scalars |= st.floats(allow_nan=False, allow_infinity=False) | st.uuids()
hashable = st.none() | st.booleans() | st.integers() | st.text() | st.uuids()
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.sets(hashable, max_size=4)
        | st.frozensets(hashable, max_size=4)
        | st.dictionaries(hashable, inner, max_size=4)
    ),
    max_leaves=20,
)


@given(values)
def test_any_value_of_the_codec_types_round_trips(value: object) -> None:
    assert loads_state(dumps_state(value)) == value


@given(st.dictionaries(st.text(), st.integers(), max_size=5))
def test_a_defaultdict_keeps_its_factory(items: dict[str, int]) -> None:
    minted: defaultdict[str, int] = defaultdict(int, items)
    back = loads_state(dumps_state(minted))
    assert isinstance(back, defaultdict) and back == minted
    assert back["never seen"] == 0


def test_a_replay_state_round_trips_with_its_classes() -> None:
    key = SigningKey.generate().public_key
    tree = TreeBuilder()
    for n in range(5):
        tree.append(leaf_hash(bytes([n])))
    org = Organisation(uuid4(), version=2, org_id="a", keys={key.key_id: "signing"})
    org.revoked.add("old")
    state = ReplayState(size=5, tree=tree, log_keys={key.key_id: key})
    state.states[org.aggregate_id] = org
    state.minted["bank"] += 7
    state.last_recorded = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    state.roots[5] = b"\x01" * 32

    back = loads_state(dumps_state(state))

    assert isinstance(back, ReplayState)
    assert back.tree.size == 5 and back.tree.root() == tree.root()
    assert back.states[org.aggregate_id] == org
    assert back.log_keys[key.key_id].raw == key.raw
    assert back.minted == {"bank": 7} and back.last_recorded == state.last_recorded
    assert dumps_state(back) == dumps_state(state)


def test_slotted_state_classes_round_trip() -> None:
    transfer = Transfer("t1", "a", "b", status="accepted")
    assert loads_state(dumps_state(transfer)) == transfer


@pytest.mark.parametrize(
    "name",
    [
        "os:system",
        "builtins:eval",
        "subprocess:Popen",
        "ledger.trust:threading",  # a module the trust module imports, not a class of it
        "ledger.keystore:Keystore",  # a ledger class, but not a replay state class
        "ledger.model.aggregates:Organisation.__init__",
    ],
)
def test_reading_never_creates_what_is_not_a_state_class(name: str) -> None:
    forged = json.dumps({"$object": name, "fields": {}}).encode()
    with pytest.raises(StateCodecError, match=r"may not create|names no state class"):
        loads_state(forged)


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x05\x95pickle",  # a pickle, as the older audits wrote
        b"{}",
        b'{"$exec": "print(1)"}',
        b'{"$defaultdict": "os.system", "items": []}',
        b'{"$uuid": "not a uuid"}',
        b'{"$object": "ledger.model.no_such_module:State", "fields": {}}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_anything_else_is_a_clear_storage_error(data: bytes) -> None:
    with pytest.raises(StorageError, match="saved state"):
        loads_state(data)


def test_writing_refuses_what_it_could_not_read_back() -> None:
    with pytest.raises(StateCodecError, match="may not hold"):
        dumps_state({"handle": open})  # a builtin function
    with pytest.raises(StateCodecError, match="non-finite"):
        dumps_state(float("nan"))
    with pytest.raises(StateCodecError, match="defaultdict"):
        dumps_state(defaultdict(lambda: 1))


def test_uuid_and_bytes_are_tagged_not_guessed() -> None:
    value = {"id": UUID(int=1), "hash": b"\x00\xff", "text": "0011"}
    encoded = json.loads(dumps_state(value))
    assert encoded == {
        "$dict": [
            ["id", {"$uuid": "00000000-0000-0000-0000-000000000001"}],
            ["hash", {"$bytes": "00ff"}],
            ["text", "0011"],
        ]
    }


def test_a_field_added_since_the_state_was_saved_takes_its_default() -> None:
    saved = json.loads(dumps_state(Transfer("t1", "a", "b")))
    del saved["fields"]["status"], saved["fields"]["reason"]
    back = loads_state(json.dumps(saved).encode())
    assert back == Transfer("t1", "a", "b", status="requested", reason="")


def test_a_model_only_reader_refuses_the_audit_s_own_classes() -> None:
    """Snapshots admit the model's states alone: the trust directory's and the Merkle tree's
    classes, which an audit state may hold, are refused when a snapshot is read."""
    tree = TreeBuilder()
    tree.append(leaf_hash(b"x"))
    saved = dumps_state(tree)
    assert isinstance(loads_state(saved), TreeBuilder)
    with pytest.raises(StateCodecError, match=r"may not create ledger\.log\.merkle"):
        loads_state(saved, modules=frozenset())
    with pytest.raises(StateCodecError, match=r"may not hold ledger\.log\.merkle"):
        dumps_state(tree, modules=frozenset())


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        # a class whose instances keep their fields in a dict: the class itself is not a field
        ("ledger.audit.replay:ReplayState", "__class__", {"$tuple": []}),
        # a slotted state class: a read-only property is not a field either
        ("ledger.model.activities:Activity", "minutes_limit", 5),
        # nor is a slotted class's own class, nor a name that is no slot of it
        ("ledger.model.service:Record", "__class__", {"$tuple": []}),
        ("ledger.model.service:Record", "extra", 1),
    ],
)
def test_a_saved_field_never_writes_through_a_descriptor(
    name: str, field: str, value: object
) -> None:
    forged = json.dumps({"$object": name, "fields": {field: value}}).encode()
    with pytest.raises(StateCodecError, match="not a saved state"):
        loads_state(forged)


def test_numbers_beyond_64_bits_and_any_text_are_written_as_json() -> None:
    value = {"big": 2**80 + 1, "small": -(2**63) - 1, "text": "志愿者 \U0001f600", "float": 0.1}
    saved = dumps_state(value)
    assert json.loads(saved.decode("utf-8")) == {
        "$dict": [
            ["big", 2**80 + 1],
            ["small", -(2**63) - 1],
            ["text", value["text"]],
            ["float", 0.1],
        ]
    }
    back = loads_state(saved)
    assert back == value and type(back["big"]) is int and type(back["small"]) is int
    for edge in (2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**18, -(10**19)):
        assert (back := loads_state(dumps_state([edge]))) == [edge] and type(back[0]) is int
    assert dumps_state({"text": "志愿者"}).decode("utf-8") == '{"$dict":[["text","志愿者"]]}'
