"""The byte formats of wrapped data keys and sealed personal data.

Every blob names what it is and whom it is about in a header that is also its AES-GCM
associated data, so a blob moved to another row or volunteer does not open, and a scanner can
find and parse blobs anywhere in raw database bytes (live rows, free pages, WAL, dead tuples)::

    wrapped key  "LPK1" | shard u8 | epoch u32 | len u8 | number | nonce 12 | AES-GCM(KEK, DEK)
    sealed data  "LPS1" | kind u8 | len u8 | number | len u8 | label | len u32 | nonce 12 | ct

No blob carries a key that opens it: a wrapped key opens only with its shard's key-encryption
key of that epoch, which lives outside the database (see ``keyring``).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import InvalidInputError

KEY_MAGIC = b"LPK1"
SEALED_MAGIC = b"LPS1"
NONCE = 12
WRAPPED_KEY_BODY = 32 + 16
PERSONAL_DATA = "D"
CREDENTIAL = "C"


@dataclass(frozen=True)
class WrappedKey:
    shard: int
    epoch: int
    number: str
    header: bytes
    nonce: bytes
    ciphertext: bytes

    def unwrap(self, kek: bytes) -> bytes | None:
        """The data key, or None when ``kek`` is not the key it was wrapped with."""
        return _decrypt(kek, self.nonce, self.ciphertext, self.header)


@dataclass(frozen=True)
class Sealed:
    kind: str
    number: str
    label: str
    header: bytes
    nonce: bytes
    ciphertext: bytes

    def open(self, data_key: bytes) -> bytes | None:
        """The plaintext, or None when ``data_key`` is not the volunteer's key."""
        return _decrypt(data_key, self.nonce, self.ciphertext, self.header)


def _decrypt(key: bytes, nonce: bytes, ciphertext: bytes, header: bytes) -> bytes | None:
    if len(key) not in (16, 24, 32):
        return None
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, header)
    except InvalidTag:
        return None


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    if not 0 < len(raw) < 256:
        raise InvalidInputError(f"{value!r} is not 1 to 255 bytes long")
    return bytes([len(raw)]) + raw


def wrap_key(kek: bytes, shard: int, epoch: int, number: str, data_key: bytes) -> bytes:
    header = KEY_MAGIC + struct.pack(">BI", shard, epoch) + _text(number)
    nonce = os.urandom(NONCE)
    return header + nonce + AESGCM(kek).encrypt(nonce, data_key, header)


def seal(data_key: bytes, kind: str, number: str, label: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    prefix = SEALED_MAGIC + kind.encode("ascii") + _text(number) + _text(label)
    length = len(plaintext) + 16
    header = prefix + struct.pack(">I", length)
    return header + nonce + AESGCM(data_key).encrypt(nonce, plaintext, header)


def parse_wrapped_key(raw: bytes, at: int = 0) -> WrappedKey | None:
    """The wrapped key starting at ``raw[at:]``, or None when the bytes there are not one."""
    try:
        if raw[at : at + 4] != KEY_MAGIC:
            return None
        shard, epoch = struct.unpack_from(">BI", raw, at + 4)
        number, end = _read_text(raw, at + 9)
        body = raw[end + NONCE : end + NONCE + WRAPPED_KEY_BODY]
        if len(body) != WRAPPED_KEY_BODY:
            return None
        return WrappedKey(shard, epoch, number, raw[at:end], raw[end : end + NONCE], bytes(body))
    except (struct.error, UnicodeDecodeError, IndexError):
        return None


def parse_sealed(raw: bytes, at: int = 0) -> Sealed | None:
    """The sealed blob starting at ``raw[at:]``, or None when the bytes there are not one."""
    try:
        if raw[at : at + 4] != SEALED_MAGIC:
            return None
        kind = chr(raw[at + 4])
        number, after_number = _read_text(raw, at + 5)
        label, after_label = _read_text(raw, after_number)
        (length,) = struct.unpack_from(">I", raw, after_label)
        end = after_label + 4
        body = raw[end + NONCE : end + NONCE + length]
        if len(body) != length:
            return None
        return Sealed(kind, number, label, raw[at:end], raw[end : end + NONCE], bytes(body))
    except (struct.error, UnicodeDecodeError, IndexError):
        return None


def _read_text(raw: bytes, at: int) -> tuple[str, int]:
    length = raw[at]
    end = at + 1 + length
    if length == 0 or end > len(raw):
        raise IndexError("truncated")
    return raw[at + 1 : end].decode("utf-8"), end


def find_blobs(raw: bytes) -> Iterator[WrappedKey | Sealed]:
    """Every wrapped key and sealed blob whose bytes lie whole anywhere in ``raw``."""
    for magic, parse in ((KEY_MAGIC, parse_wrapped_key), (SEALED_MAGIC, parse_sealed)):
        at = raw.find(magic)
        while at >= 0:
            found = parse(raw, at)
            if found is not None:
                yield found
            at = raw.find(magic, at + 1)
