"""Credentials that name a volunteer are personal data: kept sealed under the volunteer's data
key, so that erasing the volunteer closes them too. Credentials without a name stay plain."""

from __future__ import annotations

import json
from typing import Any, Protocol

from ..certificates.verify import Verdict
from ..errors import NotFoundError
from .sealed import SEALED_MAGIC


class SealsForVolunteers(Protocol):
    def seal_for(self, number: str, label: str, plaintext: bytes) -> bytes: ...

    def open_sealed(self, number: str, blob: bytes) -> bytes | None: ...


def names_a_person(credential: dict[str, Any]) -> bool:
    return "maskedName" in credential.get("credentialSubject", {})


def credential_to_store(
    keeper: SealsForVolunteers, number: str, certificate_number: str, signed: dict[str, Any]
) -> bytes | None:
    """The bytes to keep for a signed credential; None when it names a volunteer whose data
    was erased while it was being issued (then nothing naming them is kept)."""
    raw = json.dumps(signed, ensure_ascii=False).encode()
    if not names_a_person(signed):
        return raw
    try:
        return keeper.seal_for(number, certificate_number, raw)
    except NotFoundError:
        return None


def stored_credential(
    keeper: SealsForVolunteers, number: str, stored: bytes | None
) -> dict[str, Any] | None:
    """The stored credential, or None when none is kept or it was erased with its volunteer."""
    if stored is None:
        return None
    if stored.startswith(SEALED_MAGIC):
        stored = keeper.open_sealed(number, stored)
        if stored is None:
            return None
    found: dict[str, Any] = json.loads(stored)
    return found


def erased_credential_verdict(found: dict[str, Any]) -> Verdict:
    """What a ledger can still say about a certificate whose credential was erased with its
    volunteer's personal data: its issuance and any revocation, from verified events."""
    number, leaf = found["certificate_number"], found["issuance_leaf"]
    erased = (
        "the credential named a volunteer whose personal data was erased, so this ledger no "
        "longer keeps it; the holder's copy of the credential or package still verifies"
    )
    if found["revoked"]:
        reason = f"certificate {number} was revoked: {found['revoked_reason']}; {erased}"
        return Verdict(False, reason, {"certificate_number": number, "leaf_index": leaf})
    data = found["data"]
    return Verdict(
        True,
        f"certificate {number} is in the log at leaf {leaf} and not revoked; {erased}",
        {
            "certificate_number": number,
            "issuer": found["issuer"],
            "number": data["number"],
            "approved_minutes": data["approved_minutes"],
            "leaf_index": leaf,
            "personal_data_erased": True,
        },
    )
