"""The W3C Bitstring Status List encoding: what is set reads back set, nothing else does, and
a list that is not one is refused with a clear error."""

from __future__ import annotations

import base64
import gzip

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.credentials.status_list import (
    MINIMUM_BITS,
    bit_is_set,
    decode_list,
    encode_list,
    status_entry,
    status_list_credential,
)
from ledger.errors import InvalidInputError

indexes = st.integers(min_value=0, max_value=MINIMUM_BITS - 1)


@settings(max_examples=60, deadline=None)
@given(st.sets(indexes, max_size=40), st.lists(indexes, max_size=40))
def test_a_bit_reads_set_exactly_when_it_was_set(set_bits: set[int], probes: list[int]) -> None:
    bitstring = decode_list(encode_list(set_bits))
    assert len(bitstring) * 8 == MINIMUM_BITS
    for index in [*set_bits, *probes]:
        assert bit_is_set(bitstring, index) == (index in set_bits)


def test_index_zero_is_the_most_significant_bit_of_the_first_byte() -> None:
    """As the specification's worked example: the left-most bit is index 0."""
    bitstring = decode_list(encode_list([0, 9]))
    assert bitstring[:2] == bytes([0b1000_0000, 0b0100_0000])


def test_the_encoding_is_multibase_base64url_of_gzip() -> None:
    encoded = encode_list([5])
    assert encoded.startswith("u") and "=" not in encoded and "+" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert raw[0] == 0b0000_0100 and len(raw) == MINIMUM_BITS // 8


def test_encoding_is_deterministic() -> None:
    assert encode_list([1, 2, 3]) == encode_list([3, 2, 1])


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "zABC",
        "u!!!",
        "u" + base64.urlsafe_b64encode(b"x").decode(),
        "u" + base64.urlsafe_b64encode(gzip.compress(b"\x00" * 100, mtime=0)).decode(),
    ],
)
def test_what_is_not_an_encoded_list_is_refused(encoded: str) -> None:
    with pytest.raises(InvalidInputError, match="encodedList"):
        decode_list(encoded)


@pytest.mark.parametrize("bits", [[-1], [MINIMUM_BITS]])
def test_an_index_outside_the_list_is_refused(bits: list[int]) -> None:
    with pytest.raises(InvalidInputError, match="outside"):
        encode_list(bits)
    with pytest.raises(InvalidInputError, match="outside"):
        bit_is_set(decode_list(encode_list([])), bits[0])


@pytest.mark.parametrize("length", [8, MINIMUM_BITS - 8, MINIMUM_BITS + 1])
def test_a_list_shorter_than_the_minimum_or_not_whole_bytes_is_refused(length: int) -> None:
    with pytest.raises(InvalidInputError, match="at least"):
        encode_list([], length)


def test_entry_and_list_credential_have_the_shape_of_the_specification() -> None:
    url = "https://ledger.example/status-lists/certificates/C2025-AAAAAAAAAA"
    entry = status_entry(url, 0)
    assert entry == {
        "id": url + "#0",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "0",
        "statusListCredential": url,
    }
    credential = status_list_credential(
        list_url=url, issuer="did:key:z6Mk", set_bits=[0], valid_from="2025-01-01T00:00:00Z"
    )
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    subject = credential["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["id"] == url + "#list"
    assert bit_is_set(decode_list(subject["encodedList"]), 0)
