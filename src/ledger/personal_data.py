"""Personal data, kept apart from the immutable log and erasable.

Names, ID-document numbers and phone numbers never enter an event. They are stored beside the
events, encrypted with a key of their own per volunteer (AES-256-GCM, the volunteer number as
associated data). Erasure deletes the key and the ciphertext: the volunteer's events and hours
stay verifiable under the pseudonymous number, and nothing readable about the person remains.
"""

from __future__ import annotations

import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .canonical import canonical_json, parse_json
from .errors import InvalidInputError, NotFoundError
from .storage.records import LedgerRecorderProtocol

KEYS = "personal-key"
DATA = "personal-data"
FIELDS = frozenset({"name", "id_number", "phone", "guardian_contact", "is_minor"})
MAX_FIELD = 200


class PersonalDataStore:
    def __init__(self, recorder: LedgerRecorderProtocol) -> None:
        self._recorder = recorder

    def put(self, number: str, fields: dict[str, Any]) -> None:
        """Store (replace) a volunteer's personal data, encrypted under their own key."""
        validate_personal_data(fields)
        key = self._recorder.side_get(KEYS, number)
        if key is None:
            key = AESGCM.generate_key(bit_length=256)
            self._recorder.side_put(KEYS, number, key)
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, canonical_json(fields), number.encode("ascii"))
        self._recorder.side_put(DATA, number, nonce + sealed)

    def get(self, number: str) -> dict[str, Any]:
        key = self._recorder.side_get(KEYS, number)
        sealed = self._recorder.side_get(DATA, number)
        if key is None or sealed is None:
            raise NotFoundError(
                f"no personal data is held for volunteer {number} (or it was erased)"
            )
        plain = AESGCM(key).decrypt(sealed[:12], sealed[12:], number.encode("ascii"))
        result: dict[str, Any] = parse_json(plain)
        return result

    def has(self, number: str) -> bool:
        return self._recorder.side_get(KEYS, number) is not None

    def erase(self, number: str) -> None:
        """Delete the volunteer's key first, then the ciphertext: either step alone suffices."""
        self._recorder.side_delete(KEYS, number)
        self._recorder.side_delete(DATA, number)


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
