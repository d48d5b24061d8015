"""``POST /verify`` given a certificate package saved before the certificate was revoked answers
with the ledger's status of now, as docs/certificates.md promises (the page and ``POST /verify``
always fetch a fresh note). Before, it checked the package's own old note and said valid."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from test_certificates_town import Town, build_town

from ledger import Ledger
from ledger_api.app import create_app
from ledger_api.settings import Settings


@pytest.fixture
def served(
    open_ledger: Callable[..., Ledger], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Town, TestClient]]:
    monkeypatch.delenv("LEDGER_PUBLIC_URL", raising=False)
    town = build_town(open_ledger("memory://"))
    app = create_app(Settings(database_url="memory://", run_projections=False), ledger=town.ledger)
    with TestClient(app) as client:
        yield town, client


def test_a_package_saved_before_the_revocation_is_revoked_at_post_verify(
    served: tuple[Town, TestClient],
) -> None:
    town, client = served
    number = town.issue()
    saved = client.get(f"/certificates/{number}/package").json()
    town.revoke(number, "hours were double counted")
    by_number = client.post("/verify", json={"certificate_number": number}).json()
    assert by_number["valid"] is False  # the ledger knows
    answer = client.post("/verify", json=saved).json()
    assert answer["valid"] is False, answer["line"]
