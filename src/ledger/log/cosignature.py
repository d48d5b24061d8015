"""Ed25519 witness cosignatures (c2sp.org/tlog-cosignature, signature type 0x04).

A cosignature is a note signature whose bytes are an 8-byte big-endian POSIX timestamp followed
by an Ed25519 signature of ``cosignature/v1\\ntime <timestamp>\\n`` and the checkpoint text. It
states that, at that time, this was the largest consistent checkpoint the cosigner had seen for
the log. The Ed25519 message does not name the cosigner, so each cosigner needs its own key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidInputError, NoteError
from ..signing import Signer, VerifyingKey
from .note import (
    MAX_TIMESTAMP,
    SIG_COSIGNATURE_V1,
    NoteSignature,
    NoteVerifier,
    _cosigned_message,
    note_key_id,
    parse_note,
    parse_signature_line,
    verifier_key_string,
)

_TIMESTAMP_SIZE = 8
_SIGNATURE_SIZE = 64


def _check_timestamp(timestamp: int) -> int:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise InvalidInputError("a cosignature timestamp is an integer number of seconds")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise InvalidInputError(f"cosignature timestamp {timestamp} is out of range")
    return timestamp


def cosignature_message(checkpoint_text: str, timestamp: int) -> bytes:
    """The exact bytes a v1 cosignature signs for ``checkpoint_text`` at ``timestamp``."""
    return _cosigned_message(checkpoint_text.encode("utf-8"), _check_timestamp(timestamp))


def cosignature_key_id(name: str, public_key_raw: bytes) -> bytes:
    """``SHA-256(name || 0x0A || 0x04 || public key)[:4]``, the id of a cosigner key."""
    return note_key_id(name, public_key_raw, sig_type=SIG_COSIGNATURE_V1)


def cosigner_verifier(name: str, public_key: VerifyingKey) -> NoteVerifier:
    """The note verifier for a cosigner, for policies and for :func:`~.note.open_note`."""
    return NoteVerifier.for_key(name, public_key, cosignature=True)


def cosigner_key_string(name: str, public_key_raw: bytes) -> str:
    """A cosigner's vkey string, ``<name>+<hex id>+base64(0x04 || public key)``."""
    return verifier_key_string(name, public_key_raw, sig_type=SIG_COSIGNATURE_V1)


@dataclass(frozen=True)
class Cosignature:
    """One parsed cosignature: who, with which key id, when, and the Ed25519 signature."""

    name: str
    key_id: bytes
    timestamp: int
    signature: bytes

    @classmethod
    def from_note_signature(cls, signature: NoteSignature) -> Cosignature:
        """Read the timestamp and signature out of a note signature line of type 0x04."""
        blob = signature.signature
        if len(blob) != _TIMESTAMP_SIZE + _SIGNATURE_SIZE:
            raise NoteError(f"signature of {signature.name!r} is not a v1 cosignature")
        timestamp = int.from_bytes(blob[:_TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            raise NoteError(f"cosignature of {signature.name!r} has an out-of-range timestamp")
        return cls(signature.name, signature.key_id, timestamp, blob[_TIMESTAMP_SIZE:])

    @property
    def note_signature(self) -> NoteSignature:
        blob = self.timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + self.signature
        return NoteSignature(self.name, self.key_id, blob)

    @property
    def line(self) -> str:
        """The newline-terminated signature line to append to the checkpoint note."""
        return self.note_signature.line


def cosign(checkpoint_text: str, name: str, signer: Signer, timestamp: int) -> Cosignature:
    """Cosign a checkpoint text as ``name`` at ``timestamp`` (POSIX seconds)."""
    message = cosignature_message(checkpoint_text, timestamp)
    key_id = cosignature_key_id(name, signer.public_key.raw)
    return Cosignature(name, key_id, timestamp, signer.sign(message))


def verify_cosignature(
    checkpoint_text: str, cosignature: Cosignature, verifier: NoteVerifier
) -> None:
    """Return None if ``cosignature`` is ``verifier``'s valid cosignature of the checkpoint text."""
    if not verifier.cosignature:
        raise InvalidInputError(f"verifier {verifier.name!r} is not a cosigner key")
    if (cosignature.name, cosignature.key_id) != (verifier.name, verifier.key_id):
        raise NoteError(f"cosignature is not from {verifier.name}+{verifier.key_id.hex()}")
    if not verifier.verify(checkpoint_text.encode("utf-8"), cosignature.note_signature.signature):
        raise NoteError(f"invalid cosignature from {verifier.name}+{verifier.key_id.hex()}")


class CosignatureSigner:
    """A :class:`~.note.TextSigner` that cosigns at one fixed time, for :func:`~.note.sign_note`."""

    __slots__ = ("key_id", "name", "signer", "timestamp")

    def __init__(self, name: str, signer: Signer, timestamp: int) -> None:
        self.name = name
        self.signer = signer
        self.timestamp = _check_timestamp(timestamp)
        self.key_id = cosignature_key_id(name, signer.public_key.raw)

    def sign_text(self, text: bytes) -> bytes:
        signature = self.signer.sign(_cosigned_message(text, self.timestamp))
        return self.timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature


def merge_cosignatures(note: str, lines: str, witnesses: Sequence[NoteVerifier]) -> str:
    """Add the witness cosignature ``lines`` to ``note`` once each verifies.

    Every line must be a v1 cosignature from one of ``witnesses`` that verifies over the note's
    text; a line that does not is refused with :class:`NoteError`, so nothing unverified is ever
    kept beside a checkpoint. A newer cosignature from the same key replaces the older one.
    """
    text, existing = parse_note(note)
    known = {(w.name, w.key_id): w for w in witnesses if w.cosignature}
    added: dict[tuple[str, bytes], NoteSignature] = {}
    for line in lines.splitlines():
        signature = parse_signature_line(line)
        slot = (signature.name, signature.key_id)
        verifier = known.get(slot)
        if verifier is None:
            raise NoteError(
                f"cosignature from {signature.name}+{signature.key_id.hex()}, "
                "which is not a configured witness key"
            )
        verify_cosignature(text, Cosignature.from_note_signature(signature), verifier)
        added[slot] = signature
    if not added:
        raise NoteError("no cosignature line was given")
    kept = [s for s in existing if (s.name, s.key_id) not in added]
    return text + "\n" + "".join(s.line for s in [*kept, *added.values()])
