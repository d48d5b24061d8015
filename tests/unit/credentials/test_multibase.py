"""Base58btc and multibase: the encoding of every proofValue and public key in a credential."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.credentials import (
    base58btc_decode,
    base58btc_encode,
    multibase_decode,
    multibase_encode,
)
from ledger.credentials.multibase import BASE58BTC_ALPHABET, MAX_BASE58_LENGTH
from ledger.errors import InvalidInputError

# From the IETF base58 draft (draft-msporny-base58) and Bitcoin's encoding.
KNOWN = [
    (b"", ""),
    (b"\0", "1"),
    (b"\0\0\0", "111"),
    (b"Hello World!", "2NEpo7TZRRrLZSi2U"),
    (
        b"The quick brown fox jumps over the lazy dog.",
        "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z",
    ),
    (bytes.fromhex("0000287fb4cd"), "11233QC4"),
]


@pytest.mark.parametrize(("data", "text"), KNOWN)
def test_known_base58btc_encodings(data: bytes, text: str) -> None:
    assert base58btc_encode(data) == text
    assert base58btc_decode(text) == data


@given(st.binary(max_size=300))
def test_base58btc_decodes_what_it_encodes(data: bytes) -> None:
    assert base58btc_decode(base58btc_encode(data)) == data


@given(st.text(alphabet=BASE58BTC_ALPHABET, max_size=200))
def test_every_base58btc_string_has_exactly_one_spelling(text: str) -> None:
    assert base58btc_encode(base58btc_decode(text)) == text


@given(st.binary(max_size=100))
def test_multibase_is_z_then_base58btc(data: bytes) -> None:
    encoded = multibase_encode(data)
    assert encoded == "z" + base58btc_encode(data)
    assert multibase_decode(encoded) == data


@pytest.mark.parametrize("char", ["0", "O", "I", "l", "+", "/", " ", "é"])
def test_characters_outside_the_alphabet_are_refused(char: str) -> None:
    with pytest.raises(InvalidInputError, match="not a base58btc character"):
        base58btc_decode("2NEpo7" + char)


@pytest.mark.parametrize("text", ["", "2NEpo7TZRRrLZSi2U", "mSGVsbG8", "uSGVsbG8", "f48656c6c6f"])
def test_only_the_base58btc_multibase_header_is_accepted(text: str) -> None:
    with pytest.raises(InvalidInputError, match="must start with 'z'"):
        multibase_decode(text)


def test_overlong_input_is_refused_before_any_arithmetic() -> None:
    with pytest.raises(InvalidInputError, match="longer than"):
        base58btc_decode("2" * (MAX_BASE58_LENGTH + 1))
