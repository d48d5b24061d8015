"""A witness's ``POST /add-checkpoint`` answers 400 to a size of thousands of digits, in the
``old`` line or the checkpoint's size line. Past 4300 digits Python's ``int`` raises a plain
ValueError, which was not a malformed-note refusal: the endpoint answered 500, before any
signature was checked. Sizes are now compared by length first."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ledger.log import Checkpoint, NoteSigner, WitnessService, WitnessStore, sign_checkpoint
from ledger.signing import SigningKey
from ledger_api.witness import create_witness_app

ORIGIN = "log.example/review"
HUGE = "1" * 5000  # longer than sys.int_info.default_max_str_digits (4300)


@pytest.fixture
def setting(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    log = NoteSigner(ORIGIN, SigningKey.generate())
    store = WitnessStore(tmp_path / "witness.db")
    service = WitnessService("witness.example/w", SigningKey.generate(), [log.verifier], store)
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, hashlib.sha256(b"leaf").digest()), [log])
    yield TestClient(create_witness_app(service), raise_server_exceptions=False), note
    store.close()


def test_a_huge_old_size_is_refused_with_400(setting: tuple[TestClient, str]) -> None:
    client, note = setting
    response = client.post("/add-checkpoint", content=f"old {HUGE}\n\n{note}".encode())
    assert response.status_code == 400, (response.status_code, response.text[:200])


def test_a_huge_checkpoint_size_is_refused_with_400(
    setting: tuple[TestClient, str],
) -> None:
    client, note = setting
    text, _, signatures = note.partition("\n\n")
    origin, _size, root = text.rstrip("\n").split("\n")
    forged = f"{origin}\n{HUGE}\n{root}\n\n{signatures}"
    response = client.post("/add-checkpoint", content=f"old 0\n\n{forged}".encode())
    assert response.status_code == 400, (response.status_code, response.text[:200])
