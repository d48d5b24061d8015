"""An erasure in a shard whose previous erasure was cut short (its new epoch saved, the old one
not yet destroyed) rotates to a new epoch of its own: a data key already wrapped under the
pending epoch (a shard-mate registered since, or re-wrapped before the cut) must not outlive
it. Before, the erasure reused the pending epoch, and an earlier copy of the erased volunteer's
wrapped key (a backup, the WAL, a dead tuple) still opened with a key the server keeps."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ledger_testing import create_city
from privacy_support import opened_with_held_keys

from ledger import Ledger
from ledger.personal_data import DATA, key_namespace
from ledger.privacy.keyring import shard_of

Opener = Callable[..., Ledger]
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def same_shard_numbers(count: int) -> list[str]:
    found: list[str] = []
    i = 0
    while len(found) < count:
        digits = "".join(ALPHABET[(i >> (5 * k)) & 31] for k in range(13))
        number = "V" + digits
        if not found or shard_of(number) == shard_of(found[0]):
            found.append(number)
        i += 1
    return found


class Crash(Exception):
    pass


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_an_erasure_after_one_cut_short_leaves_no_copy_of_the_key_openable(
    kind: str,
    store_url_for: Callable[[str], str],
    open_ledger: Opener,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger = open_ledger(store_url_for(kind))
    create_city(ledger)
    first, second = same_shard_numbers(2)
    shard = shard_of(first)
    ledger.register_volunteer(
        "org-a", number=first, idempotency_key="first", personal={"name": "甲某某"}
    )

    # The first erasure is cut short after the new epoch was saved (a crash, or a storage
    # error, before the old epoch is destroyed).
    keyring = ledger.personal_data.keyring
    real_retire = keyring.retire_before

    def crash(*args: object) -> None:
        raise Crash("cut short")

    monkeypatch.setattr(keyring, "retire_before", crash)
    with pytest.raises(Crash):
        ledger.erase_personal_data(first)
    monkeypatch.setattr(keyring, "retire_before", real_retire)
    assert len(keyring.epochs(shard)) == 2

    # A shard-mate registered afterwards: its data key is wrapped under the pending epoch.
    secret = {"name": "乙秘密", "phone": "13899990000"}
    ledger.register_volunteer("org-a", number=second, idempotency_key="second", personal=secret)
    backup = {
        "key": ledger._recorder.side_get(key_namespace(shard), second),
        "data": ledger._recorder.side_get(DATA, second),
    }
    assert backup["key"] is not None and backup["data"] is not None

    ledger.erase_personal_data(second)
    assert ledger.volunteer(second)["personal_data_erased"]

    opened = opened_with_held_keys(keyring, backup["key"], backup["data"])
    assert opened == [], f"erased personal data opens again: {opened}"
