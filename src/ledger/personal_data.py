"""Personal data, kept apart from the immutable log and erasable for real.

Names, ID-document numbers and phone numbers never enter an event. They are stored beside the
events, sealed (AES-256-GCM) with a data key of the volunteer's own; the data key is stored
only wrapped by its keyring shard's key-encryption key, which lives outside the database.
Erasure rotates that shard (``privacy.keyring``), so every copy of the volunteer's wrapped key
and ciphertext the operator still keeps, in the database, its WAL or a backup, stays closed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .canonical import canonical_json, parse_json
from .errors import InvalidInputError, NotFoundError, PersonalDataErasedError
from .privacy.keyring import Keyring, shard_of
from .privacy.sealed import (
    CREDENTIAL,
    PERSONAL_DATA,
    SEALED_MAGIC,
    parse_sealed,
    parse_wrapped_key,
    seal,
    wrap_key,
)
from .storage.records import LedgerRecorderProtocol, SideRow

KEYS = "personal-key"
LEGACY_KEYS = KEYS  # before the keyring: one unwrapped data key per volunteer, in this namespace
DATA = "personal-data"
ERASED = "personal-erased"
FIELDS = frozenset({"name", "id_number", "phone", "guardian_contact", "is_minor"})
MAX_FIELD = 200


def erasure_mark(number: str) -> SideRow:
    """The row that refuses every read of the volunteer's personal data."""
    return SideRow(ERASED, number, b"erased")


def erasure_marks(bodies: Sequence[dict[str, Any]]) -> list[SideRow]:
    """The marks of the ``PersonalDataErased`` events among the bodies the writer stores, in
    their transaction: reads are refused from the event on, before the keys are destroyed,
    whether a command staged the event or an organisation signed it at home."""
    return [erasure_mark(b["data"]["number"]) for b in bodies if b["type"] == "PersonalDataErased"]


def key_namespace(shard: int) -> str:
    """Wrapped data keys are grouped by shard, so a rotation reads only its own shard."""
    return f"{KEYS}/{shard:02x}"


