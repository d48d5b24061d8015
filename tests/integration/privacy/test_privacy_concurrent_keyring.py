"""Two ledgers on one SQLite file sharing one keyring file: registrations in a shard while its
epoch is rotated by erasures never wrap a data key under an epoch about to be destroyed."""

from __future__ import annotations

import threading
from pathlib import Path

from ledger import Ledger, MemoryKeystore
from ledger.privacy.keyring import FileKeyring, shard_of


def shard_mates(count: int, shard: int = 3) -> list[str]:
    found: list[str] = []
    i = 0
    while len(found) < count:
        number = "V" + f"{i:013d}".translate(str.maketrans("0123456789", "KLMNOPQRST"))
        if shard_of(number) == shard:
            found.append(number)
        i += 1
    return found


def test_puts_and_erasures_in_one_shard_from_two_ledgers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    keyring = tmp_path / "keyring.json"
    numbers = shard_mates(60)
    early, late = numbers[:30], numbers[30:]
    to_erase = early[::3]
    writer = Ledger(url, keystore=MemoryKeystore(), keyring=FileKeyring(keyring))
    eraser = Ledger(url, keystore=MemoryKeystore(), keyring=FileKeyring(keyring))
    try:
        for number in early:
            writer.personal_data.put(number, {"name": "名" + number})
        errors: list[BaseException] = []

        def run(work: list[str], action: str) -> None:
            try:
                for number in work:
                    if action == "put":
                        writer.personal_data.put(number, {"name": "名" + number})
                    else:
                        eraser.personal_data.erase(number)
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [
            threading.Thread(target=run, args=(late, "put")),
            threading.Thread(target=run, args=(to_erase, "erase")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        epochs = FileKeyring(keyring).epochs(3)
        assert list(epochs) == [1 + len(to_erase)]
        for number in numbers:
            if number in to_erase:
                assert not eraser.personal_data.has(number)
            else:
                assert eraser.personal_data.get(number) == {"name": "名" + number}
    finally:
        writer.close()
        eraser.close()
