"""Offline receipts: proofs that an entry is in the log (c2sp.org/tlog-proof@v1).

A receipt is the line ``c2sp.org/tlog-proof@v1``, an optional ``extra <base64>`` line, the line
``index <n>``, the inclusion proof one base64 hash per line (leaf's sibling first), a blank line,
then the signed checkpoint note verbatim. Anyone holding the log's public key (and, with a
policy, its witnesses' keys) can check it without contacting the ledger. The extra data is not
authenticated: treat it as a hint, never as evidence.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidInputError, NoteError
from ..signing import b64encode
from .checkpoint import Checkpoint, CheckpointPolicy, decode_hash, open_checkpoint, parse_decimal
from .merkle import HASH_SIZE, leaf_hash, verify_inclusion
from .note import NoteVerifier, parse_note

HEADER = "c2sp.org/tlog-proof@v1"
FILE_EXTENSION = ".tlog-proof"
MAX_PROOF_HASHES = 63


@dataclass(frozen=True)
class Receipt:
    """A parsed tlog-proof: entry index, inclusion proof, checkpoint note and extra data."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None

    def to_text(self) -> str:
        return format_receipt(self.index, self.proof, self.checkpoint_note, self.extra)


def format_receipt(
    index: int, proof_hashes: Sequence[bytes], checkpoint_note: str, extra: bytes | None = None
) -> str:
    """Lay out a receipt exactly as tlog-proof@v1 specifies."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise InvalidInputError("a receipt index is a non-negative integer")
    if any(len(h) != HASH_SIZE for h in proof_hashes) or len(proof_hashes) > MAX_PROOF_HASHES:
        raise InvalidInputError(f"an inclusion proof is at most 63 hashes of {HASH_SIZE} bytes")
    parse_note(checkpoint_note)
    lines = [HEADER]
    if extra is not None:
        lines.append(f"extra {b64encode(extra)}")
    lines.append(f"index {index}")
    lines.extend(b64encode(h) for h in proof_hashes)
    return "\n".join(lines) + "\n\n" + checkpoint_note


def _decode_extra(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise NoteError("receipt extra data is not base64") from None
    if b64encode(raw) != text:
        raise NoteError("receipt extra data is not canonical base64")
    return raw


def parse_receipt(text: str) -> Receipt:
    """Parse a receipt strictly; raise :class:`NoteError` naming what is malformed."""
    head, separator, note = text.partition("\n\n")
    lines = head.split("\n")
    if not separator or lines[0] != HEADER:
        raise NoteError(f"a receipt starts with {HEADER!r} and has a blank line before its note")
    lines = lines[1:]
    extra = None
    if lines and lines[0].startswith("extra "):
        extra = _decode_extra(lines.pop(0)[len("extra ") :])
    if not lines or not lines[0].startswith("index "):
        raise NoteError("a receipt needs an 'index <n>' line")
    index = parse_decimal(lines.pop(0)[len("index ") :], "receipt index")
    if len(lines) > MAX_PROOF_HASHES:
        raise NoteError(f"an inclusion proof has at most {MAX_PROOF_HASHES} hashes")
    proof = tuple(decode_hash(line, "inclusion proof hash") for line in lines)
    parse_note(note)
    return Receipt(index, proof, note, extra)


def verify_receipt(
    text: str,
    leaf: bytes,
    verifier: NoteVerifier | Sequence[NoteVerifier] | CheckpointPolicy,
    *,
    leaf_is_hash: bool = False,
) -> Checkpoint:
    """Check a receipt for ``leaf`` (entry bytes, or its leaf hash with ``leaf_is_hash``).

    Verifies the checkpoint's signatures (or the policy) first, then the inclusion proof against
    its root, and returns the checkpoint the entry is proven to be in.
    """
    receipt = parse_receipt(text)
    checkpoint = open_checkpoint(receipt.checkpoint_note, verifier)
    hashed = leaf if leaf_is_hash else leaf_hash(leaf)
    verify_inclusion(hashed, receipt.index, checkpoint.size, receipt.proof, checkpoint.root_hash)
    return checkpoint
