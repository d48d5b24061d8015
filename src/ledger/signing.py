"""Ed25519 keys, signers and key ids.

A :class:`SigningKey` holds private key material and never enters the event store; a
:class:`VerifyingKey` is the public half that the ledger stores and publishes. Anything with a
``key_id``, a ``public_key`` and a ``sign(message)`` method is a :class:`Signer`, so an embedding
application can sign with an HSM or a remote service instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Protocol, TypeVar, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.bindings import crypto_sign, crypto_sign_seed_keypair

from .errors import InvalidInputError, SignatureError

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_BYTES = 16


def b64encode(data: bytes) -> str:
    """Standard base64 with padding, the encoding of every key and signature the ledger prints."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, *, what: str = "value") -> bytes:
    """Decode strict standard base64, refusing anything else with a clear error."""
    if not isinstance(text, str):
        raise InvalidInputError(f"{what} must be a base64 string")
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except ValueError:  # binascii.Error, or a text that is not ASCII
        raise InvalidInputError(f"{what} is not valid base64") from None


def secret_of(signer: Signer, label: bytes) -> bytes:
    """A 32-byte secret only a holder of ``signer``'s key can derive: the SHA-256 of its
    signature over ``label`` (Ed25519 signatures are deterministic, so every holder derives the
    same). One label per use: the snapshots' MAC key, the claims' MAC key."""
    return hashlib.sha256(signer.sign(label)).digest()


def key_id_of(public_key: bytes) -> str:
    """The key id: the first 16 bytes of SHA-256 of the raw 32-byte public key, as hex."""
    return hashlib.sha256(public_key).digest()[:KEY_ID_BYTES].hex()


