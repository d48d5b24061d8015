"""A ledger writer in a process of its own, for the concurrency and crash tests.

``python tests/writer_process.py URL KEYSTORE_DIR ORG PREFIX FIRST COUNT [SKEW_MS]`` registers
volunteers for ``ORG`` with idempotency keys ``PREFIX-FIRST`` .. ``PREFIX-(FIRST+COUNT-1)``
(``COUNT`` 0: for ever) and prints one JSON line per acknowledged command, flushed before the
next command starts, so a parent that kills this process knows exactly what was acknowledged.
A ledger error is printed as an ``error`` line and the same key is retried (an idempotent retry);
any other exception ends the process with a traceback and a non-zero status. ``SKEW_MS`` sets
this writer's clock that many milliseconds off the real one, as an honest host's clock may be.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ledger import DirectoryKeystore, Ledger, LedgerError


def main(argv: list[str]) -> int:
    url, keys, org, prefix, first, count = argv[:6]
    skew = timedelta(milliseconds=int(argv[6]) if len(argv) > 6 else 0)

    def clock() -> datetime:
        return datetime.now(UTC) + skew

    numbers = itertools.count(int(first))
    if int(count):
        numbers = iter(range(int(first), int(first) + int(count)))
    with Ledger(url, keystore=DirectoryKeystore(Path(keys)), clock=clock) as ledger:
        for number in numbers:
            key = f"{prefix}-{number}"
            while True:
                try:
                    ref = ledger.register_volunteer(org, idempotency_key=key).events[0]
                    break
                except LedgerError as error:
                    print(json.dumps({"key": key, "error": error.code}), flush=True)
                    time.sleep(0.05)
            line = {"key": key, "aggregate_id": ref.aggregate_id, "version": ref.version}
            line["leaf_index"] = ref.leaf_index
            print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
