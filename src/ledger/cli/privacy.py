"""``ledger privacy``: erase a volunteer's personal data, and scan a store for any that is
still readable."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..privacy.scan import scan
from .common import add_db_option, open_ledger


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("privacy", help="personal data: erase, scan")
    actions = parser.add_subparsers(dest="action", required=True)
    erase = actions.add_parser(
        "erase", help="erase a volunteer's personal data for good (a signed event records it)"
    )
    add_db_option(erase)
    erase.add_argument("number", help="the volunteer number")
    erase.add_argument("--org", help="the organisation that signs the erasure (default: root)")
    erase.set_defaults(handler=erase_personal_data)
    migrate = actions.add_parser(
        "migrate", help="seal personal data stored before the keyring existed"
    )
    add_db_option(migrate)
    migrate.set_defaults(handler=migrate_legacy)
    check = actions.add_parser(
        "scan", help="report any erased personal data still readable anywhere in the store"
    )
    add_db_option(check)
    check.add_argument("--wal", action="store_true", help="PostgreSQL: read the WAL too")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(handler=scan_store)


def erase_personal_data(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        done = ledger.erase_personal_data(args.number, org=args.org)
    state = "was already erased" if done["already_erased"] else "erased"
    print(
        f"volunteer {done['number']}: personal data {state} (signed by {done['erased_by']} "
        f"at {done['erased_at']}, log leaf {done['leaf_index']}; "
        f"{done['keys_rewrapped']} other data keys re-wrapped)"
    )
    return 0


def migrate_legacy(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        moved = ledger.personal_data.migrate_legacy()
    print(f"{moved} volunteers' personal data and named credentials sealed under the keyring")
    return 0


def scan_store(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        report = scan(ledger, wal=args.wal)
    if args.json:
        json.dump(
            {
                "clean": report.clean,
                "sources": report.sources,
                "keys_held": report.keys_held,
                "wrapped_keys": report.wrapped_keys,
                "sealed_blobs": report.sealed_blobs,
                "erased": sorted(report.erased),
                "unfinished_shards": report.unfinished_shards,
                "findings": [{"number": f.number, "what": f.what} for f in report.findings],
            },
            sys.stdout,
            indent=2,
        )
        print()
    else:
        print("\n".join(report.lines()))
    return 0 if report.clean else 1
