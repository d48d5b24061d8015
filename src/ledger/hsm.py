"""Ed25519 keys held in a PKCS#11 token (an HSM), for the log key, automatic keys and
organisation keys.

The private half is generated inside the token and never leaves it: :class:`Pkcs11Signer` asks
the token to sign (``CKM_EDDSA``), and is a :class:`~ledger.signing.Signer`, so it can be passed
to any command. :class:`Pkcs11Keystore` is a keystore over one token, so the ledger finds the
log key and the automatic-award keys there as it would in a directory. Keys are found by their
``CKA_ID`` (the ledger's 16-byte key id) and ``CKA_LABEL`` (the owner: an organisation id, or
``_log`` for log keys).

Needs ``python-pkcs11`` (the ``hsm`` extra) and the token's PKCS#11 module, e.g. SoftHSM2's
``/usr/lib/softhsm/libsofthsm2.so``. One session per keystore, used under a lock: a PKCS#11
session may not run two operations at once.
"""

from __future__ import annotations

import threading
from typing import Any

from .errors import InvalidInputError, StorageError
from .signing import SigningKey, VerifyingKey

ED25519_OID = "1.3.101.112"
SOFTHSM2_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
_POINT_SIZE = 32


def _pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError:
        raise StorageError(
            "PKCS#11 keys need the python-pkcs11 package: pip install 'service-hour-ledger[hsm]'"
        ) from None
    return pkcs11


class Pkcs11Signer:
    """Signs with an Ed25519 private key that stays in the token."""

    __slots__ = ("_key", "_lock", "owner", "public_key")

    def __init__(self, private_key: Any, public_key: VerifyingKey, owner: str, lock: Any) -> None:
        self._key = private_key
        self._lock = lock
        self.public_key = public_key
        self.owner = owner

    @property
    def key_id(self) -> str:
        return self.public_key.key_id

    def sign(self, message: bytes) -> bytes:
        mechanism = _pkcs11().Mechanism.EDDSA
        with self._lock:
            signature: bytes = self._key.sign(message, mechanism=mechanism)
        return signature

    def __repr__(self) -> str:
        return f"Pkcs11Signer({self.owner}/{self.key_id})"


class Pkcs11Keystore:
    """A keystore whose keys live in one PKCS#11 token, opened with the user PIN."""

    def __init__(self, module: str, token_label: str, pin: str) -> None:
        pkcs11 = _pkcs11()
        try:
            token = pkcs11.lib(module).get_token(token_label=token_label)
            self._session = token.open(user_pin=pin, rw=True)
        except (pkcs11.PKCS11Error, RuntimeError, OSError) as error:
            raise StorageError(
                f"cannot open PKCS#11 token {token_label!r} with {module}: {error!r}"
            ) from None
        self._lock = threading.RLock()
        self._loaded: dict[tuple[str, str], Pkcs11Signer] = {}

    def close(self) -> None:
        with self._lock:
            self._session.close()

    def generate(self, owner: str) -> Pkcs11Signer:
        """A new Ed25519 key pair generated in the token for ``owner``; returns its signer."""
        pkcs11 = _pkcs11()
        from pkcs11.util.ec import encode_named_curve_parameters

        attributes = pkcs11.Attribute
        with self._lock:
            parameters = self._session.create_domain_parameters(
                pkcs11.KeyType.EC_EDWARDS,
                {attributes.EC_PARAMS: encode_named_curve_parameters(ED25519_OID)},
                local=True,
            )
            public, private = parameters.generate_keypair(
                store=True,
                label=owner,
                mechanism=pkcs11.Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
                private_template={attributes.SENSITIVE: True, attributes.EXTRACTABLE: False},
            )
            verifying = _verifying_key(public[attributes.EC_POINT])
            key_id = bytes.fromhex(verifying.key_id)
            public[attributes.ID] = key_id
            private[attributes.ID] = key_id
        signer = Pkcs11Signer(private, verifying, owner, self._lock)
        self._loaded[(owner, verifying.key_id)] = signer
        return signer

    def add(self, owner: str, key: SigningKey) -> None:
        """Refused: a key made outside the token would not be one that never left it."""
        raise InvalidInputError(
            f"a PKCS#11 keystore holds only keys generated in the token; call generate({owner!r}) "
            "and register its public key, or pass root_key/log_key made with generate() to create()"
        )

    def get(self, owner: str, key_id: str) -> Pkcs11Signer | None:
        """The signer of ``owner``'s key ``key_id`` in the token, or None."""
        found = self._loaded.get((owner, key_id))
        if found is not None:
            return found
        pkcs11 = _pkcs11()
        try:
            wanted = bytes.fromhex(key_id)
        except ValueError:
            return None
        with self._lock:
            try:
                private = self._session.get_key(
                    object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=owner, id=wanted
                )
                public = self._session.get_key(
                    object_class=pkcs11.ObjectClass.PUBLIC_KEY, label=owner, id=wanted
                )
            except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned):
                return None
            verifying = _verifying_key(public[pkcs11.Attribute.EC_POINT])
        if verifying.key_id != key_id:
            raise StorageError(f"token key {owner}/{key_id} holds another public key")
        signer = Pkcs11Signer(private, verifying, owner, self._lock)
        self._loaded[(owner, key_id)] = signer
        return signer

    def key_ids(self, owner: str) -> list[str]:
        pkcs11 = _pkcs11()
        with self._lock:
            found = self._session.get_objects(
                {
                    pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY,
                    pkcs11.Attribute.LABEL: owner,
                }
            )
            return sorted(bytes(key[pkcs11.Attribute.ID]).hex() for key in found)


def _verifying_key(ec_point: bytes) -> VerifyingKey:
    """``CKA_EC_POINT`` is a DER OCTET STRING (04 20 || key); the raw key is its last 32 bytes."""
    point = bytes(ec_point)
    if len(point) == _POINT_SIZE + 2 and point[:2] == b"\x04\x20":
        return VerifyingKey(point[2:])
    if len(point) == _POINT_SIZE:
        return VerifyingKey(point)
    raise StorageError("the token's public key is not an Ed25519 point")
