"""The audit's human summary."""

from __future__ import annotations

from .auditor import AuditReport
from .findings import FINDING_KINDS

SHOWN_PER_KIND = 20


def summary(report: AuditReport) -> str:
    lines = [f"audit of {report.source}", ""]
    lines.append(("!! " if "NO TRUST" in report.trust else "") + report.trust)
    lines += [f"   {name}: {value}" for name, value in report.fingerprints.items()]
    rate = report.events_checked / report.seconds if report.seconds else 0
    lines += [
        "",
        f"leaves replayed      {report.leaves - report.first_leaf} "
        f"(from leaf {report.first_leaf}; log size {report.leaves})",
        f"events checked       {report.events_checked} in {report.seconds:.1f} s "
        f"({rate:,.0f} events/s)",
        f"checkpoints matched  {report.checkpoints_verified}",
        *(
            []
            if report.checkpoints_witnessed is None
            else [f"witnessed (quorum)   {report.checkpoints_witnessed}"]
        ),
        f"views                {report.views}",
        f"assessment results   {report.assessments_recomputed} recomputed",
        f"replay               {report.incremental}",
        "checked: every leaf hash and checkpoint root, every signature against the key valid "
        "for that organisation and action at that point, log order, versions and times, the "
        "domain's rules re-applied, time-bank balances and star levels, the stored views.",
        "",
    ]
    if report.clean:
        lines.append("RESULT: clean, no findings")
        return "\n".join(lines)
    by_kind: dict[str, list[str]] = {}
    for finding in report.findings:
        by_kind.setdefault(finding.kind, []).append(finding.line())
    lines.append(f"RESULT: {len(report.findings)} findings")
    for kind in [k for k in FINDING_KINDS if k in by_kind] + sorted(
        set(by_kind) - set(FINDING_KINDS)
    ):
        found = by_kind[kind]
        lines += ["", f"{kind} ({len(found)}): {FINDING_KINDS.get(kind, '')}"]
        lines += [f"  {line}" for line in found[:SHOWN_PER_KIND]]
        if len(found) > SHOWN_PER_KIND:
            lines.append(f"  ... and {len(found) - SHOWN_PER_KIND} more (see --json)")
    return "\n".join(lines)
