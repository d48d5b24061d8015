"""Does a command cost more for a long history? Record + approve, and a donation, by history size.

For each store (a SQLite file; PostgreSQL in a schema of its own, dropped afterwards) a fresh
ledger is built as ``bench_domain``'s ``city`` configuration: a root federation running a star
scheme and a time bank with a cap and a surplus account, a county, and a station that records
hours (the cap raised above the demo city's 1,500 hours when the heavy volunteer would reach it,
so that every approval measured still earns credit). Then, not measured:

* a ``light`` volunteer gets ``--light`` approved records (default 10) and a ``heavy`` one
  ``--heavy`` (default 2,000), 30 minutes each on distinct days, by rosters of up to 1,000
  entries; every approval also mints credit, so the heavy volunteer's time-bank account holds
  as many movements as records;
* a ``hot`` organisation account receives ``--movements`` donations (default 5,000) of 1 credit
  from the heavy volunteer, 500 transfers per command; a ``cold`` one receives none.

Measured, alternating the two sides of each pair so that noise falls on both alike:

* ``record + approve``: ``record_hours`` then ``approve_record`` (with the star and credit
  reconciliation it triggers) for the light volunteer against the heavy one; its median, and
  its mean over ``--mean-of`` commands of each, which includes the snapshots written on the
  way (a snapshot holds the whole state, so it is the one cost there that grows with history);
* ``balance read`` and ``record status read``: ``volunteer_balance`` and ``record_status`` (of
  the volunteer's first record, its recording and approval), the public reads of a volunteer,
  for the light volunteer against the heavy one; and the balance read by four threads at once,
  ``--rounds`` times each (the mean of all their reads);
* ``donation``: ``transfer_credit`` of 1 credit from the light volunteer into the cold account
  against the hot one;
* ``reversal``: ``reverse_transfer`` of a new 1-credit donation from the light volunteer, told
  the account that sent it, against one not told it (which tries the receiving account stored
  beside the transfer), and against one that searches every ``CreditReceived`` event of the
  ledger for it, the stored receiver deleted (the row names how many there are).

The figure is the median milliseconds per operation on each side and the ratio heavy / light
(hot / cold); the goal is at most 1.3. The same ledger object runs every command, as a server
process does: its verified-state cache (``ledger.state_cache``) holds each aggregate it touched
and reads only the events stored since. ``first command in a new process`` shows what a process
pays the first time it touches the heavy volunteer (its states read from their authenticated
snapshots, then the events stored after them), measured on a second ledger object opened on the
same store. ``snapshot written + read`` times the state codec alone (``ledger.state_codec``) on
each volunteer's service and credit account states, as a snapshot writes and reads them: a
state holds every record and movement, so this cost grows with the history.

Run: ``.venv/bin/python benchmarks/bench_history.py`` (``--quick`` for a smoke run, ``--help``).
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench_domain import CAP_MINUTES, ROOT, STATION, City
from bench_support import Stores, postgres_problem

from ledger import Ledger
from ledger.commands.timebank import TRANSFER_RECEIVERS, stage_transfer
from ledger.context import Context
from ledger.model.service import ServiceAccount, service_account_id
from ledger.model.timebank import Account, account_aggregate_id
from ledger.results import NoValue
from ledger.snapshots import MODEL_ONLY
from ledger.state_codec import dumps_state, loads_state
from ledger.storage.url import StoreURL

BANK = "city-bank"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
RECORD_MINUTES = 30
PER_DAY = 20
READERS = 4


class HistoryCity(City):
    """The ``city`` configuration, with a long activity that takes repeated records."""

    def __init__(self, store: StoreURL, cap_minutes: int = CAP_MINUTES) -> None:
        super().__init__(store, "city", cap_minutes)
        self.dated = 0
        self.now = datetime.now(UTC).replace(microsecond=0)
        start = self.now - timedelta(days=400)
        self.long_activity = str(
            self.ledger.publish_activity(
                STATION,
                title="Year-round station duty",
                field="community-governance",
                place="Station 1",
                starts_at=start,
                ends_at=self.now - timedelta(hours=1),
                leader="station-leader",
                content="community service",
                allow_repeats=True,
                idempotency_key=self.key(),
            ).value.activity_id
        )
        self.start = start

    def dates(self, count: int) -> list[str]:
        """``count`` service dates, ``PER_DAY`` to a day at most (whoever serves)."""
        days = []
        for _ in range(count):
            self.dated += 1
            day = self.start + timedelta(days=1 + self.dated // PER_DAY)
            days.append(day.date().isoformat())
        return days

    def give_history(self, number: str, records: int) -> None:  # type: ignore[override]
        for start in range(0, records, 1000):
            dates = self.dates(min(1000, records - start))
            ids = self.ledger.record_roster(
                STATION,
                activity_id=self.long_activity,
                entries=[
                    {"number": number, "minutes": RECORD_MINUTES, "service_date": d} for d in dates
                ],
                idempotency_key=self.key(),
            ).value.record_ids
            self.ledger.approve_records(
                STATION, approvals=[{"record_id": r} for r in ids], idempotency_key=self.key()
            )

    def give_movements(self, source: str, target: str, count: int) -> None:
        """``count`` donations of 1 credit, 500 per command (not measured), made by the
        volunteers' home organisation, the one that may move their credit."""
        signer = self.ledger.signer_for(STATION)
        for start in range(0, count, 500):
            batch = min(500, count - start)

            def decide(ctx: Context, batch: int = batch) -> dict[str, Any]:
                for _ in range(batch):
                    stage_transfer(ctx, BANK, source, target, 1, "donation", None)
                return {}

            self.ledger._writer.run(
                org=STATION,
                signer=signer,
                idempotency_key=self.key(),
                command="bench-donations",
                params={"batch": start},
                decide=decide,
                result_type=NoValue,
            )

    def record_and_approve(self, number: str, ledger: Ledger | None = None) -> None:
        ledger = ledger or self.ledger
        (served,) = self.dates(1)
        recorded = ledger.record_hours(
            STATION,
            activity_id=self.long_activity,
            number=number,
            minutes=RECORD_MINUTES,
            service_date=datetime.fromisoformat(served).date(),
            idempotency_key=self.key(),
        )
        ledger.approve_record(
            STATION, record_id=recorded.value.record_id, idempotency_key=self.key()
        )

    def donate(self, source: str, target: str) -> str:
        """A donation of 1 credit; its transfer id."""
        moved = self.ledger.transfer_credit(
            STATION,
            bank_id=BANK,
            from_account=source,
            to_account=target,
            amount=1,
            kind="donation",
            idempotency_key=self.key(),
        )
        return str(moved.value.transfer_id)

    def snapshot_round_trip(self, number: str) -> Callable[[], object]:
        """Encoding and decoding the volunteer's service and credit account states."""
        ctx = self.ledger._writer.context("", "")
        try:
            states = [
                ctx.state(ServiceAccount, service_account_id(number)),
                ctx.state(Account, account_aggregate_id(f"{BANK}:vol:{number}")),
            ]
        finally:
            ctx.discard()

        def round_trip() -> None:
            for state in states:
                loads_state(dumps_state(state, modules=MODEL_ONLY), modules=MODEL_ONLY)

        return round_trip

    def reverse(self, transfer_id: str, account: str | None) -> None:
        self.ledger.reverse_transfer(
            ROOT,
            bank_id=BANK,
            transfer_id=transfer_id,
            account=account,
            idempotency_key=self.key(),
        )


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def paired(
    rounds: int, light: Callable[[], object], heavy: Callable[[], object]
) -> tuple[float, float]:
    """Median milliseconds of each, measured alternately (after one warm-up of each)."""
    light()
    heavy()
    a: list[float] = []
    b: list[float] = []
    for i in range(rounds):
        if i % 2:
            a.append(timed(light))
            b.append(timed(heavy))
        else:
            b.append(timed(heavy))
            a.append(timed(light))
    return statistics.median(a), statistics.median(b)


