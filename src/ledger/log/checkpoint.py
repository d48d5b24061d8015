"""C2SP checkpoints: the signed tree head of a transparency log (c2sp.org/tlog-checkpoint).

A checkpoint is a signed note whose text is the log's origin, the tree size in decimal and the
base64 root hash, each on its own line, optionally followed by extension lines. Parsing is strict
(no leading zeros, canonical base64, a 32-byte root) so that one tree head has one text, and two
different texts for the same size are evidence, not noise.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import ConsistencyProofError, NoteError, SplitViewError
from ..signing import b64encode
from .merkle import HASH_SIZE, MAX_TREE_SIZE, verify_consistency
from .note import NoteVerifier, TextSigner, open_note, sign_note

_DECIMAL = re.compile(r"0|[1-9][0-9]*", re.ASCII)


def _has_control(text: str) -> bool:
    return any(ord(ch) < 0x20 for ch in text)


def decode_hash(text: str, what: str) -> bytes:
    """Decode one canonical base64 SHA-256 hash, as checkpoints and proofs print them."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise NoteError(f"{what} is not base64") from None
    if len(raw) != HASH_SIZE or b64encode(raw) != text:
        raise NoteError(f"{what} is not the canonical base64 of a {HASH_SIZE}-byte hash")
    return raw


def parse_decimal(text: str, what: str) -> int:
    """Parse an ASCII decimal with no leading zeros, as every tlog format writes numbers."""
    # Compared by length first: past 4300 digits ``int`` itself refuses (a ValueError, not a
    # refusal), and no size in range has more than 20.
    if not _DECIMAL.fullmatch(text) or len(text) > 20 or int(text) > MAX_TREE_SIZE:
        raise NoteError(f"{what} {text!r} is not a decimal number without leading zeros")
    return int(text)


@dataclass(frozen=True)
class Checkpoint:
    """The body of a checkpoint note: which log, how many leaves, and the root over them."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or _has_control(self.origin):
            raise NoteError("a checkpoint origin must be a non-empty line")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise NoteError("a checkpoint size must be an integer")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise NoteError(f"checkpoint size {self.size} is out of range")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise NoteError(f"a checkpoint root hash must be {HASH_SIZE} bytes")
        if any(not line or _has_control(line) for line in self.extensions):
            raise NoteError("checkpoint extension lines must be non-empty single lines")

    def to_text(self) -> str:
        """The note text: origin, size, base64 root and any extension lines, newline-terminated."""
        lines = [self.origin, str(self.size), b64encode(self.root_hash), *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text strictly; raise :class:`NoteError` if it is malformed."""
        if not text.endswith("\n"):
            raise NoteError("a checkpoint text must end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("a checkpoint needs an origin, a size and a root hash line")
        origin, size, root, *extensions = lines
        if not origin:
            raise NoteError("a checkpoint origin must not be empty")
        return cls(
            origin,
            parse_decimal(size, "checkpoint size"),
            decode_hash(root, "checkpoint root hash"),
            tuple(extensions),
        )


class CheckpointPolicy(Protocol):
    """Anything that decides whether a checkpoint note is trustworthy, such as a witness policy."""

    def verify(self, note: str) -> Checkpoint: ...


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[TextSigner]) -> str:
    """The checkpoint as a signed note. The log's key name should equal the origin."""
    return sign_note(checkpoint.to_text(), signers)


def open_checkpoint(
    note: str,
    verifier: NoteVerifier | Sequence[NoteVerifier] | CheckpointPolicy,
    *,
    origin: str | None = None,
) -> Checkpoint:
    """Verify a checkpoint note and return its checkpoint.

    With log keys, a non-cosignature signature from one of them must verify, and the origin must
    be ``origin`` when given, else the name of a log key that signed (as tlog-policy requires of
    log keys). With a policy, the policy decides.
    """
    if isinstance(verifier, NoteVerifier):
        verifier = [verifier]
    if isinstance(verifier, Sequence):
        opened = open_note(note, verifier)
        checkpoint = Checkpoint.parse(opened.text)
        signers = {key.name for key, _ in opened.verified if not key.cosignature}
        if not signers:
            raise NoteError("checkpoint has no valid signature from a log key")
        expected = {origin} if origin is not None else signers
    else:
        checkpoint = verifier.verify(note)
        expected = {origin} if origin is not None else {checkpoint.origin}
    if checkpoint.origin not in expected:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not the expected log")
    return checkpoint


def check_consistency(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Return None if ``new`` extends ``old`` of the same log, as ``proof`` shows.

    Growing from the empty tree needs an empty proof, as tlog-witness requires. Equal sizes with
    different roots raise :class:`SplitViewError`; a smaller new size or a proof that does not
    verify raises :class:`ConsistencyProofError`.
    """
    if old.origin != new.origin:
        raise ConsistencyProofError(f"checkpoints of {old.origin!r} and {new.origin!r} differ")
    if new.size < old.size:
        raise ConsistencyProofError(f"new size {new.size} is smaller than old size {old.size}")
    if new.size == old.size and new.root_hash != old.root_hash:
        raise SplitViewError(
            f"two roots for size {new.size} of {new.origin!r}",
            trusted_note=old.to_text(),
            new_note=new.to_text(),
        )
    if old.size == 0:
        if proof:
            raise ConsistencyProofError("a proof from the empty tree must be empty")
        return
    verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
