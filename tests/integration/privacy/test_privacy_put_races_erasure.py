"""Storing personal data and erasing it race: the erasure mark is looked for under the keyring
lock the erasure holds while it writes the mark, so an erasure either comes first (the data is
refused) or waits for the store and then destroys it. Before, the mark was looked for before
the lock: an erasure completing in between was followed by the data stored again, under a data
key wrapped by the shard's new, live epoch."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from ledger_testing import create_city
from privacy_support import opened_with_held_keys

from ledger import Ledger
from ledger.personal_data import DATA, PersonalDataStore, key_namespace
from ledger.privacy.keyring import shard_of

Opener = Callable[..., Ledger]
PERSON = {"name": "钱秘密", "phone": "13877778888"}


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_an_erasure_racing_a_store_of_the_data_leaves_nothing_that_opens(
    kind: str,
    store_url_for: Callable[[str], str],
    open_ledger: Opener,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger = open_ledger(store_url_for(kind))
    create_city(ledger)
    number = str(ledger.register_volunteer("org-a", idempotency_key="p").value.number)
    store = ledger.personal_data
    checked, erased = threading.Event(), threading.Event()
    original = PersonalDataStore._refuse_if_erased

    def check_then_pause(self: PersonalDataStore, asked: str) -> None:
        original(self, asked)  # not erased yet
        if threading.current_thread().name == "storing":
            checked.set()  # the other request's erasure starts now ...
            erased.wait(0.5)  # ... and, were nothing held, would finish before the store

    monkeypatch.setattr(PersonalDataStore, "_refuse_if_erased", check_then_pause)

    def erase() -> None:
        checked.wait(5)
        ledger.erase_personal_data(number, org="org-a")
        erased.set()

    storing = threading.Thread(target=store.put, args=(number, PERSON), name="storing")
    erasing = threading.Thread(target=erase)
    storing.start()
    erasing.start()
    storing.join(10)
    erasing.join(10)
    assert erased.is_set() and ledger.volunteer(number)["personal_data_erased"]

    opened = opened_with_held_keys(
        store.keyring,
        ledger._recorder.side_get(key_namespace(shard_of(number)), number),
        ledger._recorder.side_get(DATA, number),
    )
    assert opened == [], f"stored again after the erasure, and it opens: {opened!r}"
