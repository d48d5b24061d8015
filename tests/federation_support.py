"""Three city ledgers for the federation tests (imported by name; not a test module).

Each city is a real ledger with its own origin, root key, log key and witnesses; the witnesses
are the log library's own :class:`~ledger.log.witness.Witness`, run in process, so a checkpoint
carries real cosignatures that a peer's pinned policy checks.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger import Ledger, MemoryKeystore, SigningKey
from ledger.log.checkpoint import Checkpoint
from ledger.log.note import parse_note
from ledger.log.witness import Witness

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
_keys = itertools.count()


@dataclass
class City:
    name: str
    ledger: Ledger
    witnesses: list[Witness]
    anchors: dict[str, Any]
    numbers: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return str(self.anchors["origin"])

    def key(self, what: str) -> str:
        return f"{self.name}-{what}-{next(_keys)}"

    def trust(self, quorum: int = 2) -> dict[str, Any]:
        """The trust file this city publishes, with its witness policy."""
        return {
            **self.anchors,
            "witnesses": [w.key_string for w in self.witnesses],
            "quorum": quorum,
        }

    def volunteer(self, org: str = "org-a") -> str:
        return str(
            self.ledger.register_volunteer(org, idempotency_key=self.key("vol")).value.number
        )

    def approved(self, number: str, minutes: int, org: str = "org-a", day: int = 0) -> str:
        """An activity of ``org`` with an approved record of ``minutes`` for ``number``."""
        ledger = self.ledger
        starts = START + timedelta(days=day)
        activity = ledger.publish_activity(
            org,
            title="Service desk",
            field="community-service",
            place="Community centre",
            starts_at=starts,
            ends_at=starts + timedelta(minutes=max(240, minutes)),
            leader="desk-lead",
            content="helping residents",
            idempotency_key=self.key("activity"),
        ).value.activity_id
        record = ledger.record_hours(
            org,
            activity_id=activity,
            number=number,
            minutes=minutes,
            occurred_at=starts + timedelta(days=1),
            idempotency_key=self.key("record"),
        ).value.record_id
        ledger.approve_record(org, record_id=record, idempotency_key=self.key("approve"))
        return str(record)

    def witnessed(self, note: str, by: int | None = None) -> str:
        """``note`` with the cosignatures of the first ``by`` witnesses (default all) kept."""
        text = parse_note(note)[0]
        size = Checkpoint.parse(text).size
        chosen = self.witnesses if by is None else self.witnesses[:by]
        now = int(time.time())
        lines = "\n".join(w.cosign_text(text, now).rstrip("\n") for w in chosen)
        return self.ledger.log.add_cosignature(size, lines, [w.verifier for w in chosen])

    def package(self, transfer_id: str, witnesses: int | None = None) -> dict[str, Any]:
        """The transfer package, its checkpoint cosigned by ``witnesses`` of this city's."""
        package = self.ledger.transfer_package(transfer_id)
        package["checkpoint"] = self.witnessed(package["checkpoint"], witnesses)
        return package


def make_city(url: str, name: str, witnesses: int = 3) -> City:
    """A city: root ``<name>``, organisations org-a and org-b (each with a key), a field."""
    ledger = Ledger(url, keystore=MemoryKeystore())
    anchors = ledger.create(
        name=f"{name} ledger",
        root_org_id=name,
        root_name=f"{name} volunteer federation",
        region="140400",
        origin=f"{name}.example/ledger",
    )
    for org in ("org-a", "org-b"):
        ledger.register_organisation(
            name, org_id=org, name=org, kind="organisation", region="140402",
            idempotency_key=f"{org}-reg",
        )  # fmt: skip
        ledger.new_key(name, for_org=org, idempotency_key=f"{org}-key")
    ledger.add_service_field(name, field="community-service", idempotency_key="field")
    signers = [
        Witness(f"witness-{i}.{name}.example", SigningKey.generate()) for i in range(witnesses)
    ]
    return City(name, ledger, signers, anchors)


@contextmanager
def transferred_out(minutes: int) -> Iterator[tuple[City, City, dict[str, Any]]]:
    """Alpha and beta in memory, pinned to each other, and the package of alpha's volunteer,
    with ``minutes`` approved, transferred out to beta; both closed afterwards."""
    alpha, beta = make_city("memory://", "alpha"), make_city("memory://", "beta")
    try:
        pin_each_other([alpha, beta])
        number = alpha.volunteer()
        alpha.approved(number, minutes)
        out = alpha.ledger.transfer_out(
            "org-a", number=number, to_origin=beta.origin, idempotency_key="out"
        )
        yield alpha, beta, alpha.package(out.value.transfer_id)
    finally:
        alpha.ledger.close()
        beta.ledger.close()


def pin_each_other(cities: list[City]) -> None:
    for city in cities:
        for peer in cities:
            if peer is not city:
                city.ledger.add_peer(
                    city.name, trust=peer.trust(), idempotency_key=f"pin-{peer.name}"
                )


POSTGRES_URL = os.environ.get(
    "LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def require_postgres() -> None:
    """Skip with the reason when no PostgreSQL answers (fail in CI, which requires it)."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL.split("?")[0], connect_timeout=3):
            return
    except Exception as error:
        problem = f"PostgreSQL at {POSTGRES_URL} is not available: {error}"
    if os.environ.get("CI"):
        pytest.fail(f"CI requires PostgreSQL: {problem}")
    pytest.skip(problem)


@pytest.fixture(scope="module")
def cities() -> Iterator[list[City]]:
    """Alpha, beta and gamma, each on a database of its own created for the module and dropped
    afterwards; each pins the other two."""
    require_postgres()
    import psycopg

    base = POSTGRES_URL.split("?")[0]
    server = base.rsplit("/", 1)[0]
    stem = "fed_" + uuid.uuid4().hex[:10]
    names = [f"{stem}_{suffix}" for suffix in "abc"]
    with psycopg.connect(base, autocommit=True) as conn:
        for name in names:
            conn.execute(f"CREATE DATABASE {name}")
    made: list[City] = []
    try:
        for name, city in zip(names, ("alpha", "beta", "gamma"), strict=True):
            made.append(make_city(f"{server}/{name}", city))
        pin_each_other(made)
        yield made
    finally:
        for city in made:
            city.ledger.close()
        with psycopg.connect(base, autocommit=True) as conn:
            for name in names:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
