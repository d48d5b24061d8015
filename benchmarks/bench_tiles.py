"""What checking a hash tile before serving it costs, and that the cost does not grow with the log.

For each log size, a SQLite ledger is made with a real city (so it has an origin and a log key),
then grown to that size by writing Merkle leaves and nodes directly (``TreeBuilder`` +
``executemany``, as ``bench_log.py`` does; the extra leaves point at no event, which hash tiles
never read), and a checkpoint is signed over all of it. Then, interleaved in rounds over random
full level-0 tiles and the partial level-1 tile:

* *served*: ``ledger.log.hash_tile`` as shipped: the log size, the newest checkpoint (its
  signature checked once and remembered), the tile's hashes and the stored nodes beside it in one
  read, the root rebuilt and compared;
* *unchecked*: what was served before the check: the log size and the tile's hashes
  (``tile_bytes`` over ``recorder.read_nodes``), nothing verified;
* *kept*: ``ledger.log.verified_tile`` as the server serves tiles: checked as *served* the first
  time this process asks for the tile, then answered from the bytes that passed (the median is
  over reads after the first).

Printed: medians in microseconds per tile, and the number of nodes beside the tile read.

Run: ``.venv/bin/python benchmarks/bench_tiles.py`` (``--sizes 10000,100000,1000000``).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path[:0] = [str(TESTS)]

from ledger_testing import create_city  # noqa: E402

from ledger import Ledger, MemoryKeystore  # noqa: E402
from ledger.log import TreeBuilder, leaf_hash, tile_bytes, tile_witness_nodes  # noqa: E402


def grow(path: Path, ledger: Ledger, size: int) -> None:
    """Append synthetic leaves up to ``size``, written straight into the log tables."""
    start = ledger.log.size()
    builder = TreeBuilder.from_frontier(start, ledger._recorder.read_nodes)
    with sqlite3.connect(path) as conn:
        chunk = 100_000
        for first in range(start, size, chunk):
            last = min(size, first + chunk)
            rows: list[tuple[int, int, bytes]] = []
            for index in range(first, last):
                rows.extend(builder.append(leaf_hash(f"leaf {index}".encode())))
            conn.executemany("INSERT INTO ledger_log_nodes VALUES (?,?,?)", rows)
            conn.executemany(
                "INSERT INTO ledger_log_leaves VALUES (?,?)",
                [(i, 10**9 + i) for i in range(first, last)],
            )


def median_us(call: Callable[[], object], rounds: int) -> float:
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1e6


def measure(size: int, rounds: int, workdir: Path) -> None:
    path = workdir / f"tiles-{size}.db"
    with Ledger(f"sqlite:///{path}", keystore=MemoryKeystore()) as ledger:
        create_city(ledger)
        grow(path, ledger, size)
        ledger.log.sign_checkpoint()
        log, read = ledger.log, ledger._recorder.read_nodes
        full = size // 256
        level1 = size // 65536 % 256 or None
        rng = random.Random(size)
        picks = [rng.randrange(full) for _ in range(rounds)]

        def served(index: int, level: int = 0, width: int = 256) -> bytes:
            return log.hash_tile(level, index, width)

        def unchecked(index: int, level: int = 0, width: int = 256) -> bytes:
            log.size()
            return tile_bytes(level, index, width, read)

        def kept(index: int, level: int = 0, width: int = 256) -> bytes:
            return log.verified_tile(level, index, width).data

        for index in picks[:20]:  # warm the page cache and the remembered checkpoint
            assert served(index) == unchecked(index)
        for index in picks:  # the first read of each: checked, then kept
            assert kept(index) == served(index)
        results: dict[str, list[float]] = {"served": [], "unchecked": [], "kept": []}
        for index in picks:
            results["served"].append(median_us(lambda i=index: served(i), 1))
            results["unchecked"].append(median_us(lambda i=index: unchecked(i), 1))
            results["kept"].append(median_us(lambda i=index: kept(i), 1))
        beside = len(tile_witness_nodes(0, picks[0], 256, size))
        line = (
            f"{size:>10,}  level 0 full  served {statistics.median(results['served']):8.0f} us"
            f"  unchecked {statistics.median(results['unchecked']):6.0f} us"
            f"  kept {statistics.median(results['kept']):5.1f} us  nodes beside {beside:3d}"
        )
        print(line, flush=True)
        if level1:
            served_us = median_us(lambda: served(0, 1, level1), rounds)
            unchecked_us = median_us(lambda: unchecked(0, 1, level1), rounds)
            kept(0, 1, level1)
            kept_us = median_us(lambda: kept(0, 1, level1), rounds)
            beside = len(tile_witness_nodes(1, 0, level1, size))
            print(
                f"{size:>10,}  level 1 .p/{level1:<3d} served {served_us:8.0f} us"
                f"  unchecked {unchecked_us:6.0f} us  kept {kept_us:5.1f} us"
                f"  nodes beside {beside:3d}",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-tiles-") as temporary:
        for size in (int(s) for s in args.sizes.split(",")):
            measure(size, args.rounds, Path(temporary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
