"""``ledger init``: create a ledger once, with its root authority, root key and log key."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .common import add_db_option, open_ledger


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "init", help="create a ledger with its root authority and keys"
    )
    add_db_option(parser)
    parser.add_argument("--name", default="Changzhi volunteer service ledger")
    parser.add_argument("--root-org", default="changzhi", help="the root federation's id")
    parser.add_argument("--root-name", default="Changzhi Volunteer Federation")
    parser.add_argument("--region", default="140400", help="administrative region code")
    parser.add_argument(
        "--origin",
        default="volunteer.changzhi.example/ledger",
        help="the log's origin line (a scheme-less URL)",
    )
    parser.add_argument(
        "--trust-out",
        type=Path,
        default=Path("ledger-trust.json"),
        help="where to write the public trust anchors (publish this file)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        anchors = ledger.create(
            name=args.name,
            root_org_id=args.root_org,
            root_name=args.root_name,
            region=args.region,
            origin=args.origin,
        )
        write_trust_file(args.trust_out, anchors)
        print(f"created ledger {anchors['ledger']!r} in {args.db}")
        print_anchors(anchors)
        print(f"trust anchors written to {args.trust_out}; publish them")
    return 0


def write_trust_file(path: Path, anchors: dict[str, Any]) -> None:
    path.write_text(json.dumps(anchors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def print_anchors(anchors: dict[str, Any]) -> None:
    print(f"  root authority : {anchors['root_org']}")
    print(f"  root key       : {anchors['root_key_id']}  {anchors['root_key']}")
    for key_id, key in anchors["log_keys"].items():
        print(f"  log key        : {key_id}  {key}")
    for verifier in anchors.get("log_verifiers", []):
        print(f"  log verifier   : {verifier}")
