"""The arrays the PostgreSQL recorder encodes itself (``ledger.storage.pg_arrays``) are the arrays
PostgreSQL reads: each round-trips through the server unchanged, equals the same list as psycopg
sends it, and for bytea and text is byte for byte psycopg's own binary encoding."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from postgres_testing import SERVER_URL, require_postgres
from psycopg.adapt import PyFormat, Transformer

from ledger.storage.pg_arrays import (
    BinaryArray,
    bytea_array,
    int2_array,
    int4_array,
    int8_array,
    text_array,
    uuid_array,
)

pytestmark = pytest.mark.postgres

texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20)
KINDS: dict[str, tuple[Callable[[Any], BinaryArray], st.SearchStrategy[Any], str]] = {
    "bytea": (bytea_array, st.binary(max_size=600), "bytea[]"),
    "uuid": (uuid_array, st.uuids(), "uuid[]"),
    "int8": (int8_array, st.integers(-(2**63), 2**63 - 1), "bigint[]"),
    "int4": (int4_array, st.integers(-(2**31), 2**31 - 1), "int[]"),
    "int2": (int2_array, st.integers(-(2**15), 2**15 - 1), "smallint[]"),
    "text": (text_array, texts, "text[]"),
}


@pytest.fixture(scope="module")
def connection() -> Iterator[psycopg.Connection[Any]]:
    require_postgres()
    with psycopg.connect(SERVER_URL, autocommit=True, client_encoding="UTF8") as conn:
        yield conn


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_encoded_array_round_trips_and_equals_psycopgs_own(
    connection: psycopg.Connection[Any], kind: str
) -> None:
    encode, elements, sql_type = KINDS[kind]

    @settings(max_examples=60, deadline=None)
    @given(st.lists(elements, max_size=40))
    def check(items: list[Any]) -> None:
        back, same = connection.execute(
            f"SELECT %s, %s = %s::{sql_type}", [encode(items), encode(items), items]
        ).fetchone() or (None, None)
        assert back == items and same is True

    check()


@pytest.mark.parametrize(
    ("encode", "items"),
    [
        (bytea_array, [b"", b"\x00\xff", bytes(range(256))]),
        (text_array, ["ledger.event.v1:VolunteerRegistered", "", "张三", 'a,b{c}"d\\']),
    ],
)
def test_bytea_and_text_arrays_are_psycopgs_binary_encoding(
    connection: psycopg.Connection[Any],
    encode: Callable[[Sequence[Any]], BinaryArray],
    items: list[Any],
) -> None:
    [theirs] = Transformer(connection).dump_sequence([items], [PyFormat.BINARY])
    assert encode(items).payload == bytes(theirs or b"")


def test_a_uuid_given_as_text_is_the_same_uuid(connection: psycopg.Connection[Any]) -> None:
    value = UUID("7f1b82d6-5702-5a68-9a1c-575be388b735")
    row = connection.execute("SELECT %s", [uuid_array([str(value), value])]).fetchone()
    assert row == ([value, value],)
