"""The audit's recomputation of published assessment results.

While the replay checks every leaf, :class:`AssessmentResults` notes each ``AssessmentPublished``
it passes (a cheap topic comparison). Afterwards, if there were any, one more pass over the
source's leaves feeds the same :class:`IndicatorAccumulator` the write path uses and, exactly at
each log size a result committed to, recomputes that scheme's figures and compares them with
what was signed. A result that differs, or that commits to a log it could not have seen, is an
``assessment-mismatch`` finding. The replay has already checked each leaf's hash and signature,
so this pass only parses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..assessment.figures import IndicatorAccumulator, unit_values
from ..canonical import parse_json
from ..envelope import TOPIC_PREFIX
from ..errors import LedgerError
from ..model.assessments import check_scheme_content, score_figures
from ..model.registry import spec_for
from .findings import Finding
from .sources import Leaf, Source

RESULT_TOPIC = TOPIC_PREFIX + "AssessmentPublished"
SCHEME_TYPES = ("AssessmentSchemePublished", "AssessmentSchemeRevised")


@dataclass(frozen=True)
class PublishedResult:
    leaf_index: int
    where: str
    data: dict[str, Any]


class AssessmentResults:
    def __init__(self) -> None:
        self.published: list[PublishedResult] = []

    def see(self, leaf: Leaf) -> None:
        """Note a result the replay passes (its checks of the leaf are the replay's)."""
        if leaf.topic != RESULT_TOPIC or leaf.state is None:
            return
        try:
            data = parse_json(leaf.state)["body"]["data"]
            spec_for("AssessmentPublished").parse(data)
        except (ValueError, KeyError, TypeError, LedgerError):
            return  # the replay reports a result that breaks the schema
        where = f"{leaf.aggregate_id} v{leaf.version}"
        self.published.append(PublishedResult(leaf.index, where, data))

    def recheck(self, source: Source, report: Callable[[Finding], None]) -> int:
        """Recompute every noted result; the number recomputed."""
        pending = sorted(self.published, key=lambda r: r.data["log_size"])
        for result in [r for r in pending if r.data["log_size"] > r.leaf_index]:
            report(
                Finding(
                    "assessment-mismatch",
                    f"commits to a log of {result.data['log_size']} leaves but was logged at "
                    f"leaf {result.leaf_index}",
                    result.leaf_index,
                    result.where,
                )
            )
            pending.remove(result)
        if not pending:
            return 0
        return _Recomputation(pending, report).run(source)


class _Recomputation:
    def __init__(self, pending: list[PublishedResult], report: Callable[[Finding], None]) -> None:
        self.pending = pending
        self.report = report
        self.accumulators = {
            p: IndicatorAccumulator(p) for p in {r.data["period"] for r in pending}
        }
        self.schemes: dict[tuple[str, int], tuple[dict[str, Any], str]] = {}
        self.owners: dict[str, str] = {}
        self.tables: dict[tuple[str, int, str, int], dict[str, dict[str, int]]] = {}
        self.checked = 0

    def run(self, source: Source) -> int:
        last = self.pending[-1].data["log_size"]
        for leaf in source.leaves(0):
            self._due(leaf.index)
            if leaf.index >= last:
                break
            if leaf.state is not None:
                self._feed(leaf.state)
        self._due(last)
        return self.checked

    def _feed(self, state: bytes) -> None:
        try:
            body = parse_json(state)["body"]
            kind, org, data = body["type"], body["org"], body["data"]
            if kind in SCHEME_TYPES:
                check_scheme_content(spec_for(kind).parse(data))  # type: ignore[arg-type]
                owner = self.owners.setdefault(data["scheme_id"], org)
                self.schemes[(data["scheme_id"], data["version"])] = (data, owner)
            for acc in self.accumulators.values():
                acc.add(kind, org, data, body["occurred_at"])
        except (ValueError, KeyError, TypeError, AttributeError, LedgerError):
            return  # the replay has reported a malformed or refused event already

    def _due(self, size: int) -> None:
        while self.pending and self.pending[0].data["log_size"] <= size:
            self._compare(self.pending.pop(0))

    def _compare(self, result: PublishedResult) -> None:
        self.checked += 1
        try:
            self._recompute(result)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            self._mismatch(result, f"cannot be recomputed ({type(error).__name__}: {error})")

    def _recompute(self, result: PublishedResult) -> None:
        data = result.data
        found = self.schemes.get((data["scheme_id"], data["scheme_version"]))
        if found is None:
            self._mismatch(result, "its scheme version was not in the log it commits to")
            return
        scheme, owner = found
        key = (data["scheme_id"], data["scheme_version"], data["period"], data["log_size"])
        table = self.tables.get(key)
        if table is None:
            acc = self.accumulators[data["period"]]
            table = unit_values(acc, data["scheme_id"], scheme, owner)
            self.tables = {key: table}  # results of one run share one log size
        values = table.get(data["unit"])
        if values is None:
            self._mismatch(result, f"{data['unit']!r} is not a unit of the scheme at that size")
            return
        expected = score_figures(scheme, values)
        published = {k: data.get(k) for k in ("figures", "score", "rating")}
        if published != expected:
            differing = [
                f"{e['indicator']} published {p.get('value')} recomputed {e['value']}"
                for p, e in zip(published["figures"] or [], expected["figures"], strict=False)
                if p != e
            ]
            self._mismatch(
                result,
                f"published score {data.get('score')} ({data.get('rating')}), recomputed "
                f"{expected['score']} ({expected['rating']}); " + "; ".join(differing),
            )

    def _mismatch(self, result: PublishedResult, why: str) -> None:
        data = result.data
        self.report(
            Finding(
                "assessment-mismatch",
                f"{data.get('scheme_id')} {data.get('period')} {data.get('unit')} at log size "
                f"{data.get('log_size')}: {why}",
                result.leaf_index,
                result.where,
            )
        )
