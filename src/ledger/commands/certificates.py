"""Certificates of service and award credentials."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import date
from typing import Any

from ..certificates.credential import (
    certificate_credential,
    check_submitted_credential,
    check_submitted_status_list,
    credential_sha256,
    links_of,
    sign_credential,
    without_proof,
)
from ..certificates.links import CredentialLinks
from ..certificates.status import Status, sign_status
from ..context import Context
from ..credentials import did_key
from ..credentials.status_list import status_list_credential
from ..drafting import drafting_key_id
from ..errors import InvalidInputError, NotFoundError
from ..log.checkpoint import Checkpoint
from ..log.note import parse_note
from ..model.certificates import Certificate, certificate_aggregate_id, certified_figures
from ..model.ids import volunteer_aggregate_id
from ..personal_data import masked_name
from ..privacy.credentials import credential_to_store, stored_credential
from ..results import CertificateRef, NoValue
from ..signing import VerifyingKey
from ..storage.records import SideRow
from ..writer import CommandResult
from .base import CommandHost

CERTIFICATES = "certificate"
SIGNED_STATUS_LISTS = "certificate-status-list"
"""Status lists an issuer signed at home ("not revoked"), for issuers whose key is not here."""
NAME_CONSENT = "certificate-name"


def new_certificate_number(year: int) -> str:
    return f"C{year:04d}-" + base64.b32encode(secrets.token_bytes(7)).decode()[:10]


class CertificateCommands(CommandHost):
    def issue_certificate(
        self,
        org: str,
        *,
        number: str,
        period_from: date,
        period_to: date,
        issuer_contact: str,
        idempotency_key: str,
        language: str = "zh",
        include_masked_name: bool = False,
        verify_base_url: str | None = None,
        allow_local_links: bool = False,
    ) -> CommandResult[CertificateRef]:
        """Issue a certificate of the volunteer's approved service in the period, as far as
        ``org`` and those below it recorded it; ``result.value.certificate_number``.

        The signed credential is kept beside the ledger and the issuing event commits to it.
        A masked name appears only with the volunteer's ``certificate-name`` consent. Its links
        start with ``verify_base_url`` (default ``https://<log origin>``), which must be a
        public address unless ``allow_local_links`` (a demo) says otherwise.
        """
        drafting = drafting_key_id()
        # Drafted for an organisation that signs on its own machine: the credential is returned
        # unsigned with the draft, and stored when it comes back signed (submit_signed).
        signer = None if drafting else self.signer_for(org)
        issuer_key = (
            self._directory.authorise(drafting, org, purpose="signing").key
            if drafting
            else signer.public_key  # type: ignore[union-attr]
        )
        made: dict[str, Any] = {}
        name = self._masked_name(number) if include_masked_name else None
        ledger = self._directory.require_ledger()
        links = self.credential_links(verify_base_url, allow_local=allow_local_links)

        def decide(ctx: Context) -> dict[str, Any]:
            certificate_number = new_certificate_number(period_to.year)
            figures = certified_figures(
                ctx, org, number, period_from.isoformat(), period_to.isoformat()
            )
            figures.pop("records")
            data: dict[str, Any] = {
                "certificate_number": certificate_number,
                "number": number,
                "period_from": period_from.isoformat(),
                "period_to": period_to.isoformat(),
                **figures,
                "issuer_contact": issuer_contact,
                "language": language,
            }
            unsigned = certificate_credential(
                data=data,
                masked_name=name,
                issuer_name=ctx.directory.organisation(org).name,
                issuer_key=issuer_key,
                issued_at=ctx.occurred_at,
                links=links,
                origin=ledger.origin,
            )
            data["credential_sha256"] = credential_sha256(unsigned)
            ctx.emit("CertificateIssued", certificate_aggregate_id(certificate_number), data)
            if signer is None:
                status_list = status_list_credential(
                    list_url=links.certificate_status_list(certificate_number),
                    issuer=did_key(issuer_key),
                    set_bits=[],
                    valid_from=ctx.occurred_at,
                )
                return {
                    "certificate_number": certificate_number,
                    "credential": unsigned,
                    "status_list": status_list,
                }
            signed = sign_credential(unsigned, signer, ctx.occurred_at)
            stored = credential_to_store(self.personal_data, number, certificate_number, signed)
            made["credential"] = (
                [] if stored is None else [SideRow(CERTIFICATES, certificate_number, stored)]
            )
            return {"certificate_number": certificate_number}

        params = {
            "number": number,
            "from": period_from.isoformat(),
            "to": period_to.isoformat(),
            "contact": issuer_contact,
            "language": language,
            "masked_name": include_masked_name,
        }
        # The signed credential is stored in the transaction that stores the event: a crash
        # cannot leave an issued certificate without its credential.
        return self._command(
            org,
            "CertificateIssued",
            params,
            decide,
            result=CertificateRef,
            idempotency_key=idempotency_key,
            signer=signer,
            side_rows=lambda: made["credential"],
        )

    def _signed_credential_rows(
        self,
        bodies: list[dict[str, Any]],
        credential: dict[str, Any] | None,
        status_list: dict[str, Any] | None = None,
    ) -> list[SideRow]:
        """The side rows keeping the credential an organisation signed for the
        ``CertificateIssued`` body among ``bodies`` (and, if given, the status list it signed
        saying "not revoked"); raise unless the credential is exactly the one the body commits
        to, and the list the one it names, both signed with the body's key."""
        issued = [b for b in bodies if b["type"] == "CertificateIssued"]
        revoked = [b for b in bodies if b["type"] == "CertificateRevoked"]
        if not issued and credential is None and status_list is not None and len(revoked) == 1:
            return self._revoked_list_rows(revoked[0], status_list)
        if not issued:
            if credential is not None or status_list is not None:
                raise InvalidInputError(
                    "a credential comes only with a CertificateIssued event, a status list "
                    "with it or with a CertificateRevoked event"
                )
            return []
        if credential is None or len(issued) != 1:
            raise InvalidInputError(
                "a CertificateIssued event is submitted with its signed credential (credential)"
            )
        body = issued[0]
        data = body["data"]
        key = self._directory.key(body["key_id"]).key
        check_submitted_credential(credential, data, key)
        self._require_logged_content(credential, body, key)
        stored = credential_to_store(
            self.personal_data, data["number"], data["certificate_number"], credential
        )
        rows = [] if stored is None else [SideRow(CERTIFICATES, data["certificate_number"], stored)]
        if status_list is not None:
            check_submitted_status_list(status_list, credential, key)
            raw = json.dumps(status_list, ensure_ascii=False).encode()
            rows.append(SideRow(SIGNED_STATUS_LISTS, data["certificate_number"], raw))
        return rows

    def _require_logged_content(
        self, credential: dict[str, Any], body: dict[str, Any], key: VerifyingKey
    ) -> None:
        """The credential an organisation signed says what the log says, and nothing more: it
        is the document the ledger writes for the event's data, with the id the organisation
        drew and the links it signed, and a masked name only as the ledger derives it, with the
        volunteer's ``certificate-name`` consent (the event commits to the credential's hash,
        which the organisation computes itself)."""
        data = body["data"]
        subject = credential.get("credentialSubject")
        named = isinstance(subject, dict) and "maskedName" in subject
        expected = certificate_credential(
            data=data,
            masked_name=self._masked_name(data["number"]) if named else None,
            issuer_name=self._directory.organisation(body["org"]).name,
            issuer_key=key,
            issued_at=body["occurred_at"],
            links=links_of(credential),
            origin=self._directory.require_ledger().origin,
            credential_id=str(credential.get("id")),
        )
        if without_proof(credential) != expected:
            raise InvalidInputError(
                "the credential must state what its CertificateIssued event logs, as the "
                "ledger writes it (POST /drafts/issue_certificate returns it): the logged "
                "figures, issuer and dates, and a masked name only with the volunteer's "
                "certificate-name consent"
            )

    def _revoked_list_rows(self, body: dict[str, Any], status_list: Any) -> list[SideRow]:
        """The status list saying "revoked" that the revoking organisation signed at home."""
        number = body["data"]["certificate_number"]
        credential = self._stored_credential(number)
        if credential is None:
            raise InvalidInputError(f"certificate {number} has no credential with a status list")
        key = self._directory.key(body["key_id"]).key
        check_submitted_status_list(status_list, credential, key, revoked=True)
        raw = json.dumps(status_list, ensure_ascii=False).encode()
        return [SideRow(SIGNED_STATUS_LISTS, f"{number}:revoked", raw)]

    def _masked_name(self, number: str) -> str | None:
        consents = self._volunteer_consents(number)
        if not consents.get(NAME_CONSENT) or not self.personal_data.has(number):
            return None
        name = self.personal_data.get(number).get("name")
        return masked_name(name) if name else None

    def _volunteer_consents(self, number: str) -> dict[str, bool]:
        from ..model.aggregates import Volunteer

        state = self._state(Volunteer, volunteer_aggregate_id(number))
        return dict(getattr(state, "consents", {}))

    def revoke_certificate(
        self, org: str, *, certificate_number: str, reason: str, idempotency_key: str
    ) -> CommandResult[NoValue]:
        """Revoke a certificate with a reason; it stays provable as issued, then revoked.

        Drafted for an organisation that signs at home, the draft's value also holds the
        certificate's status list saying "revoked", to sign with the same key (when that key is
        the credential's issuer) and submit with the event."""
        aggregate = certificate_aggregate_id(certificate_number)
        data = {"certificate_number": certificate_number, "reason": reason}
        drafting = drafting_key_id()
        credential = self._stored_credential(certificate_number) if drafting else None

        def decide(ctx: Context) -> dict[str, Any]:
            ctx.emit("CertificateRevoked", aggregate, data)
            if credential is None:
                return {}
            entries = credential.get("credentialStatus", [])
            lists = [e["statusListCredential"] for e in entries if "statusListCredential" in e]
            return {
                "status_list": status_list_credential(
                    list_url=lists[0],
                    issuer=credential["issuer"]["id"],
                    set_bits=[0],
                    valid_from=ctx.occurred_at,
                )
            }

        return self._command(
            org,
            "CertificateRevoked",
            {"aggregate_id": str(aggregate), "data": data},
            decide,
            result=NoValue,
            idempotency_key=idempotency_key,
        )

    def _stored_credential(self, certificate_number: str) -> dict[str, Any] | None:
        try:
            credential = self.certificate(certificate_number)["credential"]
        except NotFoundError:
            return None
        listed = isinstance(credential, dict) and any(
            "statusListCredential" in e for e in credential.get("credentialStatus", [])
        )
        return credential if listed else None

    def certificate(self, certificate_number: str) -> dict[str, Any]:
        """The certificate's logged data, status and signed credential."""
        events = self.events(certificate_aggregate_id(certificate_number))
        if not events:
            raise NotFoundError(f"certificate {certificate_number} is not in this ledger")
        state = self._state(Certificate, certificate_aggregate_id(certificate_number))
        assert isinstance(state, Certificate)
        stored = self._writer.recorder.side_get(CERTIFICATES, certificate_number)
        revocation = events[1] if len(events) > 1 else None
        return {
            "certificate_number": certificate_number,
            "issuer": state.org,
            "issuer_name": self._directory.organisation(state.org).name,
            "issued_at": state.issued_at,
            "data": events[0].data,
            "issuance_leaf": events[0].leaf_index,
            "revoked": state.revoked,
            "revoked_at": state.revoked_at or None,
            "revoked_reason": state.revoked_reason or None,
            "revocation_leaf": revocation.leaf_index if revocation else None,
            "credential": stored_credential(self.personal_data, state.number, stored),
            "personal_data_erased": self.personal_data.erased(state.number),
        }

    def certificate_package(self, certificate_number: str) -> dict[str, Any]:
        """Everything to verify the certificate offline with only the log's verifier key."""
        found = self.certificate(certificate_number)
        issued = self.events(certificate_aggregate_id(certificate_number))[0]
        log = self.log  # type: ignore[attr-defined]
        last_leaf = max(found["issuance_leaf"], found["revocation_leaf"] or 0)
        note = log.checkpoint_covering(last_leaf)
        checkpoint = Checkpoint.parse(parse_note(note)[0])
        revoked_leaf = found["revocation_leaf"]
        status = Status(
            self._directory.require_ledger().origin,
            certificate_number,
            revoked_leaf if revoked_leaf is not None and revoked_leaf < checkpoint.size else None,
            found["revoked_reason"] or "",
            checkpoint.size,
            checkpoint.root_hash,
        )
        return {
            "credential": found["credential"],
            "issuance_receipt": log.receipt(found["issuance_leaf"]),
            "key_receipt": log.receipt(self._key_leaf(issued.key_id)),
            "status": sign_status(status, log.signers()),
            # The checkpoint the status is about, with its cosignatures: under a witness policy
            # the status counts only if this checkpoint meets the quorum.
            "status_checkpoint": log.checkpoint_at(checkpoint.size),
        }

    def _key_leaf(self, key_id: str) -> int:
        leaf = self._directory.keys[key_id].registered_leaf
        if leaf is None:
            raise NotFoundError(f"the registration of key {key_id} is not in the log")
        return int(leaf)

    def credential_links(
        self, public_base_url: str | None, *, allow_local: bool = False
    ) -> CredentialLinks:
        """The links signed into credentials: from ``public_base_url``, or ``https://<log
        origin>`` when none is configured; refused when they name a non-public address."""
        origin = self._directory.require_ledger().origin
        return CredentialLinks(public_base_url or f"https://{origin}", allow_local=allow_local)
