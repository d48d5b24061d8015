"""C2SP signed notes: text signed by one or more named keys (c2sp.org/signed-note).

A note is its text (ending in a newline), a blank line, then signature lines
``— <key name> base64(key id || signature)``. A key is identified by its name together with a
4-byte key id, ``SHA-256(name || 0x0A || signature type || public key)[:4]``; that id is not the
ledger's own key id, which names keys inside events.

Verification follows the spec: signatures from unknown (name, key id) pairs are ignored, any
signature from a known key must verify (or the whole note is refused), and at least one must.
Two signature types are supported: Ed25519 (0x01) and the timestamped Ed25519 witness
cosignature of c2sp.org/tlog-cosignature (0x04).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import InvalidInputError, NoteError, SignatureError
from ..signing import Signer, VerifyingKey, b64encode

SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
KEY_ID_SIZE = 4
MAX_SIGNATURES = 100
MAX_NOTE_SIZE = 1_000_000
SIGNATURE_PREFIX = "\u2014 "
COSIGNATURE_HEADER = "cosignature/v1"
MAX_TIMESTAMP = 2**63 - 1
_TIMESTAMP_SIZE = 8
_ED25519_SIZE = 64


def is_valid_key_name(name: str) -> bool:
    """Key names are non-empty and hold no Unicode space, no plus sign and no control character."""
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and not any(ch.isspace() or ord(ch) < 0x20 for ch in name)
        and _is_utf8(name)
    )


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def note_key_id(name: str, public_key_raw: bytes, *, sig_type: int = SIG_ED25519) -> bytes:
    """The 4-byte key id: ``SHA-256(name || 0x0A || sig_type || public key)[:4]``."""
    if not is_valid_key_name(name):
        raise InvalidInputError(f"invalid note key name {name!r}")
    material = name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key_raw
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


def verifier_key_string(name: str, public_key_raw: bytes, *, sig_type: int = SIG_ED25519) -> str:
    """The verifier key (vkey) text ``<name>+<hex key id>+<base64(type || public key)>``."""
    key_id = note_key_id(name, public_key_raw, sig_type=sig_type)
    return f"{name}+{key_id.hex()}+{b64encode(bytes([sig_type]) + public_key_raw)}"


def _cosigned_message(text: bytes, timestamp: int) -> bytes:
    """What an Ed25519 cosignature signs: a header, a time line, then the note text."""
    return f"{COSIGNATURE_HEADER}\ntime {timestamp}\n".encode() + text


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted key that can verify note signatures: its name, key id and public key.

    ``cosignature`` marks a tlog-cosignature key (signature type 0x04), whose signatures carry a
    timestamp and sign a prefixed message rather than the bare note text.
    """

    name: str
    key_id: bytes
    public_key: VerifyingKey
    cosignature: bool = False

    @classmethod
    def for_key(
        cls, name: str, public_key: VerifyingKey, *, cosignature: bool = False
    ) -> NoteVerifier:
        """The verifier of ``public_key`` under ``name``, with the key id the spec derives."""
        sig_type = SIG_COSIGNATURE_V1 if cosignature else SIG_ED25519
        key_id = note_key_id(name, public_key.raw, sig_type=sig_type)
        return cls(name, key_id, public_key, cosignature)

    @property
    def sig_type(self) -> int:
        return SIG_COSIGNATURE_V1 if self.cosignature else SIG_ED25519

    @property
    def key_string(self) -> str:
        """This key as a vkey string, as configured in policies and published by logs."""
        return verifier_key_string(self.name, self.public_key.raw, sig_type=self.sig_type)

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (without its key id) is this key's signature of ``text``."""
        message = text
        if self.cosignature:
            if len(signature) != _TIMESTAMP_SIZE + _ED25519_SIZE:
                return False
            timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
            if timestamp > MAX_TIMESTAMP:
                return False
            message, signature = _cosigned_message(text, timestamp), signature[_TIMESTAMP_SIZE:]
        try:
            self.public_key.verify(signature, message)
        except SignatureError:
            return False
        return True


def parse_verifier_key(text: str) -> NoteVerifier:
    """Parse a vkey ``<name>+<hex key id>+<base64(type || key)>``; refuse any mangling."""
    name, _, rest = text.partition("+")
    hex_id, _, key64 = rest.partition("+")
    if not is_valid_key_name(name) or len(hex_id) != 2 * KEY_ID_SIZE:
        raise InvalidInputError(f"malformed verifier key {text!r}")
    try:
        key_id = bytes.fromhex(hex_id)
        material = base64.b64decode(key64.encode("ascii"), validate=True)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise InvalidInputError(f"malformed verifier key {text!r}") from None
    if not material or material[0] not in (SIG_ED25519, SIG_COSIGNATURE_V1):
        raise InvalidInputError(f"verifier key {name!r} has an unsupported signature type")
    if len(material) != 33:
        raise InvalidInputError(f"verifier key {name!r} is not a 32-byte Ed25519 key")
    if note_key_id(name, material[1:], sig_type=material[0]) != key_id:
        raise InvalidInputError(f"verifier key {name!r} has a key id that does not match its key")
    try:
        public_key = VerifyingKey(material[1:])
    except ValueError:
        raise InvalidInputError(f"verifier key {name!r} is not a valid Ed25519 key") from None
    return NoteVerifier(name, key_id, public_key, material[0] == SIG_COSIGNATURE_V1)


