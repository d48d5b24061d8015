"""A year of a city on PostgreSQL: does a command cost the same at the end of the year as at the
start?

The seed city (Changzhi, see the project brief): 566,000 volunteers, 4,041 teams, 3,111 stations
and service posts, 22,000 activities a year of 30 to 60 volunteers each. ``--scale`` takes a
fraction of it (default 1/20: 28,300 volunteers, 358 teams and stations, 1,100 activities,
about 50,000 hour records); ``--scale 1`` is the whole city.

Set-up (not measured as commands): a fresh PostgreSQL schema (created for the run and dropped
after it), a ledger with the root federation running the national star scheme and a time bank
with a 1,500 h cap and a surplus account; 12 counties; the teams and stations, each with its own
key in a key directory every writer process reads; the volunteers, registered by their
organisation in one command per organisation. The year is the 365 days before now: every
command is dated (``occurred_at``) on its day of the year; the ledger stamps ``recorded_at``.

Then ``--writers`` processes (default 4) write the year, one tenth (36.5 days) at a time, each
for the organisations of its own counties, every command in date order:

* per activity: ``publish_activity`` two days before it starts, ``record_roster`` of 30 to 60 of
  the organisation's members the day after it ends (members chosen with a skew, so some
  volunteers serve far more than others), ``approve_records`` a day later (4% for fewer minutes,
  with a reason), and ``reject_record`` for 3% of them; each approval also mints time-bank
  credit and reconciles stars (derived events, signed by the root's automatic key);
* spread over the tenth: ``correct_record`` (1% of records), ``void_record`` by the county (0.2%),
  a ``transfer_credit`` donation, by their organisation, from a volunteer's credit to the
  organisation that recorded it (0.5%),
  ``issue_certificate`` (1% of volunteers a year), transfers to another organisation of the
  county (``request_transfer`` + ``accept_transfer``, 0.4% of volunteers a year) and new
  volunteers (``register_volunteer``, 2% a year).

After each tenth (outside the measured time) the schema's tables are analysed (``ANALYZE``),
as autovacuum does on a server that runs it: the test server here runs with ``autovacuum = off``,
and without statistics PostgreSQL plans the batched aggregate read (``JOIN unnest(ids)`` on the
events, leaves and nodes) as sequential scans of whole tables, so every command's cost grows with
the store (``--no-analyze`` shows it: 811 ms against 9 ms for one such read at 97,000 events).

Each command's wall-clock latency is measured in its writer. Printed: per tenth, the commands,
p50 and p99 latency (all commands; and p99 of rosters and approvals alone), the events stored so
far; the ratio p99 of the last tenth / p99 of the first (the goal: at most 1.3); events per
second over the year; bytes per event on disk (``pg_total_relation_size`` of every table of the
schema, indexes and TOAST included, over the events stored); then ``ledger audit`` of the whole
store in a process of its own, with its wall time and peak memory (the audit's main process's
own largest resident set, ``VmHWM``; its signature workers each hold far less). A latency plot
(SVG, written by hand) goes to ``--plot`` (by default the figure ``docs/performance.md`` shows;
with ``--quick``, a file in the temporary folder).

``--quick`` is a tiny city (a few seconds) for the test that runs this script.

Run: ``.venv/bin/python benchmarks/bench_city_year.py`` (``--scale``, ``--writers``, ``--quick``,
``--plot``, ``--no-analyze``, ``--profile``, ``--help``).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import math
import multiprocessing
import os
import pstats
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_support import Stores, postgres_problem

from ledger import DirectoryKeystore, Ledger, LedgerError
from ledger.commands.base import run_as, stop_running_as
from ledger.context import Context
from ledger.errors import ConcurrencyConflictError, StoreUnavailableError
from ledger.model.ids import new_volunteer_number, volunteer_aggregate_id
from ledger.results import NoValue

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL_ENV = "LEDGER_BENCH_POSTGRES_URL"
DEFAULT_PLOT = Path("docs/figures/city-year-latency.svg")
# A smoke run's tiny city never replaces the figure the docs show.
QUICK_PLOT = Path(tempfile.gettempdir()) / "city-year-quick-latency.svg"
ROOT, BANK = "city", "city-bank"
CITY = {"volunteers": 566_000, "teams": 4_041, "stations": 3_111, "activities": 22_000}
FIELDS = (
    "care-for-elderly-and-children",
    "community-governance",
    "culture-and-arts",
    "emergency-rescue",
    "legal-aid",
    "medical-and-health",
    "science-popularisation",
    "traffic-persuasion",
)
TENTHS = 10
YEAR = timedelta(days=365)
RETRIES = 5


@dataclass(frozen=True)
class Shape:
    volunteers: int
    teams: int
    stations: int
    activities: int
    counties: int
    roster: tuple[int, int]
    at_least: int = 0  # of each occasional command, per writer and tenth (``--quick``)

    @classmethod
    def of(cls, scale: float, quick: bool) -> Shape:
        if quick:
            return cls(
                volunteers=48,
                teams=2,
                stations=2,
                activities=10,
                counties=2,
                roster=(4, 8),
                at_least=1,
            )
        return cls(
            volunteers=max(100, round(CITY["volunteers"] * scale)),
            teams=max(2, round(CITY["teams"] * scale)),
            stations=max(2, round(CITY["stations"] * scale)),
            activities=max(TENTHS, round(CITY["activities"] * scale)),
            counties=12,
            roster=(30, 60),
        )


@dataclass
class Organisation:
    org_id: str
    county: str
    members: list[str] = field(default_factory=list)


# Dating commands


@contextlib.contextmanager
def dated(when: datetime) -> Iterator[None]:
    """Commands inside happen at ``when`` (the ledger stamps the time it records them)."""
    token = run_as(None, when)
    try:
        yield
    finally:
        stop_running_as(token)


# Set-up


def set_up(url: str, keys: Path, shape: Shape, start: datetime) -> list[Organisation]:
    """The ledger, the organisation tree with its keys, and the registered volunteers."""
    counties = [f"county{c:02d}" for c in range(shape.counties)]
    kinds = ["team"] * shape.teams + ["station"] * shape.stations
    orgs = [
        Organisation(f"{kind}{i:05d}", counties[i % len(counties)]) for i, kind in enumerate(kinds)
    ]
    with Ledger(url, keystore=DirectoryKeystore(keys)) as ledger, dated(start - timedelta(days=2)):
        ledger.create(
            name="City year",
            root_org_id=ROOT,
            root_name="City Volunteer Federation",
            region="140400",
            origin="city-year.example/log",
        )
        ledger.new_key(ROOT, for_org=ROOT, purpose="automatic-awards", idempotency_key="auto")
        ledger.publish_star_scheme(
            ROOT, scheme_id="national-stars", name="National stars", idempotency_key="stars"
        )
        ledger.open_time_bank(
            ROOT,
            bank_id=BANK,
            cap_minutes=1500 * 60,
            surplus_account=f"{BANK}:org:{ROOT}",
            idempotency_key="bank",
        )
        parents = [(ROOT, county, "organisation") for county in counties]
        parents += [(o.county, o.org_id, kinds[i]) for i, o in enumerate(orgs)]
        for parent, org_id, kind in parents:
            ledger.register_organisation(
                parent,
                org_id=org_id,
                name=org_id,
                kind=kind,
                region="140401",
                idempotency_key=f"org-{org_id}",
            )
            ledger.new_key(parent, for_org=org_id, idempotency_key=f"key-{org_id}")
        for i, org in enumerate(orgs):
            count = shape.volunteers // len(orgs) + (i < shape.volunteers % len(orgs))
            org.members = [new_volunteer_number() for _ in range(count)]
            for first in range(0, count, 500):
                chunk = org.members[first : first + 500]

                def decide(ctx: Context, chunk: list[str] = chunk) -> dict[str, Any]:
                    for number in chunk:
                        aggregate = volunteer_aggregate_id(number)
                        ctx.emit("VolunteerRegistered", aggregate, {"number": number})
                    return {}

                ledger._writer.run(
                    org=org.org_id,
                    signer=ledger.signer_for(org.org_id),
                    idempotency_key=f"volunteers-{org.org_id}-{first}",
                    command="city-year-volunteers",
                    params={"numbers": chunk},
                    decide=decide,
                    result_type=NoValue,
                    occurred_at=start - timedelta(days=1),
                )
    return orgs


# A writer process


@dataclass
class Approved:
    record_id: str
    number: str
    org: str
    credited: int


@dataclass
class Writer:
    """One writer process's share of the city and what it has written so far."""

    index: int
    ledger: Ledger
    orgs: list[Organisation]
    shape: Shape
    writers: int
    start: datetime
    seed: int
    approved: list[Approved] = field(default_factory=list)
    activities: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: list[tuple[str, float]] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    counter: int = 0

    def home_of(self, number: str) -> str | None:
        """The organisation the volunteer is a member of now (acts for their credit)."""
        return next((o.org_id for o in self.orgs if number in o.members), None)

    def key(self, kind: str) -> str:
        self.counter += 1
        return f"w{self.index}-{kind}-{self.counter}"

    def timed(self, kind: str, when: datetime, command: Callable[[str], Any]) -> Any:
        """Run one command (retrying a lost race with the same idempotency key) and keep its
        latency; a refusal by the rules is counted, not fatal."""
        key = self.key(kind)
        started = time.perf_counter()
        try:
            with dated(when):
                for attempt in range(RETRIES):
                    try:
                        return command(key)
                    except (ConcurrencyConflictError, StoreUnavailableError):
                        if attempt == RETRIES - 1:
                            raise
                        time.sleep(0.01 * (attempt + 1))
        except LedgerError as error:
            self.refused[f"{kind}: {error.code}"] += 1
            return None
        finally:
            self.samples.append((kind, (time.perf_counter() - started) * 1000))

    # planning a tenth

    def plan(self, tenth: int) -> list[tuple[datetime, str, Any]]:
        rng = random.Random(f"{self.seed}-{self.index}-{tenth}")
        begin = self.start + YEAR * tenth / TENTHS
        span = YEAR / TENTHS
        latest = datetime.now(UTC) - timedelta(minutes=5)
        share = self.shape.activities // (TENTHS * self.writers)
        extra = (self.shape.activities // TENTHS) % self.writers
        count = share + (self.index < extra)
        ops: list[tuple[datetime, str, Any]] = []
        for _ in range(count):
            org = rng.choice(self.orgs)
            day = begin + (span - timedelta(days=4)) * rng.random()
            starts = day.replace(hour=rng.randint(8, 15), minute=0, second=0, microsecond=0)
            hours = rng.randint(2, 4)
            activity = {"org": org, "starts": starts, "hours": hours, "ends": None}
            activity["ends"] = starts + timedelta(hours=hours)
            ops.append((max(begin, starts - timedelta(days=2)), "publish", activity))
            ops.append((activity["ends"] + timedelta(days=1), "roster", activity))
            ops.append((activity["ends"] + timedelta(days=2), "approve", activity))
        low, high = self.shape.roster
        records = count * (low + high) / 2
        people = sum(len(o.members) for o in self.orgs)
        singles = {
            "correct": records * 0.01,
            "void": records * 0.002,
            "donate": records * 0.005,
            "certificate": people * 0.01 / TENTHS,
            "transfer": people * 0.004 / TENTHS,
            "register": people * 0.02 / TENTHS,
        }
        for kind, expected in singles.items():
            whole = int(expected) + (rng.random() < expected - int(expected))
            whole = max(whole, self.shape.at_least)
            ops += [(begin + span * rng.random(), kind, None) for _ in range(whole)]
        ops.sort(key=lambda op: op[0])
        return [(min(when, latest), kind, payload) for when, kind, payload in ops]

    def run_tenth(self, tenth: int) -> None:
        rng = random.Random(f"{self.seed}-{self.index}-{tenth}-run")
        for when, kind, payload in self.plan(tenth):
            getattr(self, f"_{kind}")(when, payload, rng)

    # the commands

    def _publish(self, when: datetime, activity: dict[str, Any], rng: random.Random) -> None:
        org: Organisation = activity["org"]
        result = self.timed(
            "publish_activity",
            when,
            lambda key: self.ledger.publish_activity(
                org.org_id,
                title="Community service",
                field=rng.choice(FIELDS),
                place=f"{org.org_id} square",
                starts_at=activity["starts"],
                ends_at=activity["ends"],
                leader=f"{org.org_id}-leader",
                content="service",
                people_served=rng.randint(20, 400),
                idempotency_key=key,
            ),
        )
        activity["id"] = None if result is None else result.value.activity_id

    def _roster(self, when: datetime, activity: dict[str, Any], rng: random.Random) -> None:
        org: Organisation = activity["org"]
        if activity.get("id") is None or not org.members:
            return
        low, high = self.shape.roster
        size = min(len(org.members), rng.randint(low, high))
        chosen: dict[str, None] = {}
        while len(chosen) < size:  # a skew: the first members serve far more often
            chosen[org.members[int(len(org.members) * rng.random() ** 2)]] = None
        entries = [
            {"number": n, "minutes": rng.randint(60, activity["hours"] * 60)} for n in chosen
        ]
        result = self.timed(
            "record_roster",
            when,
            lambda key: self.ledger.record_roster(
                org.org_id, activity_id=activity["id"], entries=entries, idempotency_key=key
            ),
        )
        if result is not None:
            activity["records"] = list(zip(result.value.record_ids, entries, strict=True))

    def _approve(self, when: datetime, activity: dict[str, Any], rng: random.Random) -> None:
        org: Organisation = activity["org"]
        records = activity.get("records") or []
        if not records:
            return
        approvals, rejected, credited = [], [], {}
        for record_id, entry in records:
            luck = rng.random()
            if luck < 0.03:
                rejected.append(record_id)
                continue
            item: dict[str, Any] = {"record_id": record_id}
            credited[record_id] = entry["minutes"]
            if luck < 0.07 and entry["minutes"] > 60:
                item |= {"approved_minutes": entry["minutes"] - 30, "reason": "left early"}
                credited[record_id] -= 30
            approvals.append(item)
        result = self.timed(
            "approve_records",
            when,
            lambda key: self.ledger.approve_records(
                org.org_id, approvals=approvals, idempotency_key=key
            ),
        )
        if result is not None:
            numbers = {record_id: entry["number"] for record_id, entry in records}
            self.approved += [Approved(r, numbers[r], org.org_id, credited[r]) for r in credited]
        for record_id in rejected:
            self.timed(
                "reject_record",
                when + timedelta(hours=1),
                lambda key, record_id=record_id: self.ledger.reject_record(
                    org.org_id, record_id=record_id, reason="not on the roster", idempotency_key=key
                ),
            )

    def _correct(self, when: datetime, _: Any, rng: random.Random) -> None:
        candidates = [a for a in self.approved[-2000:] if a.credited > 60]
        if not candidates:
            return
        record = rng.choice(candidates)
        delta = -rng.choice((10, 15, 20, 30))
        result = self.timed(
            "correct_record",
            when,
            lambda key: self.ledger.correct_record(
                record.org,
                record_id=record.record_id,
                delta_minutes=delta,
                reason="arrived late",
                idempotency_key=key,
            ),
        )
        if result is not None:
            record.credited += delta

    def _void(self, when: datetime, _: Any, rng: random.Random) -> None:
        if not self.approved:
            return
        record = self.approved.pop(rng.randrange(len(self.approved)))
        county = next(o.county for o in self.orgs if o.org_id == record.org)
        self.timed(
            "void_record",
            when,
            lambda key: self.ledger.void_record(
                county, record_id=record.record_id, grounds="not volunteering", idempotency_key=key
            ),
        )

    def _donate(self, when: datetime, _: Any, rng: random.Random) -> None:
        if not self.approved:
            return
        record = rng.choice(self.approved[-2000:])
        home = self.home_of(record.number)
        if home is None:
            return
        self.timed(
            "transfer_credit",
            when,
            lambda key: self.ledger.transfer_credit(
                home,
                bank_id=BANK,
                from_account=f"{BANK}:vol:{record.number}",
                to_account=f"{BANK}:org:{record.org}",
                amount=30,
                kind="donation",
                idempotency_key=key,
            ),
        )

    def _certificate(self, when: datetime, _: Any, rng: random.Random) -> None:
        if not self.approved:
            return
        record = rng.choice(self.approved)
        self.timed(
            "issue_certificate",
            when,
            lambda key: self.ledger.issue_certificate(
                record.org,
                number=record.number,
                period_from=self.start.date(),
                period_to=when.date(),
                issuer_contact=f"office@{record.org}.example",
                idempotency_key=key,
            ),
        )

    def _transfer(self, when: datetime, _: Any, rng: random.Random) -> None:
        source = rng.choice(self.orgs)
        targets = [o for o in self.orgs if o.county == source.county and o is not source]
        if len(source.members) < 2 or not targets:
            return
        target = rng.choice(targets)
        number = rng.choice(source.members)
        asked = self.timed(
            "request_transfer",
            when,
            lambda key: self.ledger.request_transfer(
                source.org_id, number=number, to_org=target.org_id, idempotency_key=key
            ),
        )
        if asked is None:
            return
        accepted = self.timed(
            "accept_transfer",
            when + timedelta(hours=2),
            lambda key: self.ledger.accept_transfer(
                target.org_id,
                number=number,
                transfer_id=asked.value.transfer_id,
                idempotency_key=key,
            ),
        )
        if accepted is not None:
            source.members.remove(number)
            target.members.append(number)

    def _register(self, when: datetime, _: Any, rng: random.Random) -> None:
        org = rng.choice(self.orgs)
        result = self.timed(
            "register_volunteer",
            when,
            lambda key: self.ledger.register_volunteer(org.org_id, idempotency_key=key),
        )
        if result is not None:
            org.members.append(result.value.number)


def writer_main(
    index: int,
    url: str,
    keys: str,
    orgs: list[Organisation],
    shape: Shape,
    writers: int,
    start: datetime,
    seed: int,
    inbox: Any,
    outbox: Any,
    profile: bool = False,
) -> None:
    """A writer process: write each tenth it is sent, and send back its latencies (and, with
    ``profile``, the profile of the tenth as text)."""
    try:
        with Ledger(url, keystore=DirectoryKeystore(Path(keys))) as ledger:
            writer = Writer(index, ledger, orgs, shape, writers, start, seed)
            outbox.put((index, -1, [], {}, None))  # ready
            while (tenth := inbox.get()) is not None:
                writer.samples, writer.refused = [], Counter()
                profiler = cProfile.Profile() if profile else None
                if profiler is not None:
                    profiler.enable()
                writer.run_tenth(tenth)
                refused: dict[str, Any] = dict(writer.refused)
                if profiler is not None:
                    profiler.disable()
                    text = io.StringIO()
                    stats = pstats.Stats(profiler, stream=text)
                    stats.sort_stats("cumulative").print_stats(25)
                    refused["profile"] = text.getvalue()
                outbox.put((index, tenth, writer.samples, refused, None))
    except BaseException:
        outbox.put((index, -1, [], {}, traceback.format_exc()))


# Measuring the store and the audit


def pg_figures(base: str, schema: str) -> tuple[int, int, list[tuple[str, int]]]:
    """(events stored, bytes of every table of the schema, the largest tables)."""
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        events = conn.execute(f'SELECT count(*) FROM "{schema}".ledger_events').fetchone()
        tables = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY 2 DESC",
            [schema],
        ).fetchall()
    assert events is not None
    return int(events[0]), sum(int(t[1]) for t in tables), [(t[0], int(t[1])) for t in tables]


