"""``ledger.client``: an organisation signs its events on its own machine and submits them over
HTTP, so the server never holds its private key.

For each command the client asks the server to draft it (``POST /drafts/{command}``: the
server's rules decide ids, versions and derived fields), **checks that every drafted body is what
it asked for** (its organisation, its key, its idempotency key, the expected event type, and
every value it supplied), signs the bodies with its own :class:`~ledger.signing.Signer` (a key
file, or a key in an HSM through :mod:`ledger.hsm`), and submits them (``POST /events``). A retry
with the same idempotency key, from the same client, resubmits the same signed bytes, which
the server answers as a replay (a new client would draft anew: the server then answers 409).

Errors are :class:`LedgerClientError` carrying the server's RFC 9457 problem.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx

from .certificates.credential import credential_sha256, sign_credential
from .credentials import add_proof, did_key, did_key_verification_method
from .credentials.status_list import encode_list
from .drafting import DRAFTABLE
from .envelope import format_time, signing_input
from .errors import LedgerError
from .results import (
    ActivityRef,
    CertificateRef,
    HonourRef,
    NoValue,
    RecordsRef,
    ResultValue,
    TransferRef,
    VolunteerRef,
)
from .signing import Signer, SigningKey, b64encode

__all__ = ["EventRef", "LedgerClient", "LedgerClientError", "Submitted"]

R = TypeVar("R", bound=ResultValue)


class LedgerClientError(LedgerError):
    """The server refused a request, or drafted something the client did not ask for."""

    code = "client-error"

    def __init__(self, message: str, *, status: int = 0, problem: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.problem = problem or {}


@dataclass(frozen=True)
class EventRef:
    aggregate_id: str
    version: int
    type: str
    leaf_index: int | None


@dataclass(frozen=True)
class Submitted(Generic[R]):
    """What a signed command stored: its events with their leaves, and the command's value, of
    the type the library's command returns (:mod:`ledger.results`). A certificate issued here
    also carries its ``credential`` as signed here, and the ``status_list`` signed with it (a
    revocation: the list saying "revoked", when this key could sign it)."""

    events: tuple[EventRef, ...]
    value: R
    replayed: bool = False
    credential: dict[str, Any] | None = None
    status_list: dict[str, Any] | None = None


class LedgerClient:
    """A client acting for one organisation, ``org``, signing with its own key.

    ``api_key`` authenticates the organisation (or one above it); ``signer`` is a registered
    key of ``org``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        signer: Signer,
        *,
        org: str,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}", "X-Acting-Org": org}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        self.signer = signer
        self.org = org
        self._signed_by_key: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {}

    @classmethod
    def with_key_file(
        cls, base_url: str, api_key: str, key_file: str | Path, *, org: str,
        passphrase: bytes | None = None, **options: Any,
    ) -> LedgerClient:  # fmt: skip
        """A client signing with a PKCS#8 PEM key file kept on this machine."""
        key = SigningKey.from_pem(Path(key_file).read_bytes(), passphrase)
        return cls(base_url, api_key, key, org=org, **options)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LedgerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # commands, signed here

    def register_volunteer(
        self, *, idempotency_key: str, number: str | None = None
    ) -> Submitted[VolunteerRef]:
        """A new volunteer (``value.number``); personal data goes by its own route."""
        return self._signed("register_volunteer", idempotency_key, {"number": number}, VolunteerRef)

    def publish_activity(
        self, *, idempotency_key: str, title: str, field: str, place: str, starts_at: datetime,
        ends_at: datetime, leader: str, content: str, **optional: Any,
    ) -> Submitted[ActivityRef]:  # fmt: skip
        """Publish an activity (``value.activity_id``)."""
        params = {"title": title, "field": field, "place": place, "leader": leader,
                  "content": content, "starts_at": _whole_seconds(starts_at),
                  "ends_at": _whole_seconds(ends_at), **optional}  # fmt: skip
        return self._signed("publish_activity", idempotency_key, params, ActivityRef)

    def cancel_activity(
        self, *, idempotency_key: str, activity_id: str, reason: str
    ) -> Submitted[NoValue]:
        params = {"activity_id": activity_id, "reason": reason}
        return self._signed("cancel_activity", idempotency_key, params, NoValue)

    def record_hours(
        self, *, idempotency_key: str, activity_id: str, number: str, minutes: int,
        service_date: date | None = None, content: str | None = None,
    ) -> Submitted[RecordsRef]:  # fmt: skip
        """Record one volunteer's minutes (``value.record_id``)."""
        params = {"activity_id": activity_id, "number": number, "minutes": minutes,
                  "content": content,
                  "service_date": service_date.isoformat() if service_date else None}  # fmt: skip
        return self._signed("record_hours", idempotency_key, params, RecordsRef)

    def record_roster(
        self, *, idempotency_key: str, activity_id: str, entries: Sequence[dict[str, Any]]
    ) -> Submitted[RecordsRef]:
        """Record many volunteers at once (``value.record_ids``)."""
        params = {"activity_id": activity_id, "entries": [dict(e) for e in entries]}
        return self._signed("record_roster", idempotency_key, params, RecordsRef)

    def approve_record(
        self, *, idempotency_key: str, record_id: str, approved_minutes: int | None = None,
        reason: str | None = None,
    ) -> Submitted[NoValue]:  # fmt: skip
        params = {"record_id": record_id, "approved_minutes": approved_minutes, "reason": reason}
        return self._signed("approve_record", idempotency_key, params, NoValue)

    def reject_record(
        self, *, idempotency_key: str, record_id: str, reason: str
    ) -> Submitted[NoValue]:
        params = {"record_id": record_id, "reason": reason}
        return self._signed("reject_record", idempotency_key, params, NoValue)

    def correct_record(
        self, *, idempotency_key: str, record_id: str, delta_minutes: int, reason: str
    ) -> Submitted[NoValue]:
        params = {"record_id": record_id, "delta_minutes": delta_minutes, "reason": reason}
        return self._signed("correct_record", idempotency_key, params, NoValue)

    def void_record(
        self, *, idempotency_key: str, record_id: str, grounds: str
    ) -> Submitted[NoValue]:
        params = {"record_id": record_id, "grounds": grounds}
        return self._signed("void_record", idempotency_key, params, NoValue)

    def revoke_certificate(
        self, *, idempotency_key: str, certificate_number: str, reason: str
    ) -> Submitted[NoValue]:
        params = {"certificate_number": certificate_number, "reason": reason}
        return self._signed("revoke_certificate", idempotency_key, params, NoValue)

    def issue_certificate(
        self, *, idempotency_key: str, number: str, period_from: date, period_to: date,
        issuer_contact: str, language: str = "zh", include_masked_name: bool = False,
    ) -> Submitted[CertificateRef]:  # fmt: skip
        """Issue a certificate (``value.certificate_number``): the event and the credential
        are both signed here; ``credential`` is the signed credential."""
        params = {"number": number, "period_from": period_from.isoformat(),
                  "period_to": period_to.isoformat(), "issuer_contact": issuer_contact,
                  "language": language, "include_masked_name": include_masked_name}  # fmt: skip
        return self._signed("issue_certificate", idempotency_key, params, CertificateRef)

    def grant_honour(
        self, *, idempotency_key: str, recipient_kind: str, recipient: str, honour: str,
        citation: str, granted_on: date,
    ) -> Submitted[HonourRef]:  # fmt: skip
        """Grant an honour to a volunteer or organisation (``value.honour_id``)."""
        params = {"recipient_kind": recipient_kind, "recipient": recipient, "honour": honour,
                  "citation": citation, "granted_on": granted_on.isoformat()}  # fmt: skip
        return self._signed("grant_honour", idempotency_key, params, HonourRef)

    def revoke_honour(
        self, *, idempotency_key: str, recipient_kind: str, recipient: str, honour_id: str,
        reason: str,
    ) -> Submitted[NoValue]:  # fmt: skip
        params = {"recipient_kind": recipient_kind, "recipient": recipient,
                  "honour_id": honour_id, "reason": reason}  # fmt: skip
        return self._signed("revoke_honour", idempotency_key, params, NoValue)

    def open_time_bank(
        self, *, idempotency_key: str, bank_id: str, credit_numerator: int = 1,
        credit_denominator: int = 1, cap_minutes: int | None = None,
        surplus_account: str | None = None,
    ) -> Submitted[NoValue]:  # fmt: skip
        """Open a time bank owned by this organisation (its automatic-awards key, which mints
        the credit, must be registered first and held by the ledger)."""
        params = {"bank_id": bank_id, "credit_numerator": credit_numerator,
                  "credit_denominator": credit_denominator, "cap_minutes": cap_minutes,
                  "surplus_account": surplus_account}  # fmt: skip
        return self._signed("open_time_bank", idempotency_key, params, NoValue)

    def transfer_credit(
        self, *, idempotency_key: str, bank_id: str, from_account: str, to_account: str,
        amount: int, kind: str = "transfer",
    ) -> Submitted[TransferRef]:  # fmt: skip
        """Move time-bank credit (``value.transfer_id``): a debit and a credit, both signed
        here."""
        params = {"bank_id": bank_id, "from_account": from_account, "to_account": to_account,
                  "amount": amount, "kind": kind}  # fmt: skip
        return self._signed("transfer_credit", idempotency_key, params, TransferRef)

    def reverse_transfer(
        self, *, idempotency_key: str, bank_id: str, transfer_id: str, account: str | None = None
    ) -> Submitted[TransferRef]:
        """Reverse a mistaken transfer by a new one pointing at it (at most once); ``account``,
        either account of the transfer, has the ledger find it there."""
        params = {"bank_id": bank_id, "transfer_id": transfer_id}
        if account is not None:
            params["account"] = account
        return self._signed("reverse_transfer", idempotency_key, params, TransferRef)

    # reads

    def volunteer(self, number: str) -> dict[str, Any]:
        return self._json("GET", f"/volunteers/{number}")

    def records(self, number: str) -> dict[str, Any]:
        return self._json("GET", f"/volunteers/{number}/records")

    def certificate_package(self, certificate_number: str) -> dict[str, Any]:
        """The offline-verifiable certificate package (``ledger verify`` checks it)."""
        return self._json("GET", f"/certificates/{certificate_number}/package")

    def receipt(self, leaf_index: int) -> str:
        """A tlog-proof receipt of one leaf, to verify offline against a trust policy."""
        response = self._http.get(f"/receipts/{leaf_index}")
        self._raise_for_problem(response)
        return response.text

    # the protocol

    def _signed(
        self, command: str, idempotency_key: str, params: dict[str, Any], result: type[R]
    ) -> Submitted[R]:
        """Draft, check, sign and submit; a second call with the same idempotency key resubmits
        the bodies signed the first time, so the server answers it as a replay."""
        kept = self._signed_by_key.get(idempotency_key)
        if kept is not None:
            return self._store(*kept, result)
        asked = {k: v for k, v in params.items() if v is not None}
        drafted = self._json(
            "POST",
            f"/drafts/{command}",
            {"key_id": self.signer.key_id, "idempotency_key": idempotency_key, "params": asked},
        )
        texts = drafted.get("bodies")
        if not isinstance(texts, list) or not texts:
            raise LedgerClientError(f"the server drafted nothing for {command}")
        bodies = []
        for text in texts:
            bodies.append(self._check_draft(command, str(text), idempotency_key, asked))
        value = dict(drafted.get("value") or {})
        _check_whole_draft(command, bodies, asked)
        _own_value(value, result)  # before anything is signed
        credential = None
        if command == "issue_certificate":
            credential = self._sign_credential(bodies[0], value.get("credential"))
            value["credential"] = credential
            named = [e.get("statusListCredential") for e in credential.get("credentialStatus", [])]
            value["status_list"] = self._sign_status_list(
                bodies[0], named, value.get("status_list"), revoked=False
            )
        elif command == "revoke_certificate" and value.get("status_list") is not None:
            listed = f"/status-lists/certificates/{asked['certificate_number']}"
            unsigned = value["status_list"]
            own = did_key(self.signer.public_key)
            named = [unsigned.get("id")] if str(unsigned.get("id")).endswith(listed) else []
            # Only the credential's issuing key can sign a list generic verifiers accept.
            value["status_list"] = (
                self._sign_status_list(bodies[0], named, unsigned, revoked=True)
                if unsigned.get("issuer") == own
                else None
            )
        signed = []
        for text in texts:
            signature = self.signer.sign(signing_input(str(text).encode("utf-8")))
            signed.append({"body": text, "signature": b64encode(signature)})
        self._signed_by_key[idempotency_key] = (signed, value)
        return self._store(signed, value, result)

    def _sign_credential(self, body: dict[str, Any], unsigned: Any) -> dict[str, Any]:
        """Sign the drafted credential, once sure it is the one the event commits to and it
        names this organisation's key as its issuer."""
        data = body["data"]
        if not isinstance(unsigned, dict) or "proof" in unsigned:
            raise LedgerClientError("the server drafted no unsigned credential to sign")
        wrong = []
        if credential_sha256(unsigned) != data.get("credential_sha256"):
            wrong.append("its SHA-256 is not the event's credential_sha256")
        if unsigned.get("certificateNumber") != data.get("certificate_number"):
            wrong.append("it names another certificate number")
        issuer = unsigned.get("issuer")
        if not isinstance(issuer, dict) or issuer.get("id") != did_key(self.signer.public_key):
            wrong.append("its issuer is not this organisation's key")
        if wrong:
            raise LedgerClientError(f"refusing to sign the drafted credential: {'; '.join(wrong)}")
        return sign_credential(unsigned, self.signer, str(body["occurred_at"]))

    def _sign_status_list(
        self, body: dict[str, Any], named: list[Any], unsigned: Any, *, revoked: bool
    ) -> dict[str, Any] | None:
        """Sign the drafted status list, once sure it is the certificate's list (one of
        ``named``), by this issuer, saying "not revoked" (``revoked``: "revoked"); None if none
        was drafted."""
        if unsigned is None:
            return None
        subject = unsigned.get("credentialSubject") if isinstance(unsigned, dict) else None
        saying = "revoked" if revoked else "not revoked"
        if (
            not isinstance(subject, dict)
            or "proof" in unsigned
            or unsigned.get("id") not in named
            or unsigned.get("issuer") != did_key(self.signer.public_key)
            or subject.get("encodedList") != encode_list([0] if revoked else [])
        ):
            raise LedgerClientError(
                "refusing to sign the drafted status list: it is not this certificate's list, "
                f"by this organisation, saying '{saying}'"
            )
        method = did_key_verification_method(self.signer.public_key)
        return add_proof(unsigned, self.signer, method, str(body["occurred_at"]))

    def _store(
        self, signed: list[dict[str, Any]], value: dict[str, Any], result: type[R]
    ) -> Submitted[R]:
        credential, status_list = value.get("credential"), value.get("status_list")
        stored = self._submit(signed, credential, status_list)
        return Submitted(
            tuple(
                EventRef(e["aggregate_id"], e["version"], e["type"], e.get("leaf_index"))
                for e in stored["events"]
            ),
            _own_value(value, result),
            bool(stored.get("_replayed")),
            credential,
            status_list,
        )

    def _check_draft(
        self, command: str, text: str, idempotency_key: str, asked: dict[str, Any]
    ) -> dict[str, Any]:
        """Refuse to sign anything but what was asked for; return the parsed body."""
        body: dict[str, Any] = json.loads(text)
        expected = _TYPES.get(command, (DRAFTABLE[command][1],))
        wrong = []
        if body.get("type") not in expected:
            wrong.append(f"type {body.get('type')!r} is not {' or '.join(map(repr, expected))}")
        if body.get("key_id") != self.signer.key_id:
            wrong.append("it names another key")
        if body.get("idempotency_key") != idempotency_key:
            wrong.append("it carries another idempotency key")
        if body.get("org") != self.org:
            wrong.append(f"it is for {body.get('org')!r}")
        data = body.get("data", {})
        for name, value in asked.items():
            if name in _NOT_IN_DATA.get(command, ()):
                continue
            if name in data and data[name] != value and not isinstance(value, list | dict):
                wrong.append(f"data.{name} is {data[name]!r}, not {value!r}")
        if wrong:
            raise LedgerClientError(f"refusing to sign the draft of {command}: {'; '.join(wrong)}")
        return body

    def _submit(
        self, signed: list[dict[str, Any]], credential: Any = None, status_list: Any = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"events": signed}
        if credential is not None:
            payload["credential"] = credential
        if status_list is not None:
            payload["status_list"] = status_list
        try:
            response = self._http.post("/events", json=payload)
        except httpx.TransportError:
            response = self._http.post("/events", json=payload)  # same bytes: idempotent
        self._raise_for_problem(response)
        stored: dict[str, Any] = response.json()
        stored["_replayed"] = response.headers.get("Idempotent-Replayed") == "true"
        return stored

    def _json(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = self._http.request(method, path, json=body)
        self._raise_for_problem(response)
        found: dict[str, Any] = response.json()
        return found

    @staticmethod
    def _raise_for_problem(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            problem = response.json()
        except ValueError:
            problem = {"detail": response.text[:500]}
        detail = problem.get("detail") or problem.get("title") or response.reason_phrase
        raise LedgerClientError(
            f"{response.status_code}: {detail}", status=response.status_code, problem=problem
        )


_TRANSFER = ("CreditSent", "CreditReceived")
_TYPES = {
    "grant_honour": ("HonourGranted", "OrganisationHonourGranted"),
    "revoke_honour": ("HonourRevoked", "OrganisationHonourRevoked"),
    "transfer_credit": _TRANSFER,
    "reverse_transfer": _TRANSFER,
}
"""Commands whose events are of more than one type (the others: ``DRAFTABLE``'s type)."""
_NOT_IN_DATA = {"reverse_transfer": ("transfer_id", "account")}
"""Parameters named like a data field of another meaning (a reversal's own transfer id, the
account it was found in)."""


def _check_whole_draft(command: str, bodies: list[dict[str, Any]], asked: dict[str, Any]) -> None:
    """What one body cannot show: a transfer is one debit and one matching credit, from and to
    the accounts asked for (a reversal: of the transfer asked for)."""
    if command not in ("transfer_credit", "reverse_transfer"):
        return
    types = [b.get("type") for b in bodies]
    if types != list(_TRANSFER):
        raise LedgerClientError(f"refusing to sign the draft of {command}: events {types}")
    sent, received = (b["data"] for b in bodies)
    wrong = []
    for name in ("transfer_id", "bank_id", "amount", "kind", "reverses"):
        if sent.get(name) != received.get(name):
            wrong.append(f"debit and credit differ in {name}")
    if (sent.get("account"), sent.get("counterparty")) != (
        received.get("counterparty"),
        received.get("account"),
    ):
        wrong.append("debit and credit are not between the same two accounts")
    if command == "transfer_credit":
        if (sent.get("account"), sent.get("counterparty")) != (
            asked["from_account"],
            asked["to_account"],
        ):
            wrong.append("it moves credit between other accounts than asked")
        if sent.get("amount") != asked["amount"]:
            wrong.append(f"it moves {sent.get('amount')!r}, not {asked['amount']!r}")
    else:
        if sent.get("kind") != "reversal" or sent.get("reverses") != asked["transfer_id"]:
            wrong.append("it is not the reversal of the transfer asked for")
        if asked.get("account") not in (None, sent.get("account"), sent.get("counterparty")):
            wrong.append("it moves credit between other accounts than the one named")
    if wrong:
        raise LedgerClientError(f"refusing to sign the draft of {command}: {'; '.join(wrong)}")


def _whole_seconds(moment: datetime) -> str:
    """Activity times are kept to the second, as the ledger stores them."""
    return format_time(moment.replace(microsecond=0))


def _own_value(value: dict[str, Any], result: type[R]) -> R:
    """The command's own value in a draft's value (without the credential and status list
    signed here), as the type the command returns; a value of another shape is refused."""
    own = {k: v for k, v in value.items() if k not in ("credential", "status_list")}
    try:
        return result.from_json(own)
    except (TypeError, KeyError):
        raise LedgerClientError(
            f"the server drafted a value that is not a {result.__name__}: {own!r}"
        ) from None
