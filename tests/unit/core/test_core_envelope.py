"""The shape of a signed event body, signed bodies from outside, times, and stored envelopes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import InvalidInputError, SigningKey, canonical_json
from ledger.envelope import (
    BODY_FIELDS,
    MAX_BODY_BYTES,
    check_body_numbers,
    check_body_shape,
    format_time,
    make_envelope,
    open_envelope,
    open_envelope_timed,
    parse_signed_body,
    parse_time,
    sign_body,
    validate_body,
)
from ledger.signing import b64encode

NOW = datetime(2026, 3, 5, 9, 30, tzinfo=UTC)


def body(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": "MembershipJoined",
        "org": "org-a",
        "key_id": "0123456789abcdef0123456789abcdef",
        "aggregate_id": "7f1b82d6-5702-5a68-9a1c-575be388b735",
        "aggregate_version": 2,
        "occurred_at": "2026-03-05T09:00:00Z",
        "idempotency_key": "join-1",
        "data": {"number": "V7PUTHQOL76UPK", "org_id": "org-a"},
    }
    document.update(changes)
    return document


def test_a_well_formed_body_is_returned_unchanged() -> None:
    document = body()
    assert validate_body(document, now=NOW) is document


def test_the_body_has_exactly_the_documented_fields() -> None:
    assert frozenset(body()) == BODY_FIELDS


@pytest.mark.parametrize("field", sorted(BODY_FIELDS))
def test_a_body_missing_any_field_is_refused_naming_it(field: str) -> None:
    document = body()
    del document[field]
    with pytest.raises(InvalidInputError, match=f"missing \\['{field}'\\]"):
        validate_body(document, now=NOW)


@pytest.mark.parametrize("extra", ["recorded_at", "signature", "Type", "notes"])
def test_a_body_with_an_unexpected_field_is_refused_naming_it(extra: str) -> None:
    with pytest.raises(InvalidInputError, match=f"unexpected \\['{extra}'\\]"):
        validate_body(body(**{extra: "x"}), now=NOW)


@pytest.mark.parametrize("document", [[], "body", None, 1])
def test_a_body_that_is_not_an_object_is_refused(document: Any) -> None:
    with pytest.raises(InvalidInputError, match="JSON object"):
        validate_body(document, now=NOW)


WRONG_VALUES = [
    ("type", 123),
    ("type", "membershipJoined"),
    ("type", "Mj"),
    ("type", "Membership Joined"),
    ("type", None),
    ("org", "Org-A"),
    ("org", "a"),
    ("org", "org a"),
    ("org", 7),
    ("org", "-org"),
    ("key_id", "0123456789ABCDEF0123456789ABCDEF"),
    ("key_id", "0" * 31),
    ("key_id", "0" * 33),
    ("key_id", 12),
    ("aggregate_id", "7F1B82D6-5702-5A68-9A1C-575BE388B735"),
    ("aggregate_id", "7f1b82d657025a689a1c575be388b735"),
    ("aggregate_id", "not-a-uuid"),
    ("aggregate_id", 5),
    ("aggregate_id", None),
    ("aggregate_version", 0),
    ("aggregate_version", -1),
    ("aggregate_version", "2"),
    ("aggregate_version", True),
    ("aggregate_version", 2.0),
    ("aggregate_version", 2**53),
    ("occurred_at", "2026-03-05 09:00:00Z"),
    ("occurred_at", "2026-03-05T09:00:00+00:00"),
    ("occurred_at", "2026-03-05T09:00:00"),
    ("occurred_at", "2026-02-30T09:00:00Z"),
    ("occurred_at", "2026-03-05T25:00:00Z"),
    ("occurred_at", 1772701200),
    ("idempotency_key", ""),
    ("idempotency_key", "has space"),
    ("idempotency_key", "x" * 129),
    ("idempotency_key", "ключ"),
    ("idempotency_key", "tab\there"),
    ("idempotency_key", 5),
    ("data", []),
    ("data", "data"),
    ("data", None),
]


@pytest.mark.parametrize(("field", "value"), WRONG_VALUES)
def test_a_field_of_the_wrong_type_or_form_is_refused_naming_it(field: str, value: Any) -> None:
    with pytest.raises(InvalidInputError, match=field):
        validate_body(body(**{field: value}), now=NOW)


class _EqualToAnything(str):
    """A text that says it equals (and does not differ from) any other."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = str.__hash__


