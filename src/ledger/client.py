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
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx

from .drafting import DRAFTABLE
from .envelope import format_time, signing_input
from .errors import LedgerError
from .signing import Signer, SigningKey, b64encode

__all__ = ["EventRef", "LedgerClient", "LedgerClientError", "Submitted"]


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
class Submitted:
    """What a signed command stored: its events with their leaves, and the command's value."""

    events: tuple[EventRef, ...]
    value: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False


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

    def register_volunteer(self, *, idempotency_key: str, number: str | None = None) -> Submitted:
        """A new volunteer (``value["number"]``); personal data goes by its own route."""
        return self._signed("register_volunteer", idempotency_key, {"number": number})

    def publish_activity(
        self, *, idempotency_key: str, title: str, field: str, place: str, starts_at: datetime,
        ends_at: datetime, leader: str, content: str, **optional: Any,
    ) -> Submitted:  # fmt: skip
        """Publish an activity (``value["activity_id"]``)."""
        params = {"title": title, "field": field, "place": place, "leader": leader,
                  "content": content, "starts_at": _whole_seconds(starts_at),
                  "ends_at": _whole_seconds(ends_at), **optional}  # fmt: skip
        return self._signed("publish_activity", idempotency_key, params)

    def cancel_activity(self, *, idempotency_key: str, activity_id: str, reason: str) -> Submitted:
        params = {"activity_id": activity_id, "reason": reason}
        return self._signed("cancel_activity", idempotency_key, params)

    def record_hours(
        self, *, idempotency_key: str, activity_id: str, number: str, minutes: int,
        service_date: date | None = None, content: str | None = None,
    ) -> Submitted:  # fmt: skip
        """Record one volunteer's minutes (``value["record_id"]``)."""
        params = {"activity_id": activity_id, "number": number, "minutes": minutes,
                  "content": content,
                  "service_date": service_date.isoformat() if service_date else None}  # fmt: skip
        return self._signed("record_hours", idempotency_key, params)

    def record_roster(
        self, *, idempotency_key: str, activity_id: str, entries: Sequence[dict[str, Any]]
    ) -> Submitted:
        """Record many volunteers at once (``value["record_ids"]``)."""
        params = {"activity_id": activity_id, "entries": [dict(e) for e in entries]}
        return self._signed("record_roster", idempotency_key, params)

    def approve_record(
        self, *, idempotency_key: str, record_id: str, approved_minutes: int | None = None,
        reason: str | None = None,
    ) -> Submitted:  # fmt: skip
        params = {"record_id": record_id, "approved_minutes": approved_minutes, "reason": reason}
        return self._signed("approve_record", idempotency_key, params)

    def reject_record(self, *, idempotency_key: str, record_id: str, reason: str) -> Submitted:
        params = {"record_id": record_id, "reason": reason}
        return self._signed("reject_record", idempotency_key, params)

    def correct_record(
        self, *, idempotency_key: str, record_id: str, delta_minutes: int, reason: str
    ) -> Submitted:
        params = {"record_id": record_id, "delta_minutes": delta_minutes, "reason": reason}
        return self._signed("correct_record", idempotency_key, params)

    def void_record(self, *, idempotency_key: str, record_id: str, grounds: str) -> Submitted:
        params = {"record_id": record_id, "grounds": grounds}
        return self._signed("void_record", idempotency_key, params)

    def revoke_certificate(
        self, *, idempotency_key: str, certificate_number: str, reason: str
    ) -> Submitted:
        params = {"certificate_number": certificate_number, "reason": reason}
        return self._signed("revoke_certificate", idempotency_key, params)

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

    def _signed(self, command: str, idempotency_key: str, params: dict[str, Any]) -> Submitted:
        """Draft, check, sign and submit; a second call with the same idempotency key resubmits
        the bodies signed the first time, so the server answers it as a replay."""
        kept = self._signed_by_key.get(idempotency_key)
        if kept is not None:
            return self._store(*kept)
        asked = {k: v for k, v in params.items() if v is not None}
        drafted = self._json(
            "POST",
            f"/drafts/{command}",
            {"key_id": self.signer.key_id, "idempotency_key": idempotency_key, "params": asked},
        )
        texts = drafted.get("bodies")
        if not isinstance(texts, list) or not texts:
            raise LedgerClientError(f"the server drafted nothing for {command}")
        signed = []
        for text in texts:
            self._check_draft(command, str(text), idempotency_key, asked)
            signature = self.signer.sign(signing_input(str(text).encode("utf-8")))
            signed.append({"body": text, "signature": b64encode(signature)})
        value = dict(drafted.get("value") or {})
        self._signed_by_key[idempotency_key] = (signed, value)
        return self._store(signed, value)

    def _store(self, signed: list[dict[str, Any]], value: dict[str, Any]) -> Submitted:
        stored = self._submit(signed)
        return Submitted(
            tuple(
                EventRef(e["aggregate_id"], e["version"], e["type"], e.get("leaf_index"))
                for e in stored["events"]
            ),
            value,
            bool(stored.get("_replayed")),
        )

    def _check_draft(
        self, command: str, text: str, idempotency_key: str, asked: dict[str, Any]
    ) -> None:
        """Refuse to sign anything but what was asked for."""
        body = json.loads(text)
        expected_type = DRAFTABLE[command][1]
        wrong = []
        if body.get("type") != expected_type:
            wrong.append(f"type {body.get('type')!r} is not {expected_type!r}")
        if body.get("key_id") != self.signer.key_id:
            wrong.append("it names another key")
        if body.get("idempotency_key") != idempotency_key:
            wrong.append("it carries another idempotency key")
        if body.get("org") != self.org:
            wrong.append(f"it is for {body.get('org')!r}")
        data = body.get("data", {})
        for name, value in asked.items():
            if name in data and data[name] != value and not isinstance(value, list | dict):
                wrong.append(f"data.{name} is {data[name]!r}, not {value!r}")
        if wrong:
            raise LedgerClientError(f"refusing to sign the draft of {command}: {'; '.join(wrong)}")

    def _submit(self, signed: list[dict[str, Any]]) -> dict[str, Any]:
        payload = {"events": signed}
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


def _whole_seconds(moment: datetime) -> str:
    """Activity times are kept to the second, as the ledger stores them."""
    return format_time(moment.replace(microsecond=0))