class PersonalDataStore:
    def __init__(self, recorder: LedgerRecorderProtocol, keyring: Keyring) -> None:
        self._recorder = recorder
        self.keyring = keyring

    def put(self, number: str, fields: dict[str, Any]) -> None:
        """Store (replace) a volunteer's personal data, sealed under their own data key."""
        validate_personal_data(fields)
        with self.keyring.shared():
            # looked for under the lock an erasure holds while it writes the tombstone: an
            # erasure between the look and the lock would see no data key, and this would make one
            self._refuse_if_erased(number)
            data_key = self._data_key(number) or self._new_data_key(number)
            blob = seal(data_key, PERSONAL_DATA, number, number, canonical_json(fields))
            self._recorder.side_put(DATA, number, blob)

    def get(self, number: str) -> dict[str, Any]:
        self._refuse_if_erased(number)
        sealed = self._recorder.side_get(DATA, number)
        plain = self.open_sealed(number, sealed) if sealed is not None else None
        if plain is None:
            raise NotFoundError(f"no personal data is held for volunteer {number}")
        result: dict[str, Any] = parse_json(plain)
        return result

    def has(self, number: str) -> bool:
        return self._recorder.side_get(DATA, number) is not None and not self.erased(number)

    def erased(self, number: str) -> bool:
        return self._recorder.side_get(ERASED, number) is not None

    def seal_for(self, number: str, label: str, plaintext: bytes) -> bytes:
        """``plaintext`` sealed under the volunteer's data key (their credentials that name
        them), so that erasing the volunteer closes it too."""
        with self.keyring.shared():
            data_key = self._data_key(number)
            if data_key is None:
                raise NotFoundError(f"no personal data is held for volunteer {number}")
            return seal(data_key, CREDENTIAL, number, label, plaintext)

    def open_sealed(self, number: str, blob: bytes) -> bytes | None:
        """The plaintext of a blob sealed for ``number``; None once the volunteer is erased
        (marked so, even while the destruction of the keys is still to finish)."""
        sealed = parse_sealed(blob)
        if sealed is None or sealed.number != number or self.erased(number):
            return None
        with self.keyring.shared():
            data_key = self._data_key(number)
        return sealed.open(data_key) if data_key is not None else None

    def erase(self, number: str) -> int:
        """Erase the volunteer's personal data for good; returns how many other volunteers'
        data keys were re-wrapped. Safe to repeat: a repeat finishes a cut-short erasure."""
        shard = shard_of(number)
        with self.keyring.exclusive():
            mark = erasure_mark(number)
            self._recorder.side_put(mark.namespace, mark.key, mark.value)
            pending = len(self.keyring.epochs(shard)) > 1
            if self._recorder.side_get(key_namespace(shard), number) is None and not pending:
                self._recorder.side_delete(DATA, number)
                return 0
            # Always a new epoch: a data key already under a pending one (re-wrapped by an
            # erasure cut short, or made since) must not outlive this erasure.
            epoch = self.keyring.add_epoch(shard)
            for gone in self._erased_in(shard) | {number}:
                # also any left behind by an erasure of a shard-mate that was cut short
                self._recorder.side_delete(key_namespace(shard), gone)
                self._recorder.side_delete(DATA, gone)
            rewrapped = self._rewrap(shard, epoch)
            self.keyring.retire_before(shard, epoch)
            return rewrapped

    def _erased_in(self, shard: int) -> set[str]:
        """Erased numbers of the shard whose wrapped key is still stored."""
        erased = {n for n, _ in self._recorder.side_items(ERASED) if shard_of(n) == shard}
        return erased & {n for n, _ in self._recorder.side_items(key_namespace(shard))}

    def _rewrap(self, shard: int, epoch: int) -> int:
        """Every data key of the shard under the new epoch, in one transaction."""
        new_kek = self.keyring.key(shard, epoch)
        assert new_kek is not None
        rewrapped: list[tuple[str, bytes]] = []
        for number, blob in self._recorder.side_items(key_namespace(shard)):
            wrapped = parse_wrapped_key(blob)
            if wrapped is None or wrapped.epoch >= epoch:
                continue
            old_kek = self.keyring.key(shard, wrapped.epoch)
            data_key = wrapped.unwrap(old_kek) if old_kek is not None else None
            if data_key is not None:
                rewrapped.append((number, wrap_key(new_kek, shard, epoch, number, data_key)))
        if rewrapped:
            self._recorder.side_put_many(key_namespace(shard), rewrapped)
        return len(rewrapped)

    def migrate_legacy(self, certificates: str = "certificate") -> int:
        """Move personal data stored before the keyring (its data key unwrapped in the
        database) into sealed rows, and seal stored credentials that show a masked name.
        Returns how many volunteers and credentials moved. Copies of the old rows in the
        database's leftovers and backups are not reached by this; see docs/personal-data.md."""
        moved = 0
        for number, key in self._recorder.side_items(LEGACY_KEYS):
            sealed = self._recorder.side_get(DATA, number)
            if sealed is not None and not sealed.startswith(SEALED_MAGIC):
                try:
                    plain = AESGCM(key).decrypt(sealed[:12], sealed[12:], number.encode("ascii"))
                except (InvalidTag, ValueError):
                    plain = None
                self._recorder.side_delete(DATA, number)
                if plain is not None and not self.erased(number):
                    self.put(number, parse_json(plain))
                    moved += 1
            self._recorder.side_delete(LEGACY_KEYS, number)
        for label, stored in self._recorder.side_items(certificates):
            if stored.startswith(SEALED_MAGIC):
                continue
            credential = json.loads(stored)
            subject = credential.get("credentialSubject", {})
            if "maskedName" in subject:
                number = subject["volunteerNumber"]
                try:
                    self._recorder.side_put(
                        certificates, label, self.seal_for(number, label, stored)
                    )
                except NotFoundError:
                    self._recorder.side_delete(certificates, label)
                moved += 1
        return moved

    def _data_key(self, number: str) -> bytes | None:
        shard = shard_of(number)
        blob = self._recorder.side_get(key_namespace(shard), number)
        wrapped = parse_wrapped_key(blob) if blob is not None else None
        if wrapped is None or wrapped.number != number or wrapped.shard != shard:
            return None
        kek = self.keyring.key(shard, wrapped.epoch)
        return wrapped.unwrap(kek) if kek is not None else None

    def _new_data_key(self, number: str) -> bytes:
        shard = shard_of(number)
        epoch, kek = self.keyring.current(shard)
        data_key = secrets.token_bytes(32)
        self._recorder.side_put(
            key_namespace(shard), number, wrap_key(kek, shard, epoch, number, data_key)
        )
        return data_key

    def _refuse_if_erased(self, number: str) -> None:
        if self.erased(number):
            raise PersonalDataErasedError(
                f"the personal data of volunteer {number} was erased; it is not kept, and "
                "it is not stored again under this number"
            )


def masked_name(name: str) -> str:
    """A name as certificates may show it with consent: the first character, the rest masked."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def validate_personal_data(fields: dict[str, Any]) -> None:
    """Refuse unknown fields and values of the wrong kind or size."""
    if not isinstance(fields, dict) or not fields:
        raise InvalidInputError("personal data is a non-empty object")
    unknown = set(fields) - FIELDS
    if unknown:
        raise InvalidInputError(
            f"unknown personal data fields {sorted(unknown)}; allowed {sorted(FIELDS)}"
        )
    for name, value in fields.items():
        if name == "is_minor":
            if not isinstance(value, bool):
                raise InvalidInputError("is_minor is true or false")
        elif not isinstance(value, str) or not 0 < len(value) <= MAX_FIELD:
            raise InvalidInputError(f"{name} is a string of 1 to {MAX_FIELD} characters")
