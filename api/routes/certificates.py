"""Certificates of service and award credentials over HTTP, and their public verification.

Issuing and revoking are writes (an API key with the ``award`` scope and an ``Idempotency-Key``).
Everything else is public: a certificate's logged data and credential, its offline verification
package, the log receipt of its issuance, its log-signed status note, a verdict on any package
or credential, and the page a person opens from the QR code, ``/verify/<certificate number>``.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Annotated, Any, Literal

import segno
from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from pydantic import Field

from ledger import Ledger
from ledger.certificates.acceptance import check_package, verify_here
from ledger.commands.typed import IssueCertificate, RevokeCertificate
from ledger.errors import NotFoundError, PersonalDataErasedError
from ledger.privacy.credentials import erased_credential_verdict

from ..deps import AwardingOrg, LedgerDep
from ..pages.certificate import CertificateView, render_certificate_page, render_not_found
from ..problems import Problem
from ..replicas import ReadLedgerDep
from ..schemas import CommandOut, IdempotencyKey, Strict, command_out

router = APIRouter(tags=["certificates"])

CertificateNumber = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="a certificate number such as `C2025-ABCDEFGHIJ`",
        examples=["C2025-ABCDEFGHIJ"],
    ),
]
VC_MEDIA_TYPE = "application/vc"
NO_CACHE = {"Cache-Control": "no-cache"}
TEXT: dict[int | str, dict[str, Any]] = {200: {"content": {"text/plain": {}}}}
HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}},
    404: {"content": {"text/html": {}}, "description": "no such certificate (an HTML page)"},
}


class CertificateIn(Strict):
    number: str = Field(pattern=r"^V[A-Z2-7]{13}$", description="the volunteer's number")
    period_from: date
    period_to: date
    issuer_contact: str = Field(
        min_length=1, max_length=200, description="how a verifier reaches the issuer"
    )
    language: Literal["zh", "en"] = "zh"
    include_masked_name: bool = Field(
        default=False,
        description="show the masked name, only if the volunteer consented to "
        "'certificate-name'; otherwise the certificate carries no name",
    )


class RevokeIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


def public_base(request: Request) -> str:
    """Where verification links point: the configured public URL, else this request's base."""
    settings = getattr(request.app.state, "settings", None)
    configured = getattr(settings, "public_url", None) or os.environ.get("LEDGER_PUBLIC_URL")
    return str(configured or request.base_url).rstrip("/")


def local_links_allowed(request: Request) -> bool:
    """Whether the operator marked this server a demo, whose credentials may link to local
    addresses (``LEDGER_ALLOW_LOCAL_LINKS``)."""
    settings = getattr(request.app.state, "settings", None)
    if settings is not None:
        return bool(getattr(settings, "allow_local_links", False))
    return os.environ.get("LEDGER_ALLOW_LOCAL_LINKS", "").lower() in ("1", "true", "yes")


def _links(number: str) -> dict[str, str]:
    return {
        "page": f"/verify/{number}",
        "package": f"/certificates/{number}/package",
        "credential": f"/certificates/{number}/credential",
        "receipt": f"/certificates/{number}/receipt",
        "status": f"/verify/{number}/status",
    }


