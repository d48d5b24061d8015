"""Personal data stored before the keyring (data key unwrapped beside the ciphertext) is found by
the scan and moved under the keyring by ``ledger privacy migrate``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from privacy_support import build_named_city

from ledger import Ledger
from ledger.canonical import canonical_json
from ledger.cli import main
from ledger.personal_data import DATA, LEGACY_KEYS
from ledger.privacy.scan import scan

LEGACY_PERSON = {"name": "旧格式人", "phone": "13599998888"}


def store_the_old_way(ledger: Ledger, number: str) -> None:
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, canonical_json(LEGACY_PERSON), number.encode("ascii"))
    ledger._recorder.side_put(LEGACY_KEYS, number, key)
    ledger._recorder.side_put(DATA, number, nonce + sealed)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_legacy_rows_are_reported_then_sealed(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url_for(kind))
    city = build_named_city(ledger)
    legacy = str(ledger.register_volunteer("org-a", idempotency_key="legacy").value.number)
    store_the_old_way(ledger, legacy)
    named = city.certificates[city.numbers[0]][0]
    credential = ledger.certificate(named)["credential"]
    ledger._recorder.side_put("certificate", named, json.dumps(credential).encode())

    before = scan(ledger)
    assert not before.clean and [f.number for f in before.findings] == [legacy]
    assert ledger.personal_data.migrate_legacy() == 2
    assert ledger.personal_data.get(legacy) == LEGACY_PERSON
    assert ledger._recorder.side_items(LEGACY_KEYS) == []
    assert ledger._recorder.side_get("certificate", named) != json.dumps(credential).encode()
    assert ledger.certificate(named)["credential"] == credential
    assert scan(ledger).clean
    if kind == "sqlite":
        assert main(["privacy", "migrate", "--db", ledger.store.url]) == 0
