"""The demo server's credentials as a stranger meets them over real HTTP: every link in them
answers, and Digital Bazaar's verifiers, given the status lists the server serves, accept the
valid certificate and refuse the revoked one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import LEDGER_CLI, free_port, start_process
from interop_verifiers import run_verifiers


def links_of(credential: dict[str, Any]) -> list[str]:
    statuses = credential["credentialStatus"]
    return [
        credential["@context"][1],
        credential["evidence"][0]["verifyUrl"],
        *(s["id"].split("#")[0] for s in statuses),
        statuses[0]["statusListCredential"],
    ]


@pytest.mark.slow
def test_demo_certificates_link_to_the_server_and_verify_with_generic_tools(
    tmp_path: Path,
) -> None:
    port = free_port()
    db_url = f"sqlite:///{tmp_path / 'demo.db'}"
    command = [*LEDGER_CLI, "serve", "--db", db_url, "--port", str(port), "--demo"]
    server = start_process([*command, "--volunteers", "12"], tmp_path, {}, port, timeout=120)
    try:
        valid = re.search(r"a certificate's page: +\S+/verify/(\S+)", server.log())
        revoked = re.search(r"a revoked one's page: +\S+/verify/(\S+)", server.log())
        assert valid and revoked, server.log()
        credentials: dict[str, dict[str, Any]] = {}
        documents: dict[str, dict[str, Any]] = {}
        with httpx.Client(timeout=30) as client:
            for name, match in (("valid", valid), ("revoked", revoked)):
                url = f"{server.base_url}/certificates/{match.group(1)}/credential"
                credential = client.get(url).json()
                credentials[name] = credential
                for link in links_of(credential):
                    assert link.startswith(server.base_url + "/"), link
                    response = client.get(link)
                    assert response.status_code == 200, link
                list_url = credential["credentialStatus"][0]["statusListCredential"]
                documents[list_url] = client.get(list_url).json()
        results = run_verifiers(credentials, documents, tmp_path)
        assert results["valid"]["verified"] is True, results
        assert results["revoked"]["verified"] is False and results["revoked"]["revoked"] is True
    finally:
        server.stop()
