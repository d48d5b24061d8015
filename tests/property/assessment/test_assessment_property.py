"""Property: for any generated history, the figures the audit recomputes from the replayed
records equal the published ones (a clean audit); a signed result whose figures differ from
them is flagged, and only it."""

from __future__ import annotations

import contextlib
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_testing import create_city

from ledger import Ledger, LedgerError, MemoryKeystore, SigningKey, canonical_json
from ledger.audit import StoreSource, audit
from ledger.envelope import SIGNING_CONTEXT, format_time
from ledger.model.assessments import assessment_aggregate_id, score_figures
from ledger.signing import b64encode

ORGS = ("org-a", "org-b", "station-a1", "team-b1")
DAYS = (
    datetime(2024, 11, 4, 9, tzinfo=UTC),
    datetime(2025, 2, 3, 9, tzinfo=UTC),
    datetime(2025, 6, 16, 9, tzinfo=UTC),
    datetime(2025, 12, 29, 9, tzinfo=UTC),
    datetime(2026, 1, 5, 9, tzinfo=UTC),
)
INDICATORS = [
    ("registered-volunteers", 5),
    ("volunteer-growth", 500),
    ("active-member-share", 800),
    ("activities-held", 4),
    ("approved-minutes-per-member", 300),
    ("weeks-with-service", 3),
    ("late-recording-rate", 300),
    ("station-checklist-met", 1000),
]
SCHEME: dict[str, Any] = {
    "scheme_id": "property-2025",
    "name": "Generated district assessment",
    "unit_kind": "organisation",
    "indicators": [
        {"indicator": name, "weight": 125, "target": target} for name, target in INDICATORS
    ],
    "bands": [{"band": "standard", "min_score": 300}, {"band": "city-level", "min_score": 700}],
    "checklist": [{"item": "premises", "title": "A place"}, {"item": "staff", "title": "Staff"}],
}
KEYS = itertools.count()

BRANCH = {"org-a": "a", "station-a1": "a", "org-b": "b", "team-b1": "b"}
recording = st.tuples(
    st.just("record"),
    st.integers(0, 30),
    st.integers(0, 30),
    st.integers(1, 240),
    st.sampled_from((1, 30)),
)
serving = st.tuples(
    st.just("serve"),
    st.sampled_from(ORGS),
    st.integers(0, 4),
    st.integers(0, 30),
    st.integers(1, 240),
    st.sampled_from((1, 30)),
    st.sampled_from(("approve", "approve", "approve", "none", "reject", "void", "correct")),
)
operation = st.one_of(
    serving,
    st.tuples(st.just("register"), st.sampled_from(ORGS), st.integers(0, 4)),
    recording,
    st.tuples(st.just("join"), st.sampled_from(ORGS), st.integers(0, 30)),
    st.tuples(st.just("leave"), st.sampled_from(ORGS), st.integers(0, 30)),
    st.tuples(st.just("activity"), st.sampled_from(ORGS), st.integers(0, 4)),
    st.tuples(st.just("cancel"), st.sampled_from(ORGS), st.integers(0, 30)),
    st.tuples(
        st.just("record"),
        st.integers(0, 30),
        st.integers(0, 30),
        st.integers(1, 240),
        st.sampled_from((1, 30)),
    ),
    st.tuples(st.just("approve"), st.integers(0, 60)),
    st.tuples(st.just("reject"), st.integers(0, 60)),
    st.tuples(st.just("correct"), st.integers(0, 60), st.integers(-60, 60)),
    st.tuples(st.just("void"), st.integers(0, 60)),
    st.tuples(st.just("attest"), st.sampled_from(("premises", "staff"))),
    st.tuples(st.just("assess")),
)


