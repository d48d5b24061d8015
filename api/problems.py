"""RFC 9457 problem details: every error the API returns, with a stable ``type`` per library
error, a title, a detail a person can act on, and the status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.errors import (
    AgreementMissingError,
    ConflictError,
    ConsentMissingError,
    InvalidInputError,
    KeyNotAuthorisedError,
    LedgerError,
    NotFoundError,
    PersonalDataErasedError,
    RuleViolationError,
    SignatureError,
    StorageError,
    StoreIntegrityError,
    TamperedEventError,
    VerificationError,
)

from . import integrity

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "/problems/"

STATUS_OF: list[tuple[type[LedgerError], int, str]] = [
    (TamperedEventError, 500, "Integrity failure"),
    (StoreIntegrityError, 500, "Integrity failure"),
    (InvalidInputError, 400, "Invalid input"),
    (PersonalDataErasedError, 410, "Gone"),
    (NotFoundError, 404, "Not found"),
    (KeyNotAuthorisedError, 403, "Not authorised"),
    (RuleViolationError, 422, "Refused by a rule"),
    (ConflictError, 409, "Conflict"),
    (SignatureError, 400, "Signature invalid"),
    (VerificationError, 422, "Verification failed"),
    (StorageError, 503, "Storage unavailable"),
]


class Problem(Exception):
    """An HTTP error raised by the API itself (authentication, scopes, limits)."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers = headers or {}


def problem_response(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": TYPE_BASE + code, "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


INTEGRITY_FAILURES = (TamperedEventError, StoreIntegrityError)


def _extensions(error: LedgerError) -> dict[str, Any]:
    """What a client needs to act on a refusal: which agreement or consent is missing."""
    if isinstance(error, AgreementMissingError):
        return {
            "missing_agreement": error.right,
            "home_organisation": error.home,
            "volunteer": error.number,
        }
    if isinstance(error, ConsentMissingError):
        return {"missing_consent": error.purpose, "volunteer": error.number}
    return {}


def for_ledger_error(error: LedgerError) -> JSONResponse:
    for cls, status, title in STATUS_OF:
        if isinstance(error, cls):
            response = problem_response(
                status, error.code, title, error.message, **_extensions(error)
            )
            retry_after = getattr(error, "retry_after", None)
            if retry_after is not None:
                response.headers["Retry-After"] = str(retry_after)
            return response
    return problem_response(400, error.code, "Refused", error.message)


def install(app: FastAPI) -> None:
    @app.exception_handler(LedgerError)
    async def ledger_error(request: Request, error: LedgerError) -> JSONResponse:
        if isinstance(error, INTEGRITY_FAILURES):
            integrity.report(request, error)
        return for_ledger_error(error)

    @app.exception_handler(Problem)
    async def api_problem(request: Request, error: Problem) -> JSONResponse:
        response = problem_response(error.status, error.code, error.title, error.detail)
        response.headers.update(error.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in error.errors()
        ]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:5])
        return problem_response(422, "invalid-request", "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error")
        return problem_response(error.status_code, code, str(error.detail), str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        return problem_response(
            500,
            "internal-error",
            "Internal error",
            "the server failed to handle this request; it has been logged",
        )


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": title,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, title in [
        (400, "Invalid input or signature"),
        (401, "No or unknown API key"),
        (403, "Not authorised"),
        (404, "Not found"),
        (409, "Conflict"),
        (410, "Personal data erased"),
        (413, "Request body too large"),
        (422, "Refused by a rule or invalid request"),
        (500, "Stored data failed verification (integrity failure)"),
        (503, "Storage unavailable; retry after Retry-After seconds"),
    ]
}