class TextSigner(Protocol):
    """Anything that can add one signature line to a note: a name, a key id and a signature."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def sign_text(self, text: bytes) -> bytes: ...


class NoteSigner:
    """Signs note texts with an Ed25519 :class:`~ledger.signing.Signer` under a key name."""

    __slots__ = ("key_id", "name", "signer")

    def __init__(self, name: str, signer: Signer) -> None:
        self.name = name
        self.signer = signer
        self.key_id = note_key_id(name, signer.public_key.raw)

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self.key_id, self.signer.public_key)

    def sign_text(self, text: bytes) -> bytes:
        return self.signer.sign(text)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note: key name, 4-byte key id and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    @property
    def line(self) -> str:
        """The signature line, newline-terminated, as it appears in a note."""
        return f"{SIGNATURE_PREFIX}{self.name} {b64encode(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class OpenedNote:
    """A note whose signatures were checked: its text and which known keys signed it."""

    text: str
    verified: tuple[tuple[NoteVerifier, NoteSignature], ...]
    unverified: tuple[NoteSignature, ...]


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end in a newline")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text) or not _is_utf8(text):
        raise NoteError("note text must be UTF-8 without control characters other than newline")


def sign_note(text: str, signers: Sequence[TextSigner]) -> str:
    """Sign ``text`` with every signer and return the whole note."""
    _check_text(text)
    if not signers:
        raise InvalidInputError("a note needs at least one signer")
    raw = text.encode("utf-8")
    lines = []
    for signer in signers:
        if not is_valid_key_name(signer.name):
            raise InvalidInputError(f"invalid note key name {signer.name!r}")
        lines.append(NoteSignature(signer.name, signer.key_id, signer.sign_text(raw)).line)
    return text + "\n" + "".join(lines)


def parse_signature_line(line: str) -> NoteSignature:
    """Parse one signature line (without its newline), checking only the syntax."""
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError(f"malformed signature line {line!r}")
    name, _, b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
    try:
        blob = base64.b64decode(b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise NoteError(f"signature of {name!r} is not base64") from None
    if not is_valid_key_name(name) or len(blob) <= KEY_ID_SIZE:
        raise NoteError(f"malformed signature line {line!r}")
    if base64.b64encode(blob).decode("ascii") != b64:
        raise NoteError(f"signature of {name!r} is not canonical base64")
    return NoteSignature(name, blob[:KEY_ID_SIZE], blob[KEY_ID_SIZE:])


def parse_note(note: str | bytes) -> tuple[str, list[NoteSignature]]:
    """Split a note into its text and its signatures, checking only the syntax."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("a note must be valid UTF-8") from None
    if len(note) > MAX_NOTE_SIZE:
        raise NoteError(f"note is longer than {MAX_NOTE_SIZE} characters")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in note) or not _is_utf8(note):
        raise NoteError("a note must be UTF-8 without control characters other than newline")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("a note must end with a blank line and newline-terminated signature lines")
    text, block = note[: split + 1], note[split + 2 :]
    lines = block[:-1].split("\n") if block else []
    if not lines:
        raise NoteError("a note must carry at least one signature")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note may carry at most {MAX_SIGNATURES} signatures")
    return text, [parse_signature_line(line) for line in lines]


def _index_verifiers(verifiers: Iterable[NoteVerifier]) -> dict[tuple[str, bytes], NoteVerifier]:
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_id)
        if slot in known and known[slot] != verifier:
            raise InvalidInputError(f"two verifier keys share name and id {verifier.name}")
        known[slot] = verifier
    return known


def open_note(note: str | bytes, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """Parse ``note`` and check every signature from a known key.

    Raises :class:`NoteError` when the note is malformed, when a known key's signature fails, or
    when no known key signed it. Unknown signatures are returned, unverified, for the caller.
    """
    text, signatures = parse_note(note)
    known = _index_verifiers(verifiers)
    raw = text.encode("utf-8")
    verified: list[tuple[NoteVerifier, NoteSignature]] = []
    unverified: list[NoteSignature] = []
    for signature in signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            unverified.append(signature)
        elif verifier.verify(raw, signature.signature):
            verified.append((verifier, signature))
        else:
            raise NoteError(f"invalid signature for key {signature.name}+{signature.key_id.hex()}")
    if not verified:
        raise NoteError("note has no valid signature from a trusted key")
    return OpenedNote(text, tuple(verified), tuple(unverified))


def verify_note(note: str | bytes, verifiers: Iterable[NoteVerifier]) -> str:
    """Return the text of ``note`` if a trusted key signed it; raise :class:`NoteError` if not."""
    return open_note(note, verifiers).text


def append_signatures(note: str, lines: str) -> str:
    """Add signature lines (for example a witness's cosignatures) to the end of a note."""
    parse_note(note)
    for line in lines.splitlines(keepends=True):
        if not line.endswith("\n"):
            raise NoteError("signature lines must end in a newline")
        parse_signature_line(line[:-1])
    combined = note + lines
    parse_note(combined)
    return combined
