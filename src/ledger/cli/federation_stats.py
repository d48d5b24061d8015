"""``ledger federation stats``: the provincial view over the cities' logs.

:func:`register_action` adds the ``stats`` action to the ``ledger federation`` subparsers;
``python -m ledger.cli.federation_stats`` runs the same action on its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import LedgerError
from ..federation.province import ProvinceView, province_stats

TABLE_FIGURES = (
    ("registered_volunteers", "volunteers"),
    ("organisations", "organisations"),
    ("records_approved", "records approved"),
    ("approved_minutes", "approved minutes"),
    ("activities", "activities"),
    ("people_served", "people served"),
)


def register_action(actions: Any) -> argparse.ArgumentParser:
    """Add ``stats`` to the subparsers ``actions`` of ``ledger federation``."""
    stats: argparse.ArgumentParser = actions.add_parser(
        "stats",
        help="verify every city's log and add up the figures of the province",
        description="Follow each city of the province file: verify its checkpoint, read only "
        "the new entries from its tiles, verify each of them, and print each city's figures "
        "and the province's totals.",
    )
    stats.add_argument(
        "--province", type=Path, required=True, help="the province file (cities and anchors)"
    )
    stats.add_argument(
        "--state",
        type=Path,
        required=True,
        help="where the progress per city is kept between runs (JSON; created if missing)",
    )
    stats.add_argument("--json", action="store_true", help="print the figures as JSON")
    stats.add_argument(
        "--workers", type=int, default=1, help="signature-checking processes (default 1)"
    )
    stats.set_defaults(handler=run_stats)
    return stats


def run_stats(args: argparse.Namespace) -> int:
    """Run the action; 0 when every city verified, 1 when one was refused, 2 on bad input."""
    try:
        view = province_stats(args.province, args.state, workers=max(1, args.workers))
    except LedgerError as error:
        print(f"ledger federation stats: {error.message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(view.to_json(), indent=2, ensure_ascii=False))
    else:
        print(render_table(view))
    for city in view.cities:
        if city.error is not None:
            print(f"ledger federation stats: refused {city.error}", file=sys.stderr)
    return 0 if view.ok else 1


def render_table(view: ProvinceView) -> str:
    """Per-city figures and the province's totals, one column each."""
    columns = [c.name for c in view.cities]
    values: list[dict[str, Any] | None] = [c.figures for c in view.cities]
    totals = view.totals
    if totals is not None:
        columns.append("province")
        values.append(totals)
    rows = [["figure", *columns]]
    rows.append(["log size", *[str(c.size) for c in view.cities], *([""] if totals else [])])
    rows.append(
        ["new entries", *[str(c.new_entries) for c in view.cities], *([""] if totals else [])]
    )
    for key, label in TABLE_FIGURES:
        rows.append([label, *[str(v[key]) if v else "refused" for v in values]])
    fields = sorted({f for v in values if v for f in v["minutes_by_field"]})
    for name in fields:
        rows.append(
            [
                f"minutes: {name}",
                *[str(v["minutes_by_field"].get(name, 0)) if v else "-" for v in values],
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    if totals is None:
        lines.append("no province totals: a city was refused (see the errors)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ledger federation")
    register_action(parser.add_subparsers(dest="action", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
