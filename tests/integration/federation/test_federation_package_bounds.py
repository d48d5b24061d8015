"""A transfer package's summary is the sender's word until its digest is checked: a key-evidence
version far beyond the events given is refused (422), without building anything of its size.
Before, a version past ``sys.maxsize`` was an ``OverflowError`` answered 500, and one of
10**9 would have built a list of several gigabytes."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient
from federation_support import transferred_out

from ledger.apikeys import create_api_key
from ledger.federation import PackageRefusedError
from ledger_api.app import create_app
from ledger_api.settings import Settings


@pytest.mark.parametrize("version", [10**20, 10**9])
def test_an_absurd_key_evidence_version_is_a_refusal_not_a_500(
    version: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEDGER_PUBLIC_URL", raising=False)
    with transferred_out(60) as (_, beta, original):
        package = copy.deepcopy(original)
        org = next(iter(package["summary"]["key_evidence"]))
        package["summary"]["key_evidence"][org] = version

        newcomer = beta.volunteer()
        key = create_api_key(beta.ledger, "org-a", ["register", "read"])
        app = create_app(
            Settings(database_url="memory://", run_projections=False), ledger=beta.ledger
        )
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.post(
                "/federation/transfers-in",
                json={"number": newcomer, "package": package},
                headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "in-overflow"},
            )
        assert response.status_code == 422, (response.status_code, response.text)
        with pytest.raises(PackageRefusedError):
            beta.ledger.verify_transfer(package)