class VerifyingKey:
    """An Ed25519 public key."""

    __slots__ = ("_key", "key_id", "raw")

    def __init__(self, raw: bytes) -> None:
        if not isinstance(raw, bytes) or len(raw) != PUBLIC_KEY_SIZE:
            raise InvalidInputError("an Ed25519 public key is exactly 32 bytes")
        self.raw = raw
        self._key = Ed25519PublicKey.from_public_bytes(raw)
        self.key_id = key_id_of(raw)

    @classmethod
    def from_base64(cls, text: str) -> VerifyingKey:
        return cls(b64decode(text, what="public key"))

    def to_base64(self) -> str:
        return b64encode(self.raw)

    def verify(self, signature: bytes, message: bytes) -> None:
        """Return None if ``signature`` is this key's signature of ``message``; else raise."""
        if len(signature) != SIGNATURE_SIZE:
            raise SignatureError(f"an Ed25519 signature is 64 bytes, got {len(signature)}")
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            raise SignatureError(f"signature does not verify with key {self.key_id}") from None

    def __reduce__(self) -> tuple[type[VerifyingKey], tuple[bytes]]:
        return (VerifyingKey, (self.raw,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyingKey) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"VerifyingKey({self.key_id})"


@runtime_checkable
class Signer(Protocol):
    """Anything that can sign for one Ed25519 key."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_key(self) -> VerifyingKey: ...

    def sign(self, message: bytes) -> bytes: ...


class SigningKey:
    """An Ed25519 private key. Keep it in a keystore, never in the ledger.

    It signs with libsodium (through PyNaCl), which makes an Ed25519 signature in about half
    the time ``cryptography``'s OpenSSL takes here (21 against 39 microseconds), and releases
    the interpreter lock as it does. Ed25519 signing is deterministic: both give the same bytes
    for the same key and message (a property test compares them). ``cryptography`` still reads
    and writes the key's files and verifies every signature."""

    __slots__ = ("_key", "_secret", "public_key")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        public, secret = crypto_sign_seed_keypair(self.private_bytes())
        # libsodium signs with the public half stored in its secret key: one that did not
        # belong to the seed would give signatures that verify with neither.
        if public != raw:
            raise SignatureError("libsodium and OpenSSL derive different public keys")
        self._secret = secret
        self.public_key = VerifyingKey(raw)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, seed: bytes) -> SigningKey:
        if len(seed) != 32:
            raise InvalidInputError("an Ed25519 private key seed is exactly 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def key_id(self) -> str:
        return self.public_key.key_id

    def sign(self, message: bytes) -> bytes:
        signature: bytes = crypto_sign(message, self._secret)[:SIGNATURE_SIZE]
        return signature

    def private_bytes(self) -> bytes:
        """The raw 32-byte seed. Dangerous: only a keystore should call this."""
        return self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        """PKCS#8 PEM, encrypted with ``passphrase`` when one is given."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @classmethod
    def from_pem(cls, pem: bytes, passphrase: bytes | None = None) -> SigningKey:
        try:
            key = serialization.load_pem_private_key(pem, password=passphrase or None)
        except (ValueError, TypeError) as error:
            raise InvalidInputError(f"cannot load private key: {error}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidInputError("the private key is not an Ed25519 key")
        return cls(key)

    def __repr__(self) -> str:
        return f"SigningKey({self.key_id})"


# A batch this long is signed (or verified) on more than one core: libsodium signs and
# ``cryptography`` verifies Ed25519 without the interpreter lock, so helper threads take parts
# of it while the caller does the first. Shorter batches are not worth the hand-off (about 50
# microseconds).
PARALLEL_SIGNING_FROM = 16


class _Helpers:
    """One process's helper threads (one fewer than its cores, at most three). A batch takes
    them all or signs alone: a caller never waits behind another caller's batch."""

    def __init__(self, threads: int) -> None:
        self.pid = os.getpid()
        self.threads = threads
        self.pool = ThreadPoolExecutor(threads, "ledger-signing")
        self.free = threading.Lock()


_helpers: _Helpers | None = None


def _helpers_here() -> _Helpers | None:
    """This process's helpers, or None on one core. A child made by ``fork`` makes its own:
    the parent's threads are not in it."""
    global _helpers
    if _helpers is None or _helpers.pid != os.getpid():
        threads = min((os.cpu_count() or 1) - 1, 3)
        if threads < 1:
            return None
        _helpers = _Helpers(threads)
    return _helpers


J = TypeVar("J")
R = TypeVar("R")


def _shared(jobs: Sequence[J], each: Callable[[Sequence[J]], list[R]]) -> list[R]:
    """``each(jobs)``, a long batch in parts: the helper threads take the later parts when they
    are free, while the caller does the first."""
    helpers = _helpers_here() if len(jobs) >= PARALLEL_SIGNING_FROM else None
    if helpers is None or not helpers.free.acquire(blocking=False):
        return each(jobs)
    size = -(-len(jobs) // (helpers.threads + 1))
    parts: list[Future[list[R]]] = []
    try:
        for i in range(size, len(jobs), size):
            try:
                parts.append(helpers.pool.submit(each, jobs[i : i + size]))
            except RuntimeError:  # the interpreter is exiting: no thread starts now
                return each(jobs)
        results = each(jobs[:size])
        for part in parts:
            results.extend(part.result())
        return results
    finally:
        wait(parts)  # free again only once every part is done, also after an error
        helpers.free.release()


def _sign_each(jobs: Sequence[tuple[Signer, bytes]]) -> list[bytes]:
    return [signer.sign(message) for signer, message in jobs]


def sign_many(jobs: Sequence[tuple[Signer, bytes]]) -> list[bytes]:
    """Each message signed by its signer, in order. A long batch of :class:`SigningKey` jobs is
    shared with helper threads when they are free; any other signer (an HSM's, say) signs on
    the caller's thread, one message at a time, as it would alone."""
    if any(type(signer) is not SigningKey for signer, _ in jobs):
        return _sign_each(jobs)
    return _shared(jobs, _sign_each)


def _verify_each(jobs: Sequence[tuple[VerifyingKey, bytes, bytes]]) -> list[SignatureError | None]:
    found: list[SignatureError | None] = []
    for key, signature, message in jobs:
        try:
            key.verify(signature, message)
        except SignatureError as error:
            found.append(error)
        else:
            found.append(None)
    return found


def verify_many(jobs: Sequence[tuple[VerifyingKey, bytes, bytes]]) -> list[SignatureError | None]:
    """For each (key, signature, message), None when the signature verifies, else the error
    :meth:`VerifyingKey.verify` raises; a long batch shared with the helper threads."""
    return _shared(jobs, _verify_each)
