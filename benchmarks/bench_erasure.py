"""What an erasure costs: the re-wrapping of the erased volunteer's keyring shard.

Fills one shard of the personal-data keyring with ``--shard-size`` volunteers (2,200 is a
shard of a city of 566,000 volunteers over 256 shards), erases some of them one by one, and
prints the time per erasure against the time to store one volunteer's personal data in the
same run (the baseline), on a SQLite file and on PostgreSQL, with a file keyring.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_support import Stores, postgres_problem

from ledger import Ledger, MemoryKeystore
from ledger.privacy.keyring import FileKeyring, shard_of

POSTGRES_URL = os.environ.get(
    "LEDGER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
PERSON = {"name": "王小明", "id_number": "140402199001011234", "phone": "13812345678"}


def numbers_in_one_shard(count: int, shard: int = 7) -> list[str]:
    found: list[str] = []
    i = 0
    while len(found) < count:
        number = "V" + f"{i:013d}".translate(str.maketrans("0123456789", "ABCDEFGHIJ"))
        if shard_of(number) == shard:
            found.append(number)
        i += 1
    return found


def measure(
    url: str, keyring_path: Path, shard_size: int, erasures: int
) -> tuple[float, float, int]:
    with Ledger(url, keystore=MemoryKeystore(), keyring=FileKeyring(keyring_path)) as ledger:
        store = ledger.personal_data
        numbers = numbers_in_one_shard(shard_size)
        puts = []
        for number in numbers:
            start = time.perf_counter()
            store.put(number, PERSON)
            puts.append(time.perf_counter() - start)
        times = []
        rewrapped = 0
        for number in numbers[:erasures]:
            start = time.perf_counter()
            rewrapped = store.erase(number)
            times.append(time.perf_counter() - start)
        return statistics.median(puts), statistics.median(times), rewrapped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shard-size", type=int, default=2200)
    parser.add_argument("--erasures", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a shard of 200, 2 erasures")
    args = parser.parse_args()
    size, erasures = (200, 2) if args.quick else (args.shard_size, args.erasures)
    stores = Stores(POSTGRES_URL, "bench-erasure")
    kinds = ["sqlite"] + ([] if postgres_problem(POSTGRES_URL) else ["postgresql"])
    print(f"shard of {size} volunteers, {erasures} erasures, median times")
    try:
        for kind in kinds:
            store = stores.new(kind, "erasure")
            with tempfile.TemporaryDirectory() as folder:
                put, erase, rewrapped = measure(
                    store.url, Path(folder) / "keyring.json", size, erasures
                )
            print(
                f"{kind:10s} put {put * 1000:7.2f} ms   erase {erase * 1000:8.1f} ms "
                f"({rewrapped} keys re-wrapped)   erase/put {erase / put:7.0f}x"
            )
            stores.drop(store)
    finally:
        stores.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