def analyse(base: str, schema: str) -> None:
    """Refresh the planner's statistics of the schema's tables, as autovacuum would on a server
    that runs it (the test server here has ``autovacuum = off``)."""
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'",
            [schema],
        ).fetchall()
        for (table,) in tables:
            conn.execute(f'ANALYZE "{schema}"."{table}"')


# ``ledger audit`` run by its own ``main``, then the process's own peak memory written out (see
# ``bench_support.own_peak_rss_mb``: the ``ru_maxrss`` of a started program also holds the peak
# of the benchmark that started it).
_AUDIT_AND_PEAK = (
    "import sys\n"
    "from bench_support import own_peak_rss_mb\n"
    "from ledger.cli import main\n"
    "code = main(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(own_peak_rss_mb()))\n"
    "sys.exit(code)\n"
)


def _with_benchmarks(python_path: str | None) -> str:
    """``PYTHONPATH`` with this folder first, for ``bench_support``."""
    here = str(Path(__file__).resolve().parent)
    return os.pathsep.join([here, python_path]) if python_path else here


def run_audit(url: str) -> tuple[float, float, dict[str, Any], int]:
    """``ledger audit`` in a process of its own: (seconds, peak RSS in MB, report, exit)."""
    with tempfile.TemporaryDirectory(prefix="city-year-audit-") as folder:
        report, peak = Path(folder) / "audit.json", Path(folder) / "peak"
        command = [sys.executable, "-c", _AUDIT_AND_PEAK, str(peak), "audit", "--db", url]
        started = time.perf_counter()
        process = subprocess.Popen(
            [*command, "--quiet", "--no-views", "--json", str(report)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": _with_benchmarks(os.environ.get("PYTHONPATH"))},
        )
        _, stderr = process.communicate()
        seconds = time.perf_counter() - started
        errors = stderr.decode() if stderr else ""
        content = json.loads(report.read_text()) if report.exists() else {"error": errors}
        peak_mb = float(peak.read_text()) if peak.exists() else float("nan")
    return seconds, peak_mb, content, process.returncode


# Figures and the plot


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


@dataclass
class Tenth:
    number: int
    samples: list[tuple[str, float]]
    seconds: float
    events: int  # stored at the end of the tenth

    def latencies(self, *kinds: str) -> list[float]:
        return [ms for kind, ms in self.samples if not kinds or kind in kinds]


def write_plot(path: Path, tenths: list[Tenth], title: str) -> None:
    """p50 and p99 latency per tenth, as an SVG line chart."""
    width, height, left, right, top, bottom = 640, 360, 64, 20, 40, 48
    series = [
        ("p99, all commands", "#c0392b", [percentile(t.latencies(), 0.99) for t in tenths]),
        (
            "p99, rosters and approvals",
            "#e67e22",
            [percentile(t.latencies("record_roster", "approve_records"), 0.99) for t in tenths],
        ),
        ("p50, all commands", "#2471a3", [statistics.median(t.latencies()) for t in tenths]),
    ]
    peak = max(max(values) for _, _, values in series) or 1.0
    step = 10 ** math.floor(math.log10(peak))
    if peak / step < 4:
        step /= 2
    ceiling = math.ceil(peak / step) * step
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + plot_w * (i + 0.5) / len(tenths)

    def y(value: float) -> float:
        return top + plot_h * (1 - value / ceiling)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>',
    ]
    for k in range(int(ceiling / step) + 1):
        value = k * step
        parts.append(
            f'<line x1="{left}" y1="{y(value):.1f}" x2="{width - right}" y2="{y(value):.1f}" '
            'stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:g}</text>'
        )
    for i, tenth in enumerate(tenths):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - bottom + 18}" text-anchor="middle">'
            f"{tenth.number + 1}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 10}" text-anchor="middle">'
        "tenth of the year</text>"
    )
    parts.append(
        f'<text x="16" y="{top + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 16 {top + plot_h / 2})">command latency (ms)</text>'
    )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        'stroke="black"/>'
    )
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>')
    legend = [
        f'<rect x="{left + 4}" y="{top}" width="200" height="{16 * len(series) + 4}" '
        'fill="white" fill-opacity="0.85"/>'
    ]
    for n, (name, colour, values) in enumerate(series):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        parts += [
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>'
            for i, v in enumerate(values)
        ]
        ly = top + 10 + 16 * n
        legend.append(
            f'<line x1="{left + 10}" y1="{ly}" x2="{left + 30}" y2="{ly}" stroke="{colour}" '
            'stroke-width="2"/>'
        )
        legend.append(f'<text x="{left + 36}" y="{ly + 4}">{name}</text>')
    parts += legend
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n")


