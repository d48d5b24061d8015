"""Offline receipts (c2sp.org/tlog-proof@v1): exact layout, round trip, tamper detection."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from log_helpers import build

from ledger.errors import InclusionProofError, NoteError
from ledger.log.checkpoint import Checkpoint, sign_checkpoint
from ledger.log.merkle import inclusion_proof, leaf_hash, root_hash
from ledger.log.note import NoteSigner, append_signatures
from ledger.log.policy import Policy
from ledger.log.receipt import format_receipt, parse_receipt, verify_receipt
from ledger.log.witness import Witness
from ledger.signing import SigningKey

ORIGIN = "hours.example/log"
LOG = NoteSigner(ORIGIN, SigningKey.from_private_bytes(bytes(32)))
LEAVES = [f"record {i}".encode() for i in range(11)]
STORE, BUILDER = build(LEAVES)
NOTE = sign_checkpoint(Checkpoint(ORIGIN, 11, BUILDER.root()), [LOG])


def _receipt(index: int, extra: bytes | None = None) -> str:
    return format_receipt(index, inclusion_proof(index, 11, STORE.reader), NOTE, extra)


def test_receipt_layout_follows_the_spec_line_by_line() -> None:
    proof = inclusion_proof(5, 11, STORE.reader)
    text = format_receipt(5, proof, NOTE, b"hint")
    expected = (
        "c2sp.org/tlog-proof@v1\n"
        f"extra {base64.b64encode(b'hint').decode()}\n"
        "index 5\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof) + "\n" + NOTE
    )
    assert text == expected
    assert format_receipt(5, proof, NOTE).startswith("c2sp.org/tlog-proof@v1\nindex 5\n")


@settings(max_examples=11, deadline=None)
@given(st.integers(0, 10), st.none() | st.binary(max_size=40))
def test_receipt_round_trips_and_verifies(index: int, extra: bytes | None) -> None:
    text = _receipt(index, extra)
    receipt = parse_receipt(text)
    assert (receipt.index, receipt.extra, receipt.checkpoint_note) == (index, extra, NOTE)
    assert receipt.to_text() == text
    assert verify_receipt(text, LEAVES[index], LOG.verifier).size == 11
    assert (
        verify_receipt(text, leaf_hash(LEAVES[index]), LOG.verifier, leaf_is_hash=True).size == 11
    )


def test_receipt_for_another_entry_fails() -> None:
    with pytest.raises(InclusionProofError):
        verify_receipt(_receipt(4), LEAVES[5], LOG.verifier)
    with pytest.raises(InclusionProofError):
        verify_receipt(_receipt(4), b"record 4 ", LOG.verifier)


def test_tampered_receipts_are_refused() -> None:
    text = _receipt(3)
    lines = text.split("\n")
    flipped = base64.b64encode(
        bytes([base64.b64decode(lines[2])[0] ^ 1]) + base64.b64decode(lines[2])[1:]
    )
    with pytest.raises(InclusionProofError):
        verify_receipt(
            "\n".join([lines[0], lines[1], flipped.decode(), *lines[3:]]), LEAVES[3], LOG.verifier
        )
    with pytest.raises(InclusionProofError):
        verify_receipt(text.replace("index 3", "index 2"), LEAVES[3], LOG.verifier)
    with pytest.raises(NoteError):
        verify_receipt(text.replace("\n11\n", "\n12\n"), LEAVES[3], LOG.verifier)
    with pytest.raises(NoteError):
        verify_receipt(text, LEAVES[3], NoteSigner(ORIGIN, SigningKey.generate()).verifier)


def test_receipt_can_require_witness_cosignatures() -> None:
    witness = Witness("w.example", SigningKey.generate())
    policy = Policy([LOG.verifier], [witness.verifier], quorum=1)
    with pytest.raises(NoteError, match="quorum"):
        verify_receipt(_receipt(2), LEAVES[2], policy)
    cosigned = append_signatures(NOTE, witness.cosign(None, NOTE, [], LOG.verifier, 1))
    text = format_receipt(2, inclusion_proof(2, 11, STORE.reader), cosigned)
    assert verify_receipt(text, LEAVES[2], policy) == Checkpoint(
        ORIGIN, 11, root_hash(11, STORE.reader)
    )


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"),
        lambda t: t.replace("index 3", "index 03"),
        lambda t: t.replace("index 3", "index -3"),
        lambda t: t.replace("index 3\n", ""),
        lambda t: t.replace("index 3\n", "index 3\nextra AAAA\n"),
        lambda t: t.replace("index 3\n", "index 3\nnot base64\n"),
        lambda t: t.replace("index 3\n", "index 3\nAAAA\n"),
        lambda t: t.replace("\n\n", "\n", 1),
    ],
    ids=[
        "wrong-header",
        "leading-zero-index",
        "negative-index",
        "missing-index",
        "extra-after-index",
        "hash-not-base64",
        "hash-too-short",
        "no-blank-line",
    ],
)
def test_malformed_receipts_are_refused(mangle: object) -> None:
    assert callable(mangle)
    with pytest.raises(NoteError):
        parse_receipt(mangle(_receipt(3)))