def _download(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', **NO_CACHE}


# --- writes -------------------------------------------------------------------------------


@router.post("/certificates", status_code=201, response_model=CommandOut)
def issue_certificate(
    body: CertificateIn,
    request: Request,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Issue a certificate of the volunteer's approved service in the period, as far as the
    acting organisation and those below it recorded it (the federation: all of it).

    The number is ``value.certificate_number``; the page is ``/verify/<number>``.
    """
    result = ledger.run(
        IssueCertificate(
            org,
            verify_base_url=public_base(request),
            allow_local_links=local_links_allowed(request),
            **body.model_dump(),
        ),
        idempotency_key=idempotency_key,
    )
    return command_out(result, response)


@router.post(
    "/certificates/{certificate_number}/revoke", status_code=201, response_model=CommandOut
)
def revoke_certificate(
    certificate_number: CertificateNumber,
    body: RevokeIn,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Revoke a certificate with a reason (its issuer or an organisation above it)."""
    result = ledger.run(
        RevokeCertificate(org, certificate_number=certificate_number, reason=body.reason),
        idempotency_key=idempotency_key,
    )
    return command_out(result, response)


# --- public reads -------------------------------------------------------------------------


@router.get("/certificates/{certificate_number}")
def get_certificate(certificate_number: CertificateNumber, ledger: ReadLedgerDep) -> dict[str, Any]:
    """The certificate's logged data, its status and the signed credential."""
    found = ledger.certificate(certificate_number)
    return {
        **found,
        "status": {
            "state": "revoked" if found["revoked"] else "valid",
            "revoked_at": found["revoked_at"],
            "reason": found["revoked_reason"],
        },
        "links": _links(certificate_number),
    }


@router.get("/certificates/{certificate_number}/package")
def get_package(certificate_number: CertificateNumber, ledger: ReadLedgerDep) -> JSONResponse:
    """Everything to verify the certificate offline with only the log's verifier key:
    the credential, the receipts of its issuance and of its issuer's key, and the status note."""
    package = ledger.certificate_package(certificate_number)
    if package["credential"] is None:
        _refuse_if_erased(ledger.certificate(certificate_number))
    return JSONResponse(package, headers=_download(f"{certificate_number}.certificate.json"))


def _refuse_if_erased(found: dict[str, Any]) -> None:
    if found.get("personal_data_erased"):
        raise PersonalDataErasedError(
            f"the credential of certificate {found['certificate_number']} named a volunteer "
            "whose personal data was erased; it is no longer kept here (the holder's copy "
            "still verifies at POST /verify)"
        )


@router.get(
    "/certificates/{certificate_number}/credential",
    responses={200: {"content": {VC_MEDIA_TYPE: {}}}},
)
def get_credential(certificate_number: CertificateNumber, ledger: ReadLedgerDep) -> JSONResponse:
    """The W3C Verifiable Credential 2.0 (``eddsa-jcs-2022``), as the issuer signed it."""
    found = ledger.certificate(certificate_number)
    credential = found["credential"]
    if credential is None:
        _refuse_if_erased(found)
        raise NotFoundError(f"the credential of certificate {certificate_number} is not kept here")
    return JSONResponse(
        credential,
        media_type=VC_MEDIA_TYPE,
        headers=_download(f"{certificate_number}.credential.json"),
    )


def _status(ledger: Ledger, certificate_number: str) -> PlainTextResponse:
    note = ledger.certificate_package(certificate_number)["status"]
    return PlainTextResponse(note, headers=NO_CACHE)


@router.get(
    "/certificates/{certificate_number}/status", response_class=PlainTextResponse, responses=TEXT
)
def get_status(certificate_number: CertificateNumber, ledger: ReadLedgerDep) -> PlainTextResponse:
    """The revocation status as a note signed by the log key, tied to a checkpoint."""
    return _status(ledger, certificate_number)


@router.get("/verify/{certificate_number}/status", response_class=PlainTextResponse, responses=TEXT)
def get_status_at_verify_url(
    certificate_number: CertificateNumber, ledger: ReadLedgerDep
) -> PlainTextResponse:
    """The same status note, at the credential's ``credentialStatus.id``."""
    return _status(ledger, certificate_number)


@router.get(
    "/certificates/{certificate_number}/receipt", response_class=PlainTextResponse, responses=TEXT
)
def get_receipt(certificate_number: CertificateNumber, ledger: ReadLedgerDep) -> PlainTextResponse:
    """A C2SP tlog-proof@v1 receipt of the issuing event (the event in its extra line)."""
    leaf = ledger.certificate(certificate_number)["issuance_leaf"]
    return PlainTextResponse(
        ledger.log.receipt(leaf), headers=_download(f"{certificate_number}.tlog-proof")
    )


@router.get("/volunteers/{number}/badges")
def get_badge(
    number: str,
    request: Request,
    ledger: LedgerDep,
    scheme_id: Annotated[str | None, Query(max_length=64)] = None,
    honour_id: Annotated[str | None, Query(max_length=128)] = None,
) -> JSONResponse:
    """A star level (``scheme_id``) or an honour (``honour_id``) as a 1EdTech Open Badges 3.0
    ``OpenBadgeCredential``, signed by the body that awarded it."""
    if (scheme_id is None) == (honour_id is None):
        raise Problem(
            400,
            "invalid-request",
            "Say which badge",
            "give exactly one of the query parameters scheme_id or honour_id",
        )
    badge = ledger.badge(
        number,
        scheme_id=scheme_id,
        honour_id=honour_id,
        public_base_url=public_base(request),
        allow_local_links=local_links_allowed(request),
    )
    return JSONResponse(badge, media_type=VC_MEDIA_TYPE, headers=NO_CACHE)


# --- verifying ----------------------------------------------------------------------------


@router.post("/verify")
def verify(
    ledger: LedgerDep,
    document: Annotated[
        dict[str, Any],
        Body(
            description="a certificate package (as from /certificates/{n}/package), a "
            'credential (a certificate or a badge), or {"certificate_number": "..."}',
        ),
    ],
) -> dict[str, Any]:
    """The verdict on a certificate, with its evidence, by this ledger's own log key.

    The answer is ``{valid, reason, details}`` (and ``evidence``, the package checked, when the
    ledger supplied it); ``reason`` says in one line why a document is valid or not.
    """
    return verify_here(ledger, document)


# --- the page for people -------------------------------------------------------------------


def _view(ledger: Ledger, certificate_number: str, request: Request) -> CertificateView:
    found = ledger.certificate(certificate_number)
    package = ledger.certificate_package(certificate_number)
    verdict = check_package(package, ledger.log.verifiers())
    erased = found["credential"] is None and found["personal_data_erased"]
    if erased:
        verdict = erased_credential_verdict(found)
    data = found["data"]
    # the name, if any, is taken from the credential (kept beside the log, not in it)
    subject = (found["credential"] or {}).get("credentialSubject", {})
    state: Literal["valid", "revoked", "invalid"] = (
        "valid" if verdict.valid else "revoked" if found["revoked"] else "invalid"
    )

    def org_name(org: str) -> str:
        try:
            return ledger.organisation_name(org)  # in memory: this page is hot
        except NotFoundError:
            return org

    page_url = str(request.url)
    qr = segno.make(page_url, error="m").svg_inline(
        scale=4, border=2, omitsize=True, title="QR code: " + page_url
    )
    links = _links(certificate_number)
    links.pop("page")
    return CertificateView(
        certificate_number=certificate_number,
        state=state,
        reason=verdict.reason,
        volunteer_number=data["number"],
        masked_name=subject.get("maskedName"),
        personal_data_erased=found["personal_data_erased"],
        period_from=data["period_from"],
        period_to=data["period_to"],
        approved_minutes=data["approved_minutes"],
        record_count=data.get("record_count", 0),
        minutes_by_field=sorted(data["minutes_by_field"].items()),
        minutes_by_org=[
            (org, org_name(org), minutes) for org, minutes in sorted(data["minutes_by_org"].items())
        ],
        issued_at=found["issued_at"],
        issuer_name=found["issuer_name"],
        issuer_org=found["issuer"],
        issuer_contact=data["issuer_contact"],
        revoked_at=found["revoked_at"],
        revoked_reason=found["revoked_reason"],
        checkpoint=verdict.details.get("status_checkpoint"),
        language=data.get("language", "zh"),
        log_origin=ledger.log.origin,
        page_url=page_url,
        qr_svg=qr,
        links=links,
    )


@router.get("/verify/{certificate_number}", response_class=HTMLResponse, responses=HTML)
def verification_page(
    certificate_number: CertificateNumber,
    request: Request,
    ledger: ReadLedgerDep,
    lang: Annotated[str | None, Query(max_length=8, description="zh or en")] = None,
) -> HTMLResponse:
    """The page a person opens from the QR code: valid or not, what it certifies, who issued it,
    and, if revoked, when and why (Chinese and English; ``?lang=en`` puts English first)."""
    asked = lang if lang in ("zh", "en") else None
    try:
        view = _view(ledger, certificate_number, request)
    except NotFoundError:
        page = render_not_found(certificate_number, english_first=asked == "en")
        return HTMLResponse(page, status_code=404, headers=NO_CACHE)
    page = render_certificate_page(view, english_first=(asked or view.language) == "en")
    return HTMLResponse(page, headers=NO_CACHE)