# Main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale", type=float, default=0.05, help="fraction of the seed city (default 1/20)"
    )
    parser.add_argument("--writers", type=int, default=4, help="writer processes (default 4)")
    parser.add_argument("--quick", action="store_true", help="a tiny city, a few seconds")
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        help=f"where the SVG goes (default {DEFAULT_PLOT}; with --quick, the temporary folder)",
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed")
    parser.add_argument("--no-audit", action="store_true", help="skip the audit at the end")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="do not refresh the planner's statistics after each tenth (see the docstring)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile writer 0; print its first and last tenth"
    )
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1 or args.writers < 1:
        parser.error("--scale is in (0, 1] and --writers at least 1")
    base = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    problem = postgres_problem(base)
    if problem is not None:
        print(f"PostgreSQL is not available: {problem}")
        return 2
    shape = Shape.of(args.scale, args.quick)
    writers = min(args.writers, shape.counties)
    scale = "quick" if args.quick else f"{args.scale:g} of the seed city"
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
        "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    )
    print(
        f"city ({scale}): {shape.volunteers:,} volunteers, {shape.teams:,} teams, "
        f"{shape.stations:,} stations, {shape.counties} counties, {shape.activities:,} "
        f"activities of {shape.roster[0]}-{shape.roster[1]} volunteers; {writers} writer processes"
    )
    stores = Stores(base, prefix="bench-city-year")
    keys = tempfile.TemporaryDirectory(prefix="city-year-keys-")
    try:
        store = stores.new("postgresql", "city")
        start = (datetime.now(UTC) - YEAR).replace(hour=0, minute=0, second=0, microsecond=0)
        started = time.perf_counter()
        orgs = set_up(store.url, Path(keys.name), shape, start)
        if not args.no_analyze:
            analyse(base, store.schema)
        first_events, _, _ = pg_figures(base, store.schema)
        print(
            f"set-up: {first_events:,} events in {time.perf_counter() - started:.1f} s "
            f"(schema {store.schema}, dropped at the end)",
            flush=True,
        )
        tenths = write_year(args, store.url, keys.name, orgs, shape, writers, start, base, store)
        year_seconds = sum(t.seconds for t in tenths)
        events, size, tables = pg_figures(base, store.schema)
        report_year(tenths, events - first_events, year_seconds, events, size, tables)
        if not args.no_audit:
            seconds, rss, content, code = run_audit(store.url)
            checked = content.get("events_checked", "?")
            verdict = "ok" if code == 0 and content.get("ok", code == 0) else f"exit {code}"
            findings = len(content.get("findings", []))
            print(
                f"audit: {checked} events in {seconds:.1f} s, peak RSS {rss:.0f} MB, "
                f"{findings} findings ({verdict})"
            )
            if code != 0:
                print(json.dumps(content)[:2000])
        title = f"City year ({scale}, {writers} writers, PostgreSQL): command latency"
        plot = args.plot or (QUICK_PLOT if args.quick else DEFAULT_PLOT)
        write_plot(plot, tenths, title)
        print(f"plot: {plot}")
    finally:
        stores.close()
        keys.cleanup()
    print("load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    return 0


def write_year(
    args: argparse.Namespace,
    url: str,
    keys: str,
    orgs: list[Organisation],
    shape: Shape,
    writers: int,
    start: datetime,
    base: str,
    store: Any,
) -> list[Tenth]:
    """Start the writers, send them each tenth in turn, collect their latencies."""
    context = multiprocessing.get_context("spawn")
    outbox = context.Queue()
    inboxes = [context.Queue() for _ in range(writers)]
    counties = sorted({o.county for o in orgs})
    processes = [
        context.Process(
            target=writer_main,
            args=(
                i,
                url,
                keys,
                [o for o in orgs if counties.index(o.county) % writers == i],
                shape,
                writers,
                start,
                args.seed,
                inboxes[i],
                outbox,
                args.profile and i == 0,
            ),
        )
        for i in range(writers)
    ]
    for process in processes:
        process.start()
    for _ in range(writers):
        _, _, _, _, failure = outbox.get(timeout=600)
        if failure is not None:
            raise RuntimeError(f"a writer failed to start:\n{failure}")
    tenths: list[Tenth] = []
    refused: Counter[str] = Counter()
    try:
        for tenth in range(TENTHS):
            began = time.perf_counter()
            for inbox in inboxes:
                inbox.put(tenth)
            samples: list[tuple[str, float]] = []
            for _ in range(writers):
                try:
                    _, _, got, refusals, failure = outbox.get(timeout=3600)
                except queue.Empty:
                    raise RuntimeError("a writer did not answer within an hour") from None
                if failure is not None:
                    raise RuntimeError(f"a writer failed:\n{failure}")
                samples += got
                profile = refusals.pop("profile", None)
                if profile is not None and tenth in (0, TENTHS - 1):
                    print(f"profile of writer 0, tenth {tenth + 1} (by cumulative time):")
                    print(profile)
                refused.update(refusals)
            seconds = time.perf_counter() - began
            if not args.no_analyze:
                analyse(base, store.schema)
            events, _, _ = pg_figures(base, store.schema)
            tenths.append(Tenth(tenth, samples, seconds, events))
            latencies = [ms for _, ms in samples]
            print(
                f"  tenth {tenth + 1:>2}: {len(samples):>6,} commands in "
                f"{tenths[-1].seconds:6.1f} s, p50 {statistics.median(latencies):7.1f} ms, "
                f"p99 {percentile(latencies, 0.99):7.1f} ms, {events:,} events stored",
                flush=True,
            )
    finally:
        for inbox in inboxes:
            inbox.put(None)
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.terminate()
    if refused:
        print(
            "refused by the rules (counted, not retried): "
            + ", ".join(f"{kind} {n}" for kind, n in sorted(refused.items()))
        )
    return tenths


def report_year(
    tenths: list[Tenth],
    year_events: int,
    year_seconds: float,
    events: int,
    size: int,
    tables: list[tuple[str, int]],
) -> None:
    heavy = ("record_roster", "approve_records")
    print("\ncommand latency per tenth of the year (ms):")
    print(
        f"  {'tenth':>5} {'commands':>9} {'p50':>8} {'p99':>8} {'roster/approve p99':>19} "
        f"{'single p50':>11} {'events stored':>14}"
    )
    for t in tenths:
        singles = [ms for kind, ms in t.samples if kind not in heavy]
        print(
            f"  {t.number + 1:>5} {len(t.samples):>9,} {statistics.median(t.latencies()):8.1f} "
            f"{percentile(t.latencies(), 0.99):8.1f} {percentile(t.latencies(*heavy), 0.99):19.1f} "
            f"{statistics.median(singles) if singles else 0:11.1f} {t.events:>14,}"
        )
    kinds = Counter(kind for t in tenths for kind, _ in t.samples)
    print("  commands by kind: " + ", ".join(f"{k} {n:,}" for k, n in sorted(kinds.items())))
    print("  p50 by kind, first tenth -> last tenth (ms):")
    for kind in sorted(kinds):
        first_kind, last_kind = tenths[0].latencies(kind), tenths[-1].latencies(kind)
        if first_kind and last_kind:
            print(
                f"    {kind:<20} {statistics.median(first_kind):8.1f} -> "
                f"{statistics.median(last_kind):8.1f}"
            )
    first = percentile(tenths[0].latencies(), 0.99)
    last = percentile(tenths[-1].latencies(), 0.99)
    ratio = last / first if first else float("inf")
    verdict = "met" if ratio <= 1.3 else "MISSED"
    print(f"p99 last tenth / first tenth: {ratio:.2f} (goal <= 1.3: {verdict})")
    print(
        f"events/s over the year: {year_events / year_seconds:,.0f} "
        f"({year_events:,} events in {year_seconds:.1f} s)"
    )
    print(
        f"bytes per event on disk: {size / events:,.0f} ({size / 2**20:,.1f} MB in all tables "
        f"of the schema, indexes and TOAST included, / {events:,} events)"
    )
    print("  largest: " + ", ".join(f"{name} {b / 2**20:,.1f} MB" for name, b in tables[:5]))


if __name__ == "__main__":
    sys.exit(main())
