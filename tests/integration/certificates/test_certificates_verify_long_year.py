"""A proof ``created`` whose year has thousands of digits is a clear "invalid", at ``POST /verify``
and from ``verify_document``. Before, the day check converted the whole year to an integer,
past CPython's limit of 4300 digits: a ValueError before any signature was checked, answered
500 over HTTP and raised by ``ledger verify``."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_certificates_town import Town, build_town

from ledger import Ledger
from ledger.certificates import verify_document
from ledger.credentials import verify_proof
from ledger.errors import LedgerError
from ledger_api.app import create_app
from ledger_api.settings import Settings

HUGE = "1" * 5000 + "-01-01T00:00:00Z"


@pytest.fixture
def served(
    open_ledger: Callable[..., Ledger], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Town, TestClient]]:
    monkeypatch.delenv("LEDGER_PUBLIC_URL", raising=False)
    town = build_town(open_ledger("memory://"))
    app = create_app(Settings(database_url="memory://", run_projections=False), ledger=town.ledger)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield town, client


def huge_created(town: Town) -> dict[str, Any]:
    credential = copy.deepcopy(town.ledger.certificate(town.issue())["credential"])
    credential["proof"]["created"] = HUGE
    return credential


@pytest.mark.parametrize("number", ["left out", "unknown"])
def test_post_verify_answers_a_verdict_not_a_500(
    served: tuple[Town, TestClient], number: str
) -> None:
    town, client = served
    credential = huge_created(town)
    if number == "left out":
        del credential["certificateNumber"]
    else:
        credential["certificateNumber"] = "C2025-AAAAAAAAAA"
    response = client.post("/verify", json=credential)
    assert response.status_code == 200, response.text
    assert response.json()["valid"] is False


def test_verify_document_and_verify_proof_refuse_it_as_invalid(
    served: tuple[Town, TestClient],
) -> None:
    town, _ = served
    credential = huge_created(town)
    with pytest.raises(LedgerError):
        verify_proof(credential)
    assert verify_document(json.dumps(credential), town.log_keys).valid is False
