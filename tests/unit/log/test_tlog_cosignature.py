"""Ed25519 witness cosignatures (c2sp.org/tlog-cosignature)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from spec_examples import CHECKPOINT_TEXT, COSIGNATURE, COSIGNED_MESSAGE, LOG_SIGNATURE

from ledger.errors import InvalidInputError, NoteError
from ledger.log.cosignature import (
    Cosignature,
    CosignatureSigner,
    cosign,
    cosignature_key_id,
    cosignature_message,
    cosigner_key_string,
    cosigner_verifier,
    verify_cosignature,
)
from ledger.log.note import (
    NoteSigner,
    append_signatures,
    note_key_id,
    open_note,
    parse_note,
    parse_verifier_key,
    sign_note,
)
from ledger.signing import SigningKey

WITNESS_SEED = bytes(range(100, 132))


def test_spec_example_cosignature_carries_its_timestamp_and_signs_the_spec_message() -> None:
    _, signatures = parse_note(CHECKPOINT_TEXT + "\n" + LOG_SIGNATURE + COSIGNATURE)
    cosignature = Cosignature.from_note_signature(signatures[1])
    assert cosignature.name == "witness.example.com/w1"
    assert cosignature.timestamp == 1679315147
    assert len(cosignature.signature) == 64
    assert cosignature.line == COSIGNATURE
    assert cosignature_message(CHECKPOINT_TEXT, 1679315147) == COSIGNED_MESSAGE.encode()


def test_cosigner_key_id_uses_signature_type_0x04() -> None:
    raw = SigningKey.from_private_bytes(WITNESS_SEED).public_key.raw
    expected = hashlib.sha256(b"witness.example/w1\n\x04" + raw).digest()[:4]
    assert cosignature_key_id("witness.example/w1", raw) == expected
    assert expected != note_key_id("witness.example/w1", raw)
    vkey = cosigner_key_string("witness.example/w1", raw)
    assert (
        vkey == f"witness.example/w1+{expected.hex()}+" + base64.b64encode(b"\x04" + raw).decode()
    )
    assert parse_verifier_key(vkey).cosignature


def test_cosignature_round_trips_through_the_note() -> None:
    key = SigningKey.from_private_bytes(WITNESS_SEED)
    cosignature = cosign(CHECKPOINT_TEXT, "witness.example/w1", key, 1700000000)
    verifier = cosigner_verifier("witness.example/w1", key.public_key)
    verify_cosignature(CHECKPOINT_TEXT, cosignature, verifier)
    log = NoteSigner("example.com/behind-the-sofa", SigningKey.generate())
    note = append_signatures(sign_note(CHECKPOINT_TEXT, [log]), cosignature.line)
    opened = open_note(note, [verifier])
    assert [key for key, _ in opened.verified] == [verifier]
    parsed = Cosignature.from_note_signature(opened.verified[0][1])
    assert parsed == cosignature


def test_cosignature_signer_works_with_sign_note() -> None:
    key = SigningKey.from_private_bytes(WITNESS_SEED)
    signer = CosignatureSigner("witness.example/w1", key, 42)
    note = sign_note(CHECKPOINT_TEXT, [signer])
    verifier = cosigner_verifier("witness.example/w1", key.public_key)
    assert open_note(note, [verifier]).text == CHECKPOINT_TEXT


def test_cosignature_fails_for_another_time_text_or_key() -> None:
    key = SigningKey.from_private_bytes(WITNESS_SEED)
    verifier = cosigner_verifier("w", key.public_key)
    good = cosign(CHECKPOINT_TEXT, "w", key, 1000)
    moved = Cosignature(good.name, good.key_id, 1001, good.signature)
    with pytest.raises(NoteError):
        verify_cosignature(CHECKPOINT_TEXT, moved, verifier)
    with pytest.raises(NoteError):
        verify_cosignature(CHECKPOINT_TEXT.replace("2085", "2086"), good, verifier)
    stranger = cosigner_verifier("w", SigningKey.generate().public_key)
    with pytest.raises(NoteError):
        verify_cosignature(CHECKPOINT_TEXT, good, stranger)


def test_a_log_signature_is_not_a_cosignature_and_the_reverse() -> None:
    key = SigningKey.from_private_bytes(WITNESS_SEED)
    plain = NoteSigner("w", key)
    as_cosigner = cosigner_verifier("w", key.public_key)
    with pytest.raises(NoteError):
        open_note(sign_note(CHECKPOINT_TEXT, [plain]), [as_cosigner])
    with pytest.raises(NoteError):
        open_note(sign_note(CHECKPOINT_TEXT, [CosignatureSigner("w", key, 5)]), [plain.verifier])
    with pytest.raises(InvalidInputError):
        verify_cosignature(CHECKPOINT_TEXT, cosign(CHECKPOINT_TEXT, "w", key, 5), plain.verifier)


def test_timestamps_beyond_the_spec_range_are_refused() -> None:
    key = SigningKey.from_private_bytes(WITNESS_SEED)
    with pytest.raises(InvalidInputError):
        cosign(CHECKPOINT_TEXT, "w", key, 2**63)
    with pytest.raises(InvalidInputError):
        cosign(CHECKPOINT_TEXT, "w", key, -1)