def concurrent(threads: int, each: int, read: Callable[[], object]) -> float:
    """Mean milliseconds of a read, ``threads`` threads each reading ``each`` times at once
    (after one warm-up read): the mean, since what a read costs when another thread has the
    state out (waiting for it, or rebuilding it) falls on a few of the reads."""
    read()
    spent: list[float] = []
    start = threading.Barrier(threads)

    def reader() -> None:
        start.wait()
        for _ in range(each):
            spent.append(timed(read))

    pool = [threading.Thread(target=reader) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return statistics.mean(spent)


def paired_means(
    count: int,
    light: Callable[[], object],
    heavy: Callable[[], object],
    snapshot_bytes: Callable[[], int],
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Mean milliseconds of each over ``count`` runs, alternating, long enough that the
    snapshots due along the way (see ``ledger.snapshots``) are paid in the figure; and the
    mean kilobytes of snapshots each run wrote (``snapshot_bytes`` counts them)."""
    spent = [0.0, 0.0]
    written = [0, 0]
    for _ in range(count):
        for side, action in enumerate((light, heavy)):
            before = snapshot_bytes()
            spent[side] += timed(action)
            written[side] += snapshot_bytes() - before
    return (spent[0] / count, spent[1] / count), (
        written[0] / count / 1024,
        written[1] / count / 1024,
    )


def paired_reversals(
    rounds: int, city: HistoryCity, source: str, target: str
) -> tuple[float, float, float]:
    """Median milliseconds of a reversal given the account that sent the transfer, of one
    not given it (the receiver stored beside the transfer is tried), and of one that searches
    the ledger's credit movements (that row deleted, as for a transfer signed outside the
    ledger); each reverses a new donation."""
    named: list[float] = []
    stored: list[float] = []
    searched: list[float] = []
    for i in range(rounds + 1):  # the first round warms up
        order = [(source, named, False), (None, stored, False), (None, searched, True)]
        for account, times, forget in order[i % 3 :] + order[: i % 3]:
            transfer_id = city.donate(source, target)  # not measured
            if forget:
                city.ledger._recorder.side_delete(TRANSFER_RECEIVERS, f"{BANK}/{transfer_id}")
            spent = timed(functools.partial(city.reverse, transfer_id, account))
            if i:
                times.append(spent)
    return statistics.median(named), statistics.median(stored), statistics.median(searched)


def cap_for(args: argparse.Namespace) -> int:
    """The demo city's cap, or more when the heavy volunteer would reach it: a volunteer at the
    cap earns no more credit, so its commands would touch no credit account and cost less."""
    commands = args.heavy + args.mean_of + 2 * args.rounds + 10
    return max(CAP_MINUTES, (commands * RECORD_MINUTES * 6) // 5)


def measure(kind: str, stores: Stores, args: argparse.Namespace) -> list[tuple[str, float, float]]:
    store = stores.new(kind, "history")
    city = HistoryCity(store, cap_for(args))
    try:
        started = time.perf_counter()
        light, heavy = city.volunteers(2)
        city.give_history(light, args.light)
        city.give_history(heavy, args.heavy)
        hot = f"{BANK}:org:{STATION}"
        cold = f"{BANK}:org:county"
        city.give_movements(f"{BANK}:vol:{heavy}", hot, args.movements)
        print(
            f"  {kind}: built {args.light} and {args.heavy} records, {args.movements} movements "
            f"in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        ledger = city.ledger
        reads: dict[str, Callable[[str], object]] = {
            "balance read": ledger.volunteer_balance,
            "record status read": lambda number: ledger.record_status(f"{number}-R1"),
        }
        read_rows = [  # first, while the volunteers hold --light and --heavy records
            (
                name,
                *paired(
                    args.rounds, functools.partial(read, light), functools.partial(read, heavy)
                ),
            )
            for name, read in reads.items()
        ]
        balance = reads["balance read"]
        read_rows.append(
            (
                f"balance read, {READERS} threads at once (mean)",
                *(
                    concurrent(READERS, args.rounds, functools.partial(balance, number))
                    for number in (light, heavy)
                ),
            )
        )
        rows = []
        first = Ledger(store, keystore=city.ledger.keystore)
        try:
            cold_ms = timed(lambda: city.record_and_approve(heavy, first))
        finally:
            first.close()
        rows.append(
            (
                "record + approve",
                *paired(
                    args.rounds,
                    lambda: city.record_and_approve(light),
                    lambda: city.record_and_approve(heavy),
                ),
            )
        )
        snapshots = city.ledger._writer.cache.snapshots
        assert snapshots is not None
        means, written = paired_means(
            args.mean_of,
            lambda: city.record_and_approve(light),
            lambda: city.record_and_approve(heavy),
            lambda: snapshots.bytes_saved,
        )
        rows.append((f"record + approve, mean of {args.mean_of} (with snapshots)", *means))
        rows.append(("  snapshot KB written per record + approve", *written))
        rows.extend(read_rows)
        light_account = f"{BANK}:vol:{light}"
        rows.append(
            (
                "donation",
                *paired(
                    args.rounds,
                    lambda: city.donate(light_account, cold),
                    lambda: city.donate(light_account, hot),
                ),
            )
        )
        rows.append(("first command in a new process (heavy)", rows[0][1], cold_ms))
        rows.append(
            (
                "snapshot written + read (codec only)",
                *paired(
                    args.rounds, city.snapshot_round_trip(light), city.snapshot_round_trip(heavy)
                ),
            )
        )
        movements = len(list(city.ledger.events_of_types("CreditReceived")))
        named, stored, searched = paired_reversals(args.rounds, city, light_account, cold)
        rows.append(("reversal: account named / not named", named, stored))
        rows.append((f"reversal: named / searched ({movements:,})", named, searched))
        return rows
    finally:
        city.close()
        stores.drop(store)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--light", type=int, default=10, help="records of the light volunteer")
    parser.add_argument("--heavy", type=int, default=2000, help="records of the heavy volunteer")
    parser.add_argument("--movements", type=int, default=5000, help="movements of the hot account")
    parser.add_argument("--rounds", type=int, default=30, help="measurements per side")
    parser.add_argument(
        "--mean-of",
        type=int,
        default=400,
        help="record + approve commands per side for the mean that includes snapshot writes",
    )
    parser.add_argument("--kinds", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--quick", action="store_true", help="200 records, 500 movements")
    parser.add_argument(
        "--gc-off",
        action="store_true",
        help="turn Python's cyclic garbage collector off for the run (its full collections, "
        "whose cost grows with the process's heap, otherwise land in some measurements)",
    )
    args = parser.parse_args(argv)
    if args.gc_off:
        gc.disable()
    if args.quick:
        args.heavy, args.movements, args.rounds, args.mean_of = 200, 500, 10, 100
    kinds = args.kinds.split(",")
    if "postgresql" in kinds:
        problem = postgres_problem(args.postgres_url)
        if problem:
            print(f"PostgreSQL skipped: {problem}", file=sys.stderr)
            kinds.remove("postgresql")
    stores = Stores(args.postgres_url if "postgresql" in kinds else None, "bench-history")
    results: dict[str, list[tuple[str, float, float]]] = {}
    try:
        for kind in kinds:
            results[kind] = measure(kind, stores, args)
    finally:
        stores.close()
    print()
    print(
        f"history: light {args.light} records, heavy {args.heavy}; "
        f"hot account {args.movements} movements, cold none; median of {args.rounds}"
    )
    print(f"{'store':<11}{'operation':<42}{'light/cold ms':>14}{'heavy/hot ms':>14}{'ratio':>8}")
    for kind, rows in results.items():
        for name, a, b in rows:
            ratio = f"{b / a:>8.2f}" if a else f"{'-':>8}"
            print(f"{kind:<11}{name:<42}{a:>14.1f}{b:>14.1f}{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
