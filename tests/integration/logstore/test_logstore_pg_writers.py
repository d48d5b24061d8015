"""Several writers on one PostgreSQL schema at once (separate processes, and separate Ledger
objects in threads): leaf indexes stay contiguous with no duplicates, the root is the root of the
stored leaves built from scratch, and the checkpoints they sign all describe one log."""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from eventsourcing.persistence import InternalError
from logstore_support import create_city, from_scratch, leaf_states, register_many

from ledger import DirectoryKeystore, Ledger, MemoryKeystore
from ledger.errors import SplitViewError
from ledger.log import open_checkpoint, parse_verifier_key, verify_consistency

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WRITERS = 4


def prepare(url: str, keys: Path) -> tuple[str, int]:
    """A city with one organisation per writer; returns a shared volunteer and the log size."""
    with Ledger(url, keystore=DirectoryKeystore(keys)) as ledger:
        number = create_city(ledger)["number"]
        for index in range(WRITERS):
            org = f"org-w{index}"
            ledger.register_organisation(
                "city",
                org_id=org,
                name=org,
                kind="organisation",
                region="1404",
                idempotency_key=org,
            )
            ledger.new_key("city", for_org=org, idempotency_key=f"{org}-key")
            asked = ledger.request_agreement(
                org, number=number, rights=["membership"], idempotency_key=f"{org}-ask"
            )
            ledger.grant_agreement(
                "org-a",
                number=number,
                agreement_id=asked.value.agreement_id,
                idempotency_key=f"{org}-grant",
            )
        return number, ledger.log_size()


def sign(ledger: Ledger) -> None:
    """Sign a checkpoint, retrying the known false "log shrank" alarm that a concurrent signer
    can cause (see test_logstore_checkpoints), once it is clear the log did not shrink."""
    for _ in range(5):
        try:
            ledger.log.sign_checkpoint()
            return
        except SplitViewError as error:
            if "shrank" not in error.message or ledger.log.size() < ledger.log.latest_size():
                raise
    raise AssertionError("could not sign a checkpoint in five attempts")


def write(ledger: Ledger, index: int, number: str, tag: str) -> list[int]:
    """One writer's share: single events, a 25-event command, a contended join, checkpoints."""
    org = f"org-w{index}"
    leaves = []
    for n in range(6):
        result = ledger.register_volunteer(org, idempotency_key=f"{tag}-{org}-{n}")
        leaves.append(result.events[0].leaf_index)
        if n % 3 == 2:
            sign(ledger)
    leaves.extend(r.leaf_index for r in register_many(ledger, 25, f"{tag}-{org}-many", org).events)
    joined = ledger.join(org, number=number, idempotency_key=f"{tag}-{org}-join")
    leaves.append(joined.events[0].leaf_index)
    sign(ledger)
    return leaves


def open_despite_startup_race(url: str, keys: Path) -> Ledger:
    """Open a ledger, retrying the known startup race (see the last test of this module) so
    that the tests of the log itself are not about it."""
    for attempt in range(20):
        try:
            return Ledger(url, keystore=DirectoryKeystore(keys))
        except InternalError as error:
            if "tuple concurrently updated" not in str(error) or attempt == 19:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def process_writer(url: str, keys: str, index: int, number: str) -> list[int]:
    with open_despite_startup_race(url, Path(keys)) as ledger:
        return write(ledger, index, number, "p")


def assert_one_log(url: str, keys: Path, start: int, leaves: list[int]) -> None:
    with Ledger(url, keystore=DirectoryKeystore(keys)) as ledger:
        size = ledger.log.size()
        assert sorted(leaves) == list(range(start, size)), "leaf indexes skipped or doubled"
        stored = ledger._recorder.select_leaves(0, 10**6)
        assert [leaf.leaf_index for leaf in stored] == list(range(size))
        assert len({leaf.id for leaf in stored}) == size
        notifications = ledger._recorder.select_notifications(1, 10**6)
        assert len(notifications) == size
        assert all(n.leaf_index is not None for n in notifications)
        builder, nodes = from_scratch(leaf_states(ledger))
        assert builder.root() == ledger.log.root()
        coordinates = sorted(nodes)
        assert ledger._recorder.read_nodes(coordinates) == [nodes[c] for c in coordinates]
        verifier = parse_verifier_key(ledger.log.verifier_keys()[0])
        kept = [open_checkpoint(n, verifier) for n in ledger.log.checkpoints()]
        assert len(kept) >= WRITERS
        for checkpoint in kept:
            assert (
                checkpoint.root_hash
                == from_scratch(leaf_states(ledger)[: checkpoint.size])[0].root()
            )
        for old, new in itertools.combinations(kept, 2):
            verify_consistency(
                old.size,
                new.size,
                old.root_hash,
                new.root_hash,
                ledger.log.consistency_proof(old.size, new.size),
            )


def test_writer_processes_keep_the_log_contiguous_and_its_root_whole(
    postgres_schema: str, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    number, start = prepare(postgres_schema, keys)
    context = multiprocessing.get_context("spawn")
    with context.Pool(WRITERS) as pool:
        results = pool.starmap(
            process_writer,
            [(postgres_schema, str(keys), index, number) for index in range(WRITERS)],
        )
    leaves = [leaf for batch in results for leaf in batch]
    assert len(leaves) == WRITERS * (6 + 25 + 1)
    assert_one_log(postgres_schema, keys, start, leaves)


def test_writer_threads_with_their_own_ledgers_keep_the_log_whole(
    postgres_schema: str, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    number, start = prepare(postgres_schema, keys)
    ledgers = [Ledger(postgres_schema, keystore=DirectoryKeystore(keys)) for _ in range(WRITERS)]
    barrier = threading.Barrier(WRITERS)
    for ledger in ledgers:
        ledger.refresh()

    def task(index: int) -> list[int]:
        barrier.wait(timeout=30)
        return write(ledgers[index], index, number, "t")

    try:
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            results = list(pool.map(task, range(WRITERS)))
    finally:
        for ledger in ledgers:
            ledger.close()
    leaves = [leaf for batch in results for leaf in batch]
    assert len(set(leaves)) == len(leaves) == WRITERS * (6 + 25 + 1)
    assert_one_log(postgres_schema, keys, start, leaves)


def test_writers_that_start_at_the_same_moment_all_open_the_ledger(postgres_schema: str) -> None:
    Ledger(postgres_schema, keystore=MemoryKeystore()).close()  # the tables exist already

    def start(barrier: threading.Barrier) -> str | None:
        barrier.wait(timeout=30)
        try:
            Ledger(postgres_schema, keystore=MemoryKeystore()).close()
        except InternalError as error:
            return str(error)
        return None

    failures = []
    for _ in range(10):
        barrier = threading.Barrier(WRITERS)
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            failures += [f for f in pool.map(start, [barrier] * WRITERS) if f is not None]
    assert failures == [], f"{len(failures)} of {10 * WRITERS} opens failed: {failures[0]}"
