"""Assessment schemes, station standards, brand projects and assessment runs."""

from __future__ import annotations

from datetime import date
from typing import Any

from ..assessment.figures import IndicatorAccumulator, project_values, unit_values
from ..assessment.log_reader import feed_from_store
from ..certificates.badges import badge_credential
from ..certificates.credential import sign_credential
from ..context import Context
from ..credentials import as_proof_set
from ..errors import InvalidInputError, KeyNotAuthorisedError, NotFoundError
from ..model.aggregates import Organisation
from ..model.assessments import (
    AssessmentScheme,
    assessment_aggregate_id,
    assessment_scheme_aggregate_id,
    score_figures,
)
from ..model.ids import organisation_aggregate_id
from ..model.projects import BrandProject, project_aggregate_id
from ..model.stations import StationStandard, station_standard_aggregate_id
from ..results import Assessed, HonourRef, NoValue
from ..writer import CommandResult
from .base import CommandHost


class AssessmentCommands(CommandHost):
    def publish_assessment_scheme(
        self, org: str, *, scheme: dict[str, Any], idempotency_key: str
    ) -> CommandResult[NoValue]:
        """Publish version 1 of a scheme owned by ``org``: ``scheme`` holds ``scheme_id``,
        ``name``, ``unit_kind``, ``indicators`` (indicator, weight per-mille, target),
        ``bands`` (band, min_score) and, for station standards, ``checklist`` (item, title)."""
        data = {**scheme, "version": 1}
        return self._emit_one(
            org,
            "AssessmentSchemePublished",
            assessment_scheme_aggregate_id(str(scheme.get("scheme_id"))),
            data,
            idempotency_key=idempotency_key,
        )

    def revise_assessment_scheme(
        self, org: str, *, scheme: dict[str, Any], idempotency_key: str
    ) -> CommandResult[NoValue]:
        """The next version of a scheme; results published earlier keep their version. A retry
        with the same key returns the first revision."""
        aggregate_id = assessment_scheme_aggregate_id(str(scheme.get("scheme_id")))

        def decide(ctx: Context) -> None:
            current = ctx.state(AssessmentScheme, aggregate_id)
            data = {**scheme, "version": current.scheme_version + 1}
            ctx.emit("AssessmentSchemeRevised", aggregate_id, data)

        return self._command(
            org,
            "AssessmentSchemeRevised",
            dict(scheme),
            decide,
            result=NoValue,
            idempotency_key=idempotency_key,
        )

    def assessment_scheme(self, scheme_id: str) -> dict[str, Any]:
        state = self._state(AssessmentScheme, assessment_scheme_aggregate_id(scheme_id))
        assert isinstance(state, AssessmentScheme)
        if not state.exists:
            raise NotFoundError(f"assessment scheme {scheme_id} is not in this ledger")
        return {**state.data, "owner": state.owner}

    def attest_station_item(
        self,
        org: str,
        *,
        station: str,
        scheme_id: str,
        item: str,
        evidence: list[dict[str, Any]],
        attested_on: date,
        idempotency_key: str,
    ) -> CommandResult[NoValue]:
        """Attest that ``station`` meets one checklist item of a scheme, with evidence
        references (``sha256`` of a document kept elsewhere, optional https ``url``)."""
        data = {
            "station": station,
            "scheme_id": scheme_id,
            "item": item,
            "evidence": evidence,
            "attested_on": attested_on.isoformat(),
        }
        return self._emit_one(
            org,
            "StationItemAttested",
            station_standard_aggregate_id(station, scheme_id),
            data,
            idempotency_key=idempotency_key,
        )

    def attest_station_items(
        self,
        org: str,
        *,
        station: str,
        scheme_id: str,
        items: list[dict[str, Any]],
        attested_on: date,
        idempotency_key: str,
    ) -> CommandResult[NoValue]:
        """Several items at once (each ``{"item": ..., "evidence": [...]}``), all or none."""
        aggregate_id = station_standard_aggregate_id(station, scheme_id)
        common = {
            "station": station,
            "scheme_id": scheme_id,
            "attested_on": attested_on.isoformat(),
        }

        def decide(ctx: Context) -> None:
            for entry in items:
                ctx.emit("StationItemAttested", aggregate_id, {**common, **entry})

        params = {**common, "items": items}
        return self._command(
            org,
            "StationItemAttested",
            params,
            decide,
            result=NoValue,
            idempotency_key=idempotency_key,
        )

    def withdraw_station_item(
        self,
        org: str,
        *,
        station: str,
        scheme_id: str,
        item: str,
        reason: str,
        idempotency_key: str,
    ) -> CommandResult[NoValue]:
        data = {"station": station, "scheme_id": scheme_id, "item": item, "reason": reason}
        return self._emit_one(
            org,
            "StationItemWithdrawn",
            station_standard_aggregate_id(station, scheme_id),
            data,
            idempotency_key=idempotency_key,
        )

    def station_standard(self, station: str, scheme_id: str) -> dict[str, Any]:
        state = self._state(StationStandard, station_standard_aggregate_id(station, scheme_id))
        assert isinstance(state, StationStandard)
        scheme = self.assessment_scheme(scheme_id)
        items = [c["item"] for c in scheme.get("checklist", [])]
        return {
            "station": station,
            "scheme_id": scheme_id,
            "items": {item: item in state.items for item in items},
            "met": sum(1 for item in items if item in state.items),
            "of": len(items),
        }

    def register_project(
        self,
        org: str,
        *,
        project_id: str,
        name: str,
        field: str,
        description: str,
        idempotency_key: str,
    ) -> CommandResult[NoValue]:
        data = {"project_id": project_id, "name": name, "field": field, "description": description}
        return self._emit_one(
            org,
            "ProjectRegistered",
            project_aggregate_id(project_id),
            data,
            idempotency_key=idempotency_key,
        )

    def link_project_activity(
        self, org: str, *, project_id: str, activity_id: str, idempotency_key: str
    ) -> CommandResult[NoValue]:
        """Put an activity of ``org`` (or of an organisation below it) into a project."""
        return self._emit_one(
            org,
            "ProjectActivityLinked",
            project_aggregate_id(project_id),
            {"project_id": project_id, "activity_id": activity_id},
            idempotency_key=idempotency_key,
        )

    def nominate_project(
        self,
        org: str,
        *,
        project_id: str,
        nomination: str,
        nominated_on: date,
        idempotency_key: str,
    ) -> CommandResult[NoValue]:
        data = {
            "project_id": project_id,
            "nomination": nomination,
            "nominated_on": nominated_on.isoformat(),
        }
        return self._emit_one(
            org,
            "ProjectNominated",
            project_aggregate_id(project_id),
            data,
            idempotency_key=idempotency_key,
        )

    def commend_project(
        self,
        org: str,
        *,
        project_id: str,
        honour: str,
        citation: str,
        granted_on: date,
        idempotency_key: str,
    ) -> CommandResult[HonourRef]:
        """Grant the project's owner an honour (the honours rules apply) and record on the
        project that it commends it, in one command; ``result.value.honour_id``."""
        project_id_ = project_aggregate_id(project_id)

        def decide(ctx: Context) -> dict[str, Any]:
            project = ctx.existing(BrandProject, project_id_, f"project {project_id}")
            owner_id = organisation_aggregate_id(project.owner)
            honour_id = f"{project.owner}-H{len(ctx.state(Organisation, owner_id).honours) + 1}"
            ctx.emit(
                "OrganisationHonourGranted",
                owner_id,
                {
                    "honour_id": honour_id,
                    "honour": honour,
                    "recipient_kind": "organisation",
                    "recipient": project.owner,
                    "citation": citation,
                    "granted_on": granted_on.isoformat(),
                },
            )
            ctx.emit(
                "ProjectCommended", project_id_, {"project_id": project_id, "honour_id": honour_id}
            )
            return {"honour_id": honour_id}

        params = {
            "project_id": project_id,
            "honour": honour,
            "citation": citation,
            "granted_on": granted_on.isoformat(),
        }
        return self._command(
            org,
            "ProjectCommended",
            params,
            decide,
            result=HonourRef,
            idempotency_key=idempotency_key,
        )

    def project(self, project_id: str) -> dict[str, Any]:
        state = self._state(BrandProject, project_aggregate_id(project_id))
        assert isinstance(state, BrandProject)
        if not state.exists:
            raise NotFoundError(f"project {project_id} is not in this ledger")
        return {
            "project_id": state.project_id,
            "name": state.name,
            "owner": state.owner,
            "activities": list(state.activities),
            "nominations": list(state.nominations),
            "commendations": list(state.commendations),
        }

    def project_figures(self, project_id: str, period: str) -> dict[str, int]:
        """A project's own figures for a year (all project indicators of the catalogue), from
        the verified events of the whole log."""
        project = self.project(project_id)
        acc = IndicatorAccumulator(_year(period))
        feed_from_store(self, acc, self._writer.recorder.log_size(), verify=True)
        return project_values(acc, project["owner"])[project_id]

    def compute_assessment(
        self, scheme_id: str, period: str, *, log_size: int | None = None, verify: bool = True
    ) -> dict[str, Any]:
        """Every unit's figures, score and rating under a scheme's current version, computed
        from the events at leaves ``0 .. log_size - 1`` (default: the whole log now)."""
        scheme = self.assessment_scheme(scheme_id)
        size = self._writer.recorder.log_size() if log_size is None else log_size
        acc = IndicatorAccumulator(_year(period))
        feed_from_store(self, acc, size, verify=verify)
        values = unit_values(acc, scheme_id, scheme, scheme["owner"])
        return {
            "scheme": scheme,
            "log_size": size,
            "units": {unit: score_figures(scheme, v) for unit, v in values.items()},
        }

    def assess(
        self,
        org: str,
        *,
        scheme_id: str,
        period: str,
        idempotency_key: str,
        verify: bool = True,
    ) -> CommandResult[Assessed]:
        """Compute and publish, signed by the scheme's owner ``org``, one ``AssessmentPublished``
        per unit, each committing to its figures and to the log size they were computed at.
        ``value``: ``log_size`` and ``units`` (unit -> score and rating)."""
        computed = self.compute_assessment(scheme_id, period, verify=verify)
        scheme = computed["scheme"]
        if scheme["owner"] != org:
            raise KeyNotAuthorisedError(
                f"scheme {scheme_id} is owned by {scheme['owner']!r}; only it publishes results"
            )

        def decide(ctx: Context) -> dict[str, Any]:
            for unit, result in computed["units"].items():
                ctx.emit(
                    "AssessmentPublished",
                    assessment_aggregate_id(scheme_id, period, unit),
                    {
                        "scheme_id": scheme_id,
                        "scheme_version": scheme["version"],
                        "period": period,
                        "unit_kind": scheme["unit_kind"],
                        "unit": unit,
                        "log_size": computed["log_size"],
                        **result,
                    },
                )
            return {
                "log_size": computed["log_size"],
                "units": {
                    u: {"score": r["score"], "rating": r["rating"]}
                    for u, r in computed["units"].items()
                },
            }

        params = {"scheme_id": scheme_id, "period": period}  # a retry returns the first run
        return self._command(
            org,
            "AssessmentPublished",
            params,
            decide,
            result=Assessed,
            idempotency_key=idempotency_key,
        )

    def assessment_result(self, scheme_id: str, period: str, unit: str) -> dict[str, Any]:
        """A unit's newest published result, with the leaf it was logged at."""
        aggregate_id = assessment_aggregate_id(scheme_id, period, unit)
        events = self.events(aggregate_id)
        if not events:
            raise NotFoundError(f"no result of {scheme_id} for {period} names {unit!r}")
        newest = events[-1]
        return {
            **newest.data,
            "occurred_at": newest.occurred_at,
            "leaf_index": newest.leaf_index,
            "aggregate_id": str(aggregate_id),
            "version": newest.originator_version,
        }

    def assessment_badge(self, scheme_id: str, period: str, unit: str) -> dict[str, Any]:
        """An Open Badges 3.0 credential for a unit's newest rating, signed by the scheme's
        owner (whose key the keystore must hold); a unit rated ``unrated`` has none."""
        published = self.assessment_result(scheme_id, period, unit)
        if published["rating"] == "unrated":
            raise NotFoundError(f"{unit!r} holds no rating of {scheme_id} for {period}")
        scheme = self.assessment_scheme(scheme_id)
        if scheme["version"] != published["scheme_version"]:
            scheme = self._scheme_version(scheme_id, published["scheme_version"])
        badge: dict[str, Any] = _rating_badge(self, published, scheme)
        return badge

    def _scheme_version(self, scheme_id: str, version: int) -> dict[str, Any]:
        for event in self.events(assessment_scheme_aggregate_id(scheme_id)):
            if event.data["version"] == version:
                return {**event.data, "owner": event.org}
        raise NotFoundError(f"version {version} of scheme {scheme_id} is not in this ledger")

    def assessment_ranking(self, scheme_id: str, period: str) -> list[dict[str, Any]]:
        """Each unit's newest result of a scheme and period, best score first (ties by unit);
        empty for a period without results, not found for an unknown scheme."""
        self.assessment_scheme(scheme_id)
        newest: dict[str, dict[str, Any]] = {}
        for event in self.events_of_types("AssessmentPublished"):
            data = event.data
            if data["scheme_id"] == scheme_id and data["period"] == period:
                newest[data["unit"]] = {**data, "leaf_index": event.leaf_index}
        ranked = sorted(newest.values(), key=lambda r: (-r["score"], r["unit"]))
        return [{"rank": i + 1, **r} for i, r in enumerate(ranked)]


