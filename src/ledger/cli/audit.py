"""``ledger export`` and ``ledger audit``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..audit import audit, export_bundle, open_source
from ..audit.report import summary
from ..errors import LedgerError
from ..trust_policy import TrustPolicy
from .common import add_db_option, open_ledger, require_existing_store


def register(sub: Any) -> None:
    export: argparse.ArgumentParser = sub.add_parser("export", help="write an audit bundle")
    add_db_option(export)
    export.add_argument(
        "--out", type=Path, required=True, help="the folder to write the bundle into"
    )
    export.add_argument(
        "--upto-checkpoint",
        type=int,
        default=None,
        metavar="SIZE",
        help="export up to this signed checkpoint's size (default: everything)",
    )
    export.add_argument("--quiet", action="store_true", help="no progress bar")
    export.set_defaults(handler=run_export)
    check = sub.add_parser("audit", help="verify a whole ledger or a bundle")
    where = check.add_mutually_exclusive_group()
    where.add_argument("--db", default=None, help="store URL (default $LEDGER_DATABASE_URL)")
    where.add_argument(
        "--bundle", type=Path, default=None, help="audit a bundle `ledger export` wrote"
    )
    check.add_argument("--json", type=Path, default=None, help="also write the report as JSON")
    check.add_argument(
        "--state",
        type=Path,
        default=None,
        help="remember the last verified checkpoint and continue from it",
    )
    check.add_argument(
        "--workers",
        type=_positive,
        default=os.cpu_count() or 1,
        help="processes verifying signatures (default: one per core)",
    )
    check.add_argument(
        "--trust",
        type=Path,
        default=None,
        help="trust policy: the trust file `ledger init` writes, optionally with witnesses "
        "and a quorum",
    )
    check.add_argument("--no-views", action="store_true", help="skip comparing stored views")
    check.add_argument("--quiet", action="store_true", help="no progress bar")
    check.set_defaults(handler=run_audit)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run_export(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        manifest = export_bundle(
            ledger, args.out, upto=args.upto_checkpoint, progress=not args.quiet
        )
    print(f"bundle of {manifest['log_size']} leaves written to {args.out}")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    try:
        policy = TrustPolicy.load(args.trust) if args.trust is not None else None
        if policy is not None and policy.root_key is None:
            raise LedgerError(f"{args.trust} pins no root key; an audit needs the trust file")
        trust = policy.anchors() if policy is not None else None
        if args.bundle is None:
            args.db = args.db or os.environ.get("LEDGER_DATABASE_URL") or "sqlite:///ledger.db"
            require_existing_store(args.db)
        ledger = None if args.bundle is not None else open_ledger(args, read_keys=False)
        try:
            report = audit(
                open_source(ledger, args.bundle),
                trust=trust,
                workers=args.workers,
                state_file=args.state,
                compare_views=not args.no_views,
                progress=not args.quiet,
                witnesses=policy.checkpoints if policy and policy.requires_witnesses else None,
                witnessed_from=policy.witnessed_from if policy is not None else 0,
            )
        finally:
            if ledger is not None:
                ledger.close()
    except Exception as error:
        print(f"ledger audit: could not run: {error}", file=sys.stderr)
        return 2
    print(summary(report))
    if policy is not None:
        print(f"trust policy: {policy.describe()}")
    if args.json is not None:
        args.json.write_text(
            json.dumps(report.to_json(), indent=2, ensure_ascii=False), encoding="utf-8"
        )
    return 0 if report.clean else 1