@pytest.mark.parametrize("field", ["type", "org", "key_id", "idempotency_key"])
@pytest.mark.parametrize(
    "value", [["org-a"], {"org-a": 1}, None, 7, "", "org-a\x00", _EqualToAnything("a b")]
)
def test_a_remembered_well_formed_value_lets_no_other_value_through(field: str, value: Any) -> None:
    """The texts of ``type``, ``org`` and ``key_id`` found well formed are remembered, and the
    last idempotency key; a value that is not one of them, hashable or not, is still read and
    refused."""
    validate_body(body(), now=NOW)
    with pytest.raises(InvalidInputError, match=field):
        validate_body(body(**{field: value}), now=NOW)
    validate_body(body(), now=NOW)  # the remembered value is the good one still


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"minutes": 1.5}, "body.data.minutes"),
        ({"rows": [1, {"n": 2**53}]}, "body.data.rows[1].n"),
        ({"n": -(2**53)}, "body.data.n"),
    ],
)
def test_check_body_numbers_names_the_first_float_or_unsafe_integer_in_the_data(
    data: dict[str, Any], where: str
) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(where)):
        check_body_numbers(body(data=data))
    check_body_numbers(body(data={"n": 2**53 - 1, "m": -(2**53 - 1), "ok": [True, None, "x"]}))


def test_an_envelope_opened_without_its_numbers_checked_leaves_them_to_the_caller() -> None:
    """The audit opens envelopes with ``check_numbers=False`` and checks the body's numbers
    after its shape: the same envelope is refused either way, at one step or the other."""
    written = make_envelope(body(data={"minutes": 0}), b"\x01" * 64, "2026-03-05T09:00:00Z")
    state = written.replace(b'"minutes":0', b'"minutes":1.5')  # as orjson writes 1.5
    with pytest.raises(InvalidInputError, match="not canonical"):
        open_envelope_timed(state)
    opened, _, _, _ = open_envelope_timed(state, check_numbers=False)
    check_body_shape(opened)
    with pytest.raises(InvalidInputError, match=re.escape("body.data.minutes")):
        check_body_numbers(opened)


def test_the_longest_idempotency_key_is_accepted() -> None:
    validate_body(body(idempotency_key="~" * 128), now=NOW)


def test_occurred_at_more_than_five_minutes_ahead_is_refused() -> None:
    ahead = format_time(NOW + timedelta(minutes=5, seconds=1))
    with pytest.raises(InvalidInputError, match="future"):
        validate_body(body(occurred_at=ahead), now=NOW)


@pytest.mark.parametrize(
    "offset",
    [timedelta(minutes=5), timedelta(minutes=4), timedelta(0), -timedelta(days=3650)],
    ids=["skew-limit", "within-skew", "now", "ten-years-ago"],
)
def test_occurred_at_within_the_clock_skew_or_in_the_past_is_accepted(offset: timedelta) -> None:
    validate_body(body(occurred_at=format_time(NOW + offset)), now=NOW)


def test_format_time_is_rfc3339_utc_with_z_and_microseconds_only_when_present() -> None:
    assert format_time(NOW) == "2026-03-05T09:30:00Z"
    assert format_time(NOW.replace(microsecond=5)) == "2026-03-05T09:30:00.000005Z"
    east = datetime(2026, 3, 5, 17, 30, tzinfo=UTC).astimezone(
        __import__("datetime").timezone(timedelta(hours=8))
    )
    assert format_time(east) == "2026-03-05T17:30:00Z"


def test_parse_time_round_trips_format_time() -> None:
    moment = NOW.replace(microsecond=123456)
    assert parse_time(format_time(moment)) == moment