def _rating_badge(host: CommandHost, published: dict[str, Any], scheme: dict[str, Any]) -> Any:
    owner = scheme["owner"]
    signer = host.signer_for(owner)
    unit, period, rating = published["unit"], published["period"], published["rating"]
    band = next(b for b in scheme["bands"] if b["band"] == rating)
    unsigned = badge_credential(
        badge_id=f"{unit}:{published['scheme_id']}:{period}:{rating}",
        name=f"{scheme['name']} {period}: {rating}",
        description=f"{unit} is rated {rating} under {published['scheme_id']} "
        f"version {published['scheme_version']} for {period}, with a score of "
        f"{published['score']} of 1000",
        criteria=f"a score of at least {band['min_score']} of 1000, computed from the signed "
        f"records of the first {published['log_size']} leaves of the ledger's log "
        f"(the result is logged at leaf {published['leaf_index']})",
        issuer_name=host._directory.organisation(owner).name,
        issuer_key=signer.public_key,
        number=unit,
        awarded_at=published["occurred_at"],
        achievement_type="Award",
        status_list_url=None,
    )
    return as_proof_set(sign_credential(unsigned, signer, published["occurred_at"]))


def _year(period: str) -> str:
    if not (len(period) == 4 and period.isdigit()):
        raise InvalidInputError(f"period {period!r} is not a year such as 2025")
    return period
