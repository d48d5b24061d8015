"""C2SP signed notes, checked against the reference examples byte for byte.

The PeterNeumann and EnochRoot keys and notes are the worked example of golang.org/x/mod/sumdb/note,
the reference implementation of the signed-note format; the Quasimodo note is the example that
opens c2sp.org/signed-note.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import InvalidInputError, NoteError
from ledger.log.note import (
    MAX_SIGNATURES,
    NoteSigner,
    NoteVerifier,
    append_signatures,
    note_key_id,
    open_note,
    parse_note,
    parse_verifier_key,
    sign_note,
    verifier_key_string,
    verify_note,
)
from ledger.signing import SigningKey

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdng"
    "otpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLo"
    "x33WWd1RvMc+QQ=\n"
)
QUASIMODO = (
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed \u00e8 subito sera.\n"
    "\n"
    "\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONr"
    "MouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)


def peter_signer() -> NoteSigner:
    seed = base64.b64decode(PETER_SKEY.split("+", 4)[-1])[1:]
    return NoteSigner("PeterNeumann", SigningKey.from_private_bytes(seed))


def test_key_id_and_verifier_key_reproduce_the_reference_example() -> None:
    signer = peter_signer()
    raw = signer.signer.public_key.raw
    assert note_key_id("PeterNeumann", raw).hex() == "c74f20a3"
    assert verifier_key_string("PeterNeumann", raw) == PETER_VKEY
    assert signer.verifier.key_string == PETER_VKEY


def test_signing_reproduces_the_reference_note_byte_for_byte() -> None:
    assert sign_note(TEXT, [peter_signer()]) == TEXT + "\n" + PETER_SIG


def test_reference_note_verifies_with_its_verifier_key() -> None:
    assert verify_note(TEXT + "\n" + PETER_SIG, [parse_verifier_key(PETER_VKEY)]) == TEXT


def test_unknown_signatures_are_ignored_and_known_ones_all_checked() -> None:
    peter, enoch = parse_verifier_key(PETER_VKEY), parse_verifier_key(ENOCH_VKEY)
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    opened = open_note(note, [peter])
    assert [key for key, _ in opened.verified] == [peter]
    assert [sig.name for sig in opened.unverified] == ["EnochRoot"]
    both = open_note(note, [peter, enoch])
    assert [key for key, _ in both.verified] == [peter, enoch]
    assert both.unverified == ()


def test_note_without_a_trusted_signature_is_refused() -> None:
    with pytest.raises(NoteError, match="no valid signature"):
        verify_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])


def test_a_failing_signature_from_a_known_key_refuses_the_whole_note() -> None:
    peter, enoch = parse_verifier_key(PETER_VKEY), parse_verifier_key(ENOCH_VKEY)
    forged = ENOCH_SIG.replace("eBzm", "eBzn")
    with pytest.raises(NoteError, match="invalid signature"):
        verify_note(TEXT + "\n" + PETER_SIG + forged, [peter, enoch])
    with pytest.raises(NoteError, match="invalid signature"):
        verify_note(TEXT.replace("problem", "Problem") + "\n" + PETER_SIG, [peter])


def test_same_name_with_another_key_id_is_an_unknown_key() -> None:
    peter = parse_verifier_key(PETER_VKEY)
    impostor = NoteVerifier("PeterNeumann", b"\x00\x00\x00\x00", peter.public_key)
    with pytest.raises(NoteError, match="no valid signature"):
        verify_note(TEXT + "\n" + PETER_SIG, [impostor])


def test_note_text_may_hold_blank_lines_as_in_the_spec_example() -> None:
    text, signatures = parse_note(QUASIMODO)
    assert text == QUASIMODO.split("\n\n\u2014")[0] + "\n"
    assert text.count("\n\n") == 1
    assert [(s.name, len(s.signature)) for s in signatures] == [("quasimodo.example/salvatore", 64)]


def test_verifier_key_rejects_every_mangling() -> None:
    assert parse_verifier_key(PETER_VKEY).name == "PeterNeumann"
    for start in range(len(PETER_VKEY)):
        for end in range(start + 1, len(PETER_VKEY) + 1):
            if (start, end) != (0, len(PETER_VKEY)):
                with pytest.raises(InvalidInputError):
                    parse_verifier_key(PETER_VKEY[start:end])
    for position in range(len(PETER_VKEY)):
        changed = (
            PETER_VKEY[:position] + chr(ord(PETER_VKEY[position]) + 1) + PETER_VKEY[position + 1 :]
        )
        with pytest.raises(InvalidInputError):
            parse_verifier_key(changed)
    # A wrong-length key and an unknown algorithm, each with a key id recomputed to match.
    with pytest.raises(InvalidInputError):
        parse_verifier_key(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
    with pytest.raises(InvalidInputError):
        parse_verifier_key("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


@pytest.mark.parametrize(
    "note",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT
        + "\n"
        + "\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNX"
        "gKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + "\u2014 PeterNeumann AAAA\n",
        TEXT + "\n" + "\u2014 PeterNeumann not-base64!\n",
        TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1),
    ],
    ids=[
        "no-signatures",
        "blank-line-only",
        "unterminated-signature",
        "control-character",
        "name-with-space",
        "trailing-text",
        "signature-too-short",
        "signature-not-base64",
        "too-many-signatures",
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(NoteError):
        verify_note(note, [parse_verifier_key(PETER_VKEY)])


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(NoteError):
        parse_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode())


def test_a_note_accepts_at_least_sixteen_signatures() -> None:
    note = TEXT + "\n" + PETER_SIG * 16 + ENOCH_SIG * 16
    assert verify_note(note, [parse_verifier_key(PETER_VKEY)]) == TEXT


def test_signing_refuses_text_the_format_cannot_carry() -> None:
    with pytest.raises(NoteError):
        sign_note("no final newline", [peter_signer()])
    with pytest.raises(NoteError):
        sign_note("tab\there\n", [peter_signer()])
    with pytest.raises(InvalidInputError):
        NoteSigner("two words", SigningKey.generate())
    with pytest.raises(InvalidInputError):
        NoteSigner("a+b", SigningKey.generate())


def test_appending_signature_lines_keeps_the_note_valid() -> None:
    note = sign_note(TEXT, [peter_signer()])
    combined = append_signatures(note, ENOCH_SIG)
    assert combined == TEXT + "\n" + PETER_SIG + ENOCH_SIG
    with pytest.raises(NoteError):
        append_signatures(note, "not a signature\n")


names = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="+"
    ),
    min_size=1,
    max_size=20,
)
texts = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30), min_size=1
).map(lambda lines: "\n".join(lines) + "\n")


@settings(max_examples=40, deadline=None)
@given(names, texts)
def test_any_valid_note_round_trips(name: str, text: str) -> None:
    signer = NoteSigner(name, SigningKey.generate())
    note = sign_note(text, [signer])
    assert verify_note(note, [signer.verifier]) == text
    assert parse_verifier_key(signer.verifier.key_string) == signer.verifier
