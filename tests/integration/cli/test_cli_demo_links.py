"""`ledger demo` signs certificates whose links name where the demo will be served."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.cli import main


def _links(url: str) -> list[str]:
    with Ledger(url) as ledger:
        numbers = [
            e.body["data"]["certificate_number"]
            for e in ledger.events_of_types("CertificateIssued")
        ]
        assert numbers, "the demo issues certificates"
        credential = ledger.certificate_package(numbers[0])["credential"]
    text = json.dumps(credential)
    return [part.split('"')[0] for part in text.split('"http')[1:]]


@pytest.mark.slow
def test_demo_links_name_the_public_url_given(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    given = "http://127.0.0.1:8123"
    assert main(["demo", "--db", url, "--volunteers", "20", "--quiet", "--public-url", given]) == 0
    links = _links(url)
    status = [link for link in links if "/status-lists/" in link or "/verify/" in link]
    assert status and all(("http" + link).startswith(given + "/") for link in status), links
    assert not any("changzhi.example" in link for link in links), links
