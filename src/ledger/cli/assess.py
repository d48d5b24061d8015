"""``ledger assess``: compute a scheme's figures for a year and publish the signed results."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .common import add_db_option, open_ledger


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "assess", help="assess every unit of a scheme for a year and publish the results"
    )
    add_db_option(parser)
    parser.add_argument("--scheme", required=True, help="the assessment scheme's id")
    parser.add_argument("--period", required=True, help="the year, such as 2025")
    parser.add_argument(
        "--dry-run", action="store_true", help="compute and print; sign and store nothing"
    )
    parser.add_argument(
        "--idempotency-key", default=None, help="default: assess/SCHEME/PERIOD/LOG-SIZE"
    )
    parser.set_defaults(handler=run_assess)


def run_assess(args: argparse.Namespace) -> int:
    """Signed by the scheme owner's key from the keystore: run it where that key is kept."""
    with open_ledger(args) as ledger:
        if args.dry_run:
            computed = ledger.compute_assessment(args.scheme, args.period)
            size = computed["log_size"]
            units = {
                u: {"score": r["score"], "rating": r["rating"]}
                for u, r in computed["units"].items()
            }
        else:
            owner = ledger.assessment_scheme(args.scheme)["owner"]
            key = args.idempotency_key or f"assess/{args.scheme}/{args.period}/{ledger.log_size()}"
            result = ledger.assess(
                owner, scheme_id=args.scheme, period=args.period, idempotency_key=key
            )
            size, units = result.value.log_size, result.value.to_json()["units"]
        out = {
            "scheme_id": args.scheme,
            "period": args.period,
            "log_size": size,
            "published": not args.dry_run,
            "units": units,
        }
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    return 0
