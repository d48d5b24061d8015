"""RFC 8785 canonical JSON: the ledger's bytes equal an independent JCS implementation's."""

from __future__ import annotations

import collections
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import InvalidInputError, canonical_json
from ledger.canonical import MAX_SAFE_INTEGER, is_canonical, parse_canonical, parse_json

# Any Unicode scalar value: everything but surrogates (which UTF-8 cannot encode).
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | TEXT
    | st.sampled_from(["", "\x00", "\x1f", "\x7f", "\u2028", "/", '"\\', "\ud7ff", "\U0001f600"])
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(TEXT, children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_canonical_json_equals_an_independent_rfc8785_implementation(document: Any) -> None:
    assert canonical_json(document) == rfc8785.dumps(document)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_canonical_bytes_parse_back_to_the_same_document_and_are_canonical(
    document: Any,
) -> None:
    data = canonical_json(document)
    assert parse_json(data) == document
    assert is_canonical(data)


def test_object_keys_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FFFF; code point order says otherwise.
    document = {"\uffff": 1, "\U0001f600": 2, "a": 3, "": 4}
    data = canonical_json(document)
    assert data == rfc8785.dumps(document)
    assert data.decode("utf-8") == '{"":4,"a":3,"\U0001f600":2,"\uffff":1}'


def test_strings_escape_only_what_rfc8785_requires() -> None:
    text = '\b\f\n\r\t\x00\x0f\x1f\x7f\u2028/"\\é'
    assert canonical_json(text) == rfc8785.dumps(text)
    assert (
        canonical_json(text) == '"\\b\\f\\n\\r\\t\\u0000\\u000f\\u001f\x7f\u2028/\\"\\\\é"'.encode()
    )


def test_no_whitespace_and_integers_as_written() -> None:
    assert canonical_json({"b": [1, -2, 0], "a": {"z": None, "y": True}}) == (
        b'{"a":{"y":true,"z":null},"b":[1,-2,0]}'
    )
    assert canonical_json(MAX_SAFE_INTEGER) == b"9007199254740991"
    assert canonical_json(-MAX_SAFE_INTEGER) == b"-9007199254740991"


def test_tuples_serialise_as_arrays() -> None:
    assert canonical_json((1, "a", (True,))) == b'[1,"a",[true]]'


@pytest.mark.parametrize(
    "value",
    [1.0, 0.5, -0.0, float("nan"), float("inf"), {"a": [1, 2.5]}, [{"x": 1e10}]],
    ids=["one", "half", "negzero", "nan", "inf", "nested-object", "nested-array"],
)
def test_floats_are_refused_anywhere_in_a_document(value: Any) -> None:
    with pytest.raises(InvalidInputError, match="float"):
        canonical_json(value)


@pytest.mark.parametrize(
    "value", [2**53, -(2**53), 2**64, [0, 10**20]], ids=["2^53", "-2^53", "2^64", "nested"]
)
def test_integers_beyond_the_safe_range_are_refused(value: Any) -> None:
    with pytest.raises(InvalidInputError, match="2\\*\\*53"):
        canonical_json(value)


@pytest.mark.parametrize(
    "value", [{1: "a"}, {None: 1}, {("a",): 1}, {True: 1}, {"ok": {2: "nested"}}]
)
def test_non_string_object_keys_are_refused(value: Any) -> None:
    with pytest.raises(InvalidInputError, match="keys must be strings"):
        canonical_json(value)


@pytest.mark.parametrize("value", [b"bytes", {1, 2}, object(), 1j])
def test_types_outside_json_are_refused(value: Any) -> None:
    with pytest.raises(InvalidInputError, match="not a JSON type"):
        canonical_json(value)


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="surrogate"):
        canonical_json({"name": "\ud800"})


def test_refusal_names_where_in_the_document_the_problem_is() -> None:
    with pytest.raises(InvalidInputError) as caught:
        canonical_json({"a": {"b": [1, 2, 3.5]}})
    assert "$.a.b[2]" in str(caught.value)


@pytest.mark.parametrize("text", ["1.0", "1e3", "1E-2", "[0.1]", '{"a":-1.5}', "2.0e0"])
def test_parse_json_refuses_floats(text: str) -> None:
    with pytest.raises(InvalidInputError, match="integers"):
        parse_json(text)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "[NaN]"])
def test_parse_json_refuses_nan_and_infinity(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_json(text)


@pytest.mark.parametrize(
    "text", ['{"a":1,"a":2}', '{"a":1,"a":1}', '{"x":{"b":1,"b":2}}', '[{"k":1,"k":null}]']
)
def test_parse_json_refuses_duplicate_keys(text: str) -> None:
    with pytest.raises(InvalidInputError, match="duplicate"):
        parse_json(text)


@pytest.mark.parametrize("data", [b"", b"{", b"[1,]", b"\xff\xfe", b"{'a':1}", "tru"])
def test_parse_json_refuses_malformed_input_with_invalid_input_error(data: bytes | str) -> None:
    with pytest.raises(InvalidInputError):
        parse_json(data)


def test_parse_json_accepts_integers_strings_and_structures() -> None:
    assert parse_json(b'{"a":[1,-2,true,null,"x"]}') == {"a": [1, -2, True, None, "x"]}


@pytest.mark.parametrize(
    "data",
    [
        b'{"b":1,"a":2}',  # keys out of order
        b'{"a": 2}',  # whitespace
        b'"\\u0041"',  # needless escape
        b"-0",
        b"1.0",
        b'{"a":1,"a":1}',
        json.dumps({"a": "é"}).encode(),  # ASCII-escaped non-ASCII
    ],
)
def test_is_canonical_is_false_for_any_other_spelling(data: bytes) -> None:
    assert not is_canonical(data)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_parse_canonical_takes_exactly_what_an_independent_implementation_writes(
    document: Any,
) -> None:
    data = rfc8785.dumps(document)
    assert parse_canonical(data) == document
    spaced = json.dumps(document, ensure_ascii=False, separators=(", ", ": ")).encode()
    assert is_canonical(spaced) == (spaced == data)


@pytest.mark.parametrize(
    "data",
    [b"9007199254740992", b"[-9007199254740992]", b'{"a":100000000000000000000}', b"[1e2]"],
)
def test_parse_canonical_refuses_numbers_outside_the_signed_subset(data: bytes) -> None:
    with pytest.raises(InvalidInputError, match="safe integers"):
        parse_canonical(data)


def test_documents_the_fast_writer_refuses_take_the_exact_one() -> None:
    pair = collections.namedtuple("pair", "a b")
    assert canonical_json({"p": pair(1, "x")}) == b'{"p":[1,"x"]}'
    deep: list[Any] = []
    inner = deep
    for _ in range(300):  # deeper than the fast writer goes
        inner.append([])
        inner = inner[0]
    data = canonical_json(deep)
    assert data == b"[" * 301 + b"]" * 301
    assert parse_canonical(data) == deep
