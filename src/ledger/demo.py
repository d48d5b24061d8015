"""A realistic, deterministic demo city: organisations, volunteers, activities and their hours.

The same seed builds the same city: the same organisations, volunteer numbers, activities,
minutes, reviews, corrections, voids, transfers, awards and credit (keys and signatures differ,
as they must). Personal data is made up.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .demo_assessment import build_assessment_demo
from .errors import RuleViolationError
from .ledger import Ledger
from .trust import SERVICE_FIELDS

# Told (stage, done, total) as the demo advances: a city of thousands takes minutes.
DemoProgress = Callable[[str, int, int], None]
DEMO_IDENTITY = {
    "name": "Changzhi volunteer service ledger (demo)",
    "root_org_id": "changzhi",
    "root_name": "Changzhi Volunteer Federation",
    "region": "140400",
    "origin": "volunteer.changzhi.example/ledger",
}

YEAR = 2025
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
TIME_ZONE = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TIME_ZONE)


def _days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


# The State Council's 2025 holiday arrangement: the holidays, and the weekends worked in return.
HOLIDAYS_2025 = [
    "2025-01-01",
    *_days("2025-01-28", "2025-02-04"),
    *_days("2025-04-04", "2025-04-06"),
    *_days("2025-05-01", "2025-05-05"),
    *_days("2025-05-31", "2025-06-02"),
    *_days("2025-10-01", "2025-10-08"),
]
ADJUSTED_WORKING_DAYS_2025 = ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"]
COUNTIES = [
    ("luzhou", "Luzhou District", "140403"),
    ("shangdang", "Shangdang District", "140404"),
    ("tunliu", "Tunliu District", "140405"),
]


@dataclass
class DemoCity:
    root: str = "changzhi"
    organisations: list[str] = field(default_factory=list)
    recorders: list[str] = field(default_factory=list)  # stations and teams that record hours
    volunteers: dict[str, str] = field(default_factory=dict)  # number -> home organisation
    certificates: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    progress: DemoProgress | None = None

    def tick(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


def _seeded_number(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "V" + "".join(rng.choice(alphabet) for _ in range(13))


def build_demo(
    ledger: Ledger,
    *,
    volunteers: int = 300,
    seed: int = 7,
    public_url: str | None = None,
    progress: DemoProgress | None = None,
) -> dict[str, Any]:
    """Fill an empty ledger, or one ``ledger init`` just made, with a city; return what was made.

    An empty store gets the example identity; a ledger with only its genesis gets the city
    under its own root authority. A ledger already holding more is refused: demo data must
    never mix with real records. Certificates link to ``public_url`` (where the demo will be
    served; local addresses allowed, it is a demo).
    """
    rng = random.Random(seed)
    city = DemoCity(progress=progress)
    anchors = _create_or_adopt(ledger, city)
    _organisations(ledger, city)
    _reference_data(ledger, city)
    _volunteers(ledger, city, rng, volunteers)
    _activities_and_hours(ledger, city, rng)
    _transfers(ledger, city, rng)
    _honours_and_credit(ledger, city, rng)
    _certificates(ledger, city, public_url)
    stations = [o for o in city.organisations if o.split("-")[-1].startswith("station")]
    city.counts.update(build_assessment_demo(ledger, city.root, stations))
    note = ledger.log.sign_checkpoint()
    return {
        "anchors": anchors,
        "counts": city.counts,
        "log_size": ledger.log_size(),
        "checkpoint": note,
        "city": city,
    }


def _create_or_adopt(ledger: Ledger, city: DemoCity) -> dict[str, Any]:
    ledger.refresh()
    existing = ledger._directory.ledger
    if existing is None:
        return ledger.create(
            name=DEMO_IDENTITY["name"],
            root_org_id=DEMO_IDENTITY["root_org_id"],
            root_name=DEMO_IDENTITY["root_name"],
            region=DEMO_IDENTITY["region"],
            origin=DEMO_IDENTITY["origin"],
        )
    busy = next(
        ledger.events_of_types(
            "OrganisationRegistered", "VolunteerRegistered", "ActivityPublished", "HolidaysDeclared"
        ),
        None,
    )
    if busy is not None:
        raise RuleViolationError(
            f"this store already holds ledger {existing.name!r} with records in it; the demo "
            "city goes into a store of its own, e.g. `ledger demo --db sqlite:///demo-ledger.db`"
        )
    city.root = existing.root_org
    ledger.signer_for(city.root)  # the root key must be in this keystore: say so before writing
    return ledger.trust_anchors()


def _organisations(ledger: Ledger, city: DemoCity) -> None:
    def register(parent: str, org_id: str, name: str, kind: str, region: str) -> None:
        ledger.register_organisation(
            parent,
            org_id=org_id,
            name=name,
            kind=kind,
            region=region,
            idempotency_key=f"org-{org_id}",
        )
        ledger.new_key(parent, for_org=org_id, idempotency_key=f"key-{org_id}")
        city.organisations.append(org_id)
        city.count(kind + "s")
        city.tick("organisations", len(city.organisations), len(COUNTIES) * 8)

    ledger.new_key(
        city.root, for_org=city.root, idempotency_key="auto-key", purpose="automatic-awards"
    )
    for slug, name, region in COUNTIES:
        county = f"{slug}"
        register(city.root, county, f"{name} Volunteer Association", "organisation", region)
        for t in (1, 2):
            township = f"{slug}-town{t}"
            register(county, township, f"{name} Township {t}", "organisation", region + f"{t:03d}")
            for s in (1, 2):
                station = f"{township}-station{s}"
                register(
                    township, station, f"{name} T{t} Station {s}", "station", region + f"{t:03d}"
                )
                city.recorders.append(station)
        team = f"{slug}-youth-team"
        register(county, team, f"{name} Youth Volunteer Team", "team", region)
        city.recorders.append(team)


def _reference_data(ledger: Ledger, city: DemoCity) -> None:
    ledger.publish_calendar(
        city.root,
        time_zone=TIME_ZONE,
        holidays=HOLIDAYS_2025,
        working_days=ADJUSTED_WORKING_DAYS_2025,
        idempotency_key="calendar-2025",
    )
    ledger.publish_star_scheme(
        city.root,
        scheme_id="national-stars",
        name="National star rating",
        idempotency_key="scheme-national",
    )
    ledger.publish_star_scheme(
        city.root,
        scheme_id="youth-stars",
        name="Youth service stars",
        thresholds_hours=[5, 10, 20, 40, 80],
        idempotency_key="scheme-youth",
    )
    ledger.open_time_bank(
        city.root,
        bank_id="changzhi-bank",
        cap_minutes=1500 * 60,
        surplus_account=f"changzhi-bank:org:{city.root}",
        idempotency_key="time-bank",
    )


def _volunteers(ledger: Ledger, city: DemoCity, rng: random.Random, count: int) -> None:
    for i in range(count):
        home = rng.choice(city.recorders)
        number = _seeded_number(rng)
        personal = {
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            "phone": f"1{rng.randint(30, 99)}{rng.randint(0, 99999999):08d}",
        }
        ledger.register_volunteer(
            home, number=number, personal=personal, idempotency_key=f"volunteer-{i}"
        )
        city.volunteers[number] = home
        city.tick("volunteers", i + 1, count)
        if rng.random() < 0.3:
            ledger.give_consent(
                home, number=number, purpose="certificate-name", idempotency_key=f"consent-{i}"
            )
            city.count("consents")
    city.count("volunteers", count)


def _activities_and_hours(ledger: Ledger, city: DemoCity, rng: random.Random) -> None:
    members: dict[str, list[str]] = {}
    for number, home in city.volunteers.items():
        members.setdefault(home, []).append(number)
    total = max(20, len(city.volunteers) // 4)
    for i in range(total):
        city.tick("activities", i, total)
        org = rng.choice([o for o in city.recorders if members.get(o)])
        day = date(YEAR, 1, 2) + timedelta(days=rng.randrange(330))
        start = datetime(day.year, day.month, day.day, rng.randint(8, 14), tzinfo=SHANGHAI)
        hours = rng.randint(2, 6)
        field_name = rng.choice(SERVICE_FIELDS)
        activity_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        ledger.publish_activity(
            org,
            title=f"{field_name.replace('-', ' ').title()} #{i + 1}",
            field=field_name,
            place=f"{org} service point",
            starts_at=start,
            ends_at=start + timedelta(hours=hours),
            leader=f"leader-{org}",
            content=f"{field_name} service",
            activity_id=activity_id,
            people_served=rng.randint(5, 200),
            idempotency_key=f"activity-{i}",
            occurred_at=start - timedelta(days=3),
        )
        city.count("activities")
        pool = members[org]
        roster = rng.sample(pool, k=min(len(pool), rng.randint(3, 12)))
        recorded_at = start + timedelta(hours=hours, days=rng.choice([1, 2, 3, 5, 9, 20]))
        result = ledger.record_roster(
            org,
            activity_id=activity_id,
            occurred_at=recorded_at,
            idempotency_key=f"roster-{i}",
            entries=[{"number": n, "minutes": rng.randint(60, hours * 60)} for n in roster],
        )
        city.count("records", len(roster))
        _review(ledger, city, rng, org, i, result.value.record_ids)
    city.tick("activities", total, total)


def _review(
    ledger: Ledger, city: DemoCity, rng: random.Random, org: str, i: int, record_ids: Sequence[str]
) -> None:
    approvals, rejected = [], 0
    for record_id in record_ids:
        if rng.random() < 0.05:
            ledger.reject_record(
                org,
                record_id=record_id,
                reason="not on the sign-in sheet",
                idempotency_key=f"reject-{record_id}",
            )
            rejected += 1
        else:
            approvals.append({"record_id": record_id})
    if approvals:
        ledger.approve_records(org, approvals=approvals, idempotency_key=f"approve-{i}")
        city.count("approved", len(approvals))
    city.count("rejected", rejected)
    for item in approvals:
        roll = rng.random()
        if roll < 0.04:
            ledger.correct_record(
                org,
                record_id=item["record_id"],
                delta_minutes=-30,
                reason="volunteer reported leaving early",
                idempotency_key=f"correct-{item['record_id']}",
            )
            city.count("corrections")
        elif roll < 0.06:
            parent = ledger.organisation(org)["parent"]
            assert parent is not None
            ledger.void_record(
                parent,
                record_id=item["record_id"],
                grounds="spot check found no service was given",
                idempotency_key=f"void-{item['record_id']}",
            )
            city.count("voids")


def _transfers(ledger: Ledger, city: DemoCity, rng: random.Random) -> None:
    numbers = sorted(city.volunteers)
    for i, number in enumerate(rng.sample(numbers, k=min(10, len(numbers)))):
        home = city.volunteers[number]
        target = rng.choice([o for o in city.recorders if o != home])
        transfer = ledger.request_transfer(
            home, number=number, to_org=target, idempotency_key=f"transfer-{i}"
        )
        transfer_id = transfer.value.transfer_id
        if i % 4 == 3:
            ledger.decline_transfer(
                target,
                number=number,
                transfer_id=transfer_id,
                reason="no capacity this season",
                idempotency_key=f"decline-{i}",
            )
            city.count("transfers declined")
        else:
            ledger.accept_transfer(
                target, number=number, transfer_id=transfer_id, idempotency_key=f"accept-{i}"
            )
            city.volunteers[number] = target
            city.count("transfers accepted")


def _honours_and_credit(ledger: Ledger, city: DemoCity, rng: random.Random) -> None:
    ranked = sorted(city.volunteers, key=lambda n: (-ledger.service_account(n).approved_minutes, n))
    for i, number in enumerate(ranked[:5]):
        ledger.grant_honour(
            city.root,
            recipient_kind="volunteer",
            recipient=number,
            honour="Outstanding volunteer of the year",
            citation=f"most approved service hours in {YEAR} (rank {i + 1})",
            granted_on=date(YEAR, 12, 5),
            idempotency_key=f"honour-{i}",
        )
        city.count("honours")
    for i, number in enumerate(ranked[:10]):
        balance = ledger.account(f"changzhi-bank:vol:{number}")["balance"]
        if balance >= 60:
            ledger.transfer_credit(
                city.volunteers[number],
                bank_id="changzhi-bank",
                from_account=f"changzhi-bank:vol:{number}",
                to_account=f"changzhi-bank:org:{city.root}",
                amount=rng.randint(10, 60),
                kind="donation",
                idempotency_key=f"donation-{i}",
            )
            city.count("credit donations")


def _certificates(ledger: Ledger, city: DemoCity, public_url: str | None) -> None:
    """Certificates for the three busiest volunteers; the third is revoked, to show how."""
    ranked = sorted(city.volunteers, key=lambda n: (-ledger.service_account(n).approved_minutes, n))
    for i, number in enumerate(ranked[:3]):
        issued = ledger.issue_certificate(
            city.root,
            number=number,
            period_from=date(YEAR, 1, 1),
            period_to=date(YEAR, 12, 31),
            issuer_contact="Changzhi Volunteer Federation, +86 355 000 0000",
            include_masked_name=True,
            idempotency_key=f"certificate-{i}",
            verify_base_url=public_url,
            allow_local_links=True,
        )
        city.certificates.append(issued.value.certificate_number)
        city.count("certificates")
    if len(city.certificates) == 3:
        ledger.revoke_certificate(
            city.root,
            certificate_number=city.certificates[2],
            reason="issued for the wrong period; reissue requested",
            idempotency_key="certificate-revoke-2",
        )
        city.count("certificates revoked")


__all__ = ["DemoCity", "build_demo"]
