"""The documents a generic verifier fetches: the ledger's JSON-LD context and the W3C Bitstring
Status List credentials named by certificates and badges. All public, none cached for long:
a status list is signed afresh on each request, from the log as it stands."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from ledger.credentials.jsonld_documents import (
    LEDGER_CONTEXT_FILE,
    LEDGER_CONTEXT_PATH,
    context_bytes,
)

from ..deps import LedgerDep
from .certificates import (
    NO_CACHE,
    VC_MEDIA_TYPE,
    CertificateNumber,
    local_links_allowed,
    public_base,
)

router = APIRouter(tags=["certificates"])

VolunteerNumber = Annotated[str, Path(pattern=r"^V[A-Z2-7]{13}$")]
VC_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {VC_MEDIA_TYPE: {}}}}


@router.get(LEDGER_CONTEXT_PATH, responses={200: {"content": {"application/ld+json": {}}}})
def get_ledger_context() -> Response:
    """The ledger's JSON-LD context (version 1), the same bytes the package ships: every
    term of a certificate of service is defined here. Immutable: a new version gets a new URL."""
    return Response(
        context_bytes(LEDGER_CONTEXT_FILE),
        media_type="application/ld+json",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


def _vc(document: dict[str, Any]) -> JSONResponse:
    return JSONResponse(document, media_type=VC_MEDIA_TYPE, headers=NO_CACHE)


@router.get("/status-lists/certificates/{certificate_number}", responses=VC_RESPONSE)
def get_certificate_status_list(
    certificate_number: CertificateNumber, request: Request, ledger: LedgerDep
) -> JSONResponse:
    """The certificate's ``BitstringStatusListCredential``, signed by its issuer: bit 0 is 1
    once the certificate is revoked."""
    return _vc(
        ledger.certificate_status_list(
            certificate_number,
            public_base_url=public_base(request),
            allow_local_links=local_links_allowed(request),
        )
    )


@router.get("/status-lists/badges/{number}/stars/{scheme_id}/{level}", responses=VC_RESPONSE)
def get_star_status_list(
    number: VolunteerNumber,
    scheme_id: Annotated[str, Path(max_length=64)],
    level: Annotated[int, Path(ge=1, le=10)],
    request: Request,
    ledger: LedgerDep,
) -> JSONResponse:
    """A star badge's status list: bit 0 is 1 once the volunteer holds fewer stars."""
    return _vc(
        ledger.badge_status_list(
            number,
            scheme_id=scheme_id,
            level=level,
            public_base_url=public_base(request),
            allow_local_links=local_links_allowed(request),
        )
    )


@router.get("/status-lists/badges/{number}/honours/{honour_id}", responses=VC_RESPONSE)
def get_honour_status_list(
    number: VolunteerNumber,
    honour_id: Annotated[str, Path(max_length=128)],
    request: Request,
    ledger: LedgerDep,
) -> JSONResponse:
    """An honour badge's status list: bit 0 is 1 once the honour is revoked."""
    return _vc(
        ledger.badge_status_list(
            number,
            honour_id=honour_id,
            public_base_url=public_base(request),
            allow_local_links=local_links_allowed(request),
        )
    )