class History:
    """Applies generated operations; a refused one stores nothing and is simply skipped."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.volunteers: list[tuple[str, str]] = [(create_city(ledger)["number"], "org-a")]
        for org_id, kind, parent in (
            ("station-a1", "station", "org-a"),
            ("team-b1", "team", "org-b"),
        ):
            ledger.register_organisation(
                parent,
                org_id=org_id,
                name=org_id,
                kind=kind,
                region="140402",
                idempotency_key=f"reg-{org_id}",
            )
            ledger.new_key(parent, for_org=org_id, idempotency_key=f"key-{org_id}")
        ledger.publish_assessment_scheme("city", scheme=SCHEME, idempotency_key="scheme")
        self.activities: list[tuple[str, str, datetime]] = []
        self.records: list[tuple[str, str]] = []

    def apply(self, op: tuple[Any, ...]) -> None:
        with contextlib.suppress(LedgerError):
            getattr(self, "_" + op[0])(*op[1:])

    def _key(self) -> str:
        return f"op-{next(KEYS)}"

    def _register(self, org: str, day: int) -> None:
        result = self.ledger.register_volunteer(
            org, idempotency_key=self._key(), occurred_at=DAYS[day]
        )
        self.volunteers.append((str(result.value.number), org))

    def _join(self, org: str, who: int) -> None:
        number = self.volunteers[who % len(self.volunteers)][0]
        self.ledger.join(org, number=number, idempotency_key=self._key(), occurred_at=DAYS[2])

    def _leave(self, org: str, who: int) -> None:
        number = self.volunteers[who % len(self.volunteers)][0]
        self.ledger.leave(org, number=number, idempotency_key=self._key(), occurred_at=DAYS[3])

    def _activity(self, org: str, day: int) -> None:
        start = DAYS[day]
        station = "station-a1" if org == "org-a" and day % 2 else None
        result = self.ledger.publish_activity(
            org,
            title="Desk",
            field="legal-aid",
            place="Centre",
            starts_at=start,
            ends_at=start + timedelta(hours=4),
            leader="lead",
            content="Help",
            station=station,
            people_served=day * 10,
            idempotency_key=self._key(),
            occurred_at=start - timedelta(days=1),
        )
        self.activities.append((str(result.value.activity_id), org, start))

    def _serve(
        self, org: str, day: int, who: int, minutes: int, days_later: int, outcome: str
    ) -> None:
        """An activity, a record of it and (usually) its review: a history with substance."""
        self._register(org, min(day, 3))
        self._activity(org, day)
        self._record(who, len(self.activities) - 1, minutes, days_later)
        last = len(self.records) - 1
        if outcome == "correct":
            self._approve(last)
        if outcome != "none":
            getattr(self, "_" + outcome)(last, *((-minutes // 2,) if outcome == "correct" else ()))

    def _cancel(self, org: str, which: int) -> None:
        if self.activities:
            activity_id = self.activities[which % len(self.activities)][0]
            self.ledger.cancel_activity(
                org, activity_id=activity_id, reason="rain", idempotency_key=self._key()
            )

    def _record(self, who: int, which: int, minutes: int, days_later: int) -> None:
        if not self.activities:
            return
        activity_id, org, start = self.activities[which % len(self.activities)]
        same = [n for n, o in self.volunteers if BRANCH[o] == BRANCH[org]] or [
            n for n, _ in self.volunteers
        ]
        number = same[who % len(same)]
        result = self.ledger.record_hours(
            org,
            activity_id=activity_id,
            number=number,
            minutes=minutes,
            occurred_at=start + timedelta(days=days_later),
            idempotency_key=self._key(),
        )
        self.records.append((str(result.value.record_id), org))

    def _review(self, which: int, action: str, **extra: Any) -> None:
        if self.records:
            record_id, org = self.records[which % len(self.records)]
            org = "city" if action == "void_record" else org
            getattr(self.ledger, action)(
                org, record_id=record_id, idempotency_key=self._key(), **extra
            )

    def _approve(self, which: int) -> None:
        self._review(which, "approve_record")

    def _reject(self, which: int) -> None:
        self._review(which, "reject_record", reason="not service")

    def _correct(self, which: int, delta: int) -> None:
        self._review(which, "correct_record", delta_minutes=delta or 1, reason="amended")

    def _void(self, which: int) -> None:
        self._review(which, "void_record", grounds="no service")

    def _attest(self, item: str) -> None:
        self.ledger.attest_station_item(
            "org-a",
            station="station-a1",
            scheme_id="property-2025",
            item=item,
            evidence=[{"sha256": "cd" * 32}],
            attested_on=DAYS[2].date(),
            idempotency_key=self._key(),
        )

    def _assess(self) -> None:
        self.ledger.assess(
            "city", scheme_id="property-2025", period="2025", idempotency_key=self._key()
        )


def run_audit(ledger: Ledger) -> Any:
    return audit(StoreSource(ledger), compare_views=False, progress=False, workers=1)


def tampered_result(ledger: Ledger, unit: str, indicator: int, delta: int) -> tuple[bytes, str]:
    """The owner signs a result for ``unit`` with one value off by ``delta`` (scores follow)."""
    computed = ledger.compute_assessment("property-2025", "2025")
    values = {f["indicator"]: f["value"] for f in computed["units"][unit]["figures"]}
    values[INDICATORS[indicator][0]] += delta
    aggregate_id = assessment_aggregate_id("property-2025", "2025", unit)
    signer = ledger.signer_for("city")
    assert isinstance(signer, SigningKey)
    body = {
        "type": "AssessmentPublished",
        "org": "city",
        "key_id": signer.key_id,
        "aggregate_id": str(aggregate_id),
        "aggregate_version": len(ledger.events(aggregate_id)) + 1,
        "occurred_at": format_time(ledger.clock()),
        "idempotency_key": f"tamper-{next(KEYS)}",
        "data": {
            "scheme_id": "property-2025",
            "scheme_version": 1,
            "period": "2025",
            "unit_kind": "organisation",
            "unit": unit,
            "log_size": computed["log_size"],
            **score_figures(computed["scheme"], values),
        },
    }
    return canonical_json(body), b64encode(signer.sign(SIGNING_CONTEXT + canonical_json(body)))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    operations=st.lists(operation, min_size=8, max_size=40),
    tamper=st.tuples(
        st.sampled_from(("org-a", "org-b")), st.integers(0, 7), st.sampled_from((-7, -1, 1, 13))
    ),
)
def test_recomputed_figures_equal_the_published_and_a_tampered_result_is_flagged(
    operations: list[tuple[Any, ...]], tamper: tuple[str, int, int]
) -> None:
    with Ledger("memory://", keystore=MemoryKeystore()) as ledger:
        history = History(ledger)
        for op in operations:
            history.apply(op)
        ledger.assess("city", scheme_id="property-2025", period="2025", idempotency_key="final")
        report = run_audit(ledger)
        assert report.clean, [f.line() for f in report.findings]
        published = sum(1 for op in operations if op[0] == "assess") + 1
        assert report.assessments_recomputed == published * 2  # org-a and org-b each time
        ledger.submit_signed([tampered_result(ledger, *tamper)])
        flagged = run_audit(ledger)
        assert [f.kind for f in flagged.findings] == ["assessment-mismatch"]
        assert f"property-2025 2025 {tamper[0]}" in flagged.findings[0].message