def test_parse_signed_body_accepts_canonical_text_and_returns_body_and_signature() -> None:
    document = body()
    signature = SigningKey.generate().sign(b"anything")
    parsed, raw = parse_signed_body(canonical_json(document).decode(), b64encode(signature))
    assert parsed == document
    assert raw == signature


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(body()),  # spaces after separators, insertion order
        json.dumps(body(), indent=2, sort_keys=True),
        json.dumps(body(), separators=(",", ":")),  # compact but keys unsorted
        canonical_json(body()).decode() + "\n",
    ],
    ids=["default-dumps", "indented", "unsorted", "trailing-newline"],
)
def test_parse_signed_body_refuses_a_body_that_is_not_canonical(text: str) -> None:
    signature = b64encode(b"\x00" * 64)
    with pytest.raises(InvalidInputError, match="canonical"):
        parse_signed_body(text, signature)


def test_parse_signed_body_refuses_a_malformed_or_short_signature() -> None:
    text = canonical_json(body())
    with pytest.raises(InvalidInputError, match="base64"):
        parse_signed_body(text, "not base64!")
    with pytest.raises(InvalidInputError, match="64 bytes"):
        parse_signed_body(text, b64encode(b"\x00" * 63))


def test_parse_signed_body_refuses_an_oversized_body() -> None:
    text = canonical_json(body(data={"padding": "x" * MAX_BODY_BYTES}))
    with pytest.raises(InvalidInputError, match="limit"):
        parse_signed_body(text, b64encode(b"\x00" * 64))


def test_parse_signed_body_refuses_a_canonical_body_of_the_wrong_shape() -> None:
    text = canonical_json({**body(), "extra": 1})
    with pytest.raises(InvalidInputError, match="extra"):
        parse_signed_body(text, b64encode(b"\x00" * 64))


def test_sign_body_refuses_an_oversized_body() -> None:
    with pytest.raises(InvalidInputError, match="limit"):
        sign_body(body(data={"padding": "x" * MAX_BODY_BYTES}), SigningKey.generate())


def test_an_envelope_is_the_canonical_json_of_body_signature_and_recorded_at() -> None:
    document = body()
    signature = b"\x01" * 64
    envelope = make_envelope(document, signature, "2026-03-05T09:30:01Z")
    assert envelope == canonical_json(
        {"body": document, "signature": b64encode(signature), "recorded_at": "2026-03-05T09:30:01Z"}
    )
    assert canonical_json(document) in envelope
    assert open_envelope(envelope) == (document, signature, "2026-03-05T09:30:01Z")


@pytest.mark.parametrize(
    "state",
    [
        b'{"body":{},"signature":"AA=="}',
        b'{"body":{},"recorded_at":"2026-03-05T09:30:01Z","signature":"AA==","x":1}',
        b'{"body":[],"recorded_at":"2026-03-05T09:30:01Z","signature":"AA=="}',
        b'{"body":{},"recorded_at":"yesterday","signature":"AA=="}',
        b'{"body":{},"recorded_at":"2026-03-05T09:30:01Z","signature":"!!"}',
        b'{"signature":"AA==","body":{},"recorded_at":"2026-03-05T09:30:01Z"}',
        b"[]",
    ],
)
def test_open_envelope_refuses_anything_but_the_exact_stored_form(state: bytes) -> None:
    with pytest.raises(InvalidInputError):
        open_envelope(state)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"name": "A\x00B"}, "body.data.name"),
        ({"a\x00": 1}, "body.data (a key)"),
        ({"list": [1, {"deep": ["ok", "\x00"]}]}, "body.data.list[1].deep[1]"),
    ],
)
def test_u0000_anywhere_in_the_data_is_refused_naming_where(
    data: dict[str, Any], where: str
) -> None:
    with pytest.raises(InvalidInputError, match="U\\+0000") as refused:
        validate_body(body(data=data), now=NOW)
    assert where in str(refused.value)


DATA = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="ab\x00", max_size=3),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet="ab\x00", max_size=2), children, max_size=3)
    ),
    max_leaves=10,
)


@given(data=st.dictionaries(st.text(alphabet="ab\x00", max_size=2), DATA, max_size=3))
def test_the_data_is_refused_exactly_when_it_holds_u0000(data: dict[str, Any]) -> None:
    holds = "\\u0000" in json.dumps(data)  # as JSON writes U+0000 (the alphabet has no "\\")
    if holds:
        with pytest.raises(InvalidInputError, match="U\\+0000"):
            validate_body(body(data=data), now=NOW)
    else:
        assert validate_body(body(data=data), now=NOW)["data"] is data
