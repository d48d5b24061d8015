"""``ledger init``: create a ledger once, with its root authority, root key and log key.

The identity (name, root authority, region, log origin) is signed into the genesis event and
can never change, so it is never invented: it comes from the options, or from questions asked
on a terminal. The demo city's example identity belongs to ``ledger demo`` alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..model.calendar import is_time_zone
from .common import add_db_option, open_ledger

DEMO_ORIGIN = "volunteer.changzhi.example/ledger"

# (option, attribute, question, example shown in the help)
IDENTITY = (
    ("--name", "name", "Ledger name", "Changzhi volunteer service ledger"),
    ("--root-org", "root_org", "Root authority id", "changzhi"),
    ("--root-name", "root_name", "Root authority name", "Changzhi Volunteer Federation"),
    ("--region", "region", "Administrative region code", "140400"),
    ("--origin", "origin", "Log origin (public URL without scheme)", "volunteer.example.cn/ledger"),
)
HELP = {
    "name": "the ledger's name, signed into its first event (e.g. %s)",
    "root_org": "the root authority's id: lowercase letters, digits, '.' and '-' (e.g. %s)",
    "root_name": "the root authority's full name (e.g. %s)",
    "region": "the root authority's administrative region code, digits (e.g. %s)",
    "origin": "the log's origin line: where the ledger is served, without https:// (e.g. %s)",
}


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "init",
        help="create a ledger with its root authority and keys",
        description="Create a ledger once. Its identity cannot be changed later: give every "
        "option, or run on a terminal to be asked. `ledger demo` builds an example city instead.",
    )
    add_db_option(parser)
    for option, dest, _, example in IDENTITY:
        parser.add_argument(option, dest=dest, default=None, help=HELP[dest] % example)
    parser.add_argument(
        "--time-zone",
        default=None,
        help="the IANA time zone in which service dates and the 10-working-day rule are judged "
        "(e.g. Asia/Shanghai); published as calendar version 1. Default: UTC until a calendar "
        "is published",
    )
    parser.add_argument(
        "--trust-out",
        type=Path,
        default=Path("ledger-trust.json"),
        help="where to write the public trust anchors (publish this file)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    identity = gather_identity(args, ask=input if sys.stdin.isatty() else None)
    if args.time_zone is not None and not is_time_zone(args.time_zone):
        raise InvalidInputError(f"unknown time zone {args.time_zone!r}; use an IANA name")
    with open_ledger(args, create=True) as ledger:
        anchors = ledger.create(
            name=identity["name"],
            root_org_id=identity["root_org_id"],
            root_name=identity["root_name"],
            region=identity["region"],
            origin=identity["origin"],
        )
        if args.time_zone is not None:
            ledger.publish_calendar(
                identity["root_org_id"],
                time_zone=args.time_zone,
                holidays=[],
                working_days=[],
                idempotency_key="init-calendar",
            )
        write_trust_file(args.trust_out, anchors)
        print(f"created ledger {anchors['ledger']!r} in {args.db}")
        if args.time_zone is not None:
            print(f"  time zone      : {args.time_zone} (calendar version 1)")
        print_anchors(anchors)
        print(f"trust anchors written to {args.trust_out}; publish them")
    return 0


def gather_identity(args: argparse.Namespace, ask: Callable[[str], str] | None) -> dict[str, str]:
    """The identity from the options, asking for what is missing when ``ask`` is given."""
    values: dict[str, str] = {}
    missing = []
    for option, dest, question, _ in IDENTITY:
        value = getattr(args, dest)
        if value is None and ask is not None:
            value = ask(f"{question}: ").strip() or None
        if value is None:
            missing.append(option)
        else:
            values[dest] = value.strip()
    if missing:
        raise InvalidInputError(
            "a ledger's identity is signed once and for good, so none is invented: give "
            + ", ".join(missing)
            + " (or run on a terminal to be asked); `ledger demo` builds an example city"
        )
    _check_origin(values["origin"])
    return {
        "name": values["name"],
        "root_org_id": values["root_org"],
        "root_name": values["root_name"],
        "region": values["region"],
        "origin": values["origin"],
    }


def _check_origin(origin: str) -> None:
    if origin == DEMO_ORIGIN:
        raise InvalidInputError(
            f"{DEMO_ORIGIN} is the demo city's example origin; give your ledger's own "
            "(or build the example with `ledger demo`)"
        )
    if "://" in origin or any(c.isspace() for c in origin) or "." not in origin.split("/")[0]:
        raise InvalidInputError(
            f"bad origin {origin!r}: write the public host and path without a scheme, "
            "e.g. volunteer.example.cn/ledger"
        )


def write_trust_file(path: Path, anchors: dict[str, Any]) -> None:
    path.write_text(json.dumps(anchors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def print_anchors(anchors: dict[str, Any]) -> None:
    print(f"  root authority : {anchors['root_org']}")
    print(f"  root key       : {anchors['root_key_id']}  {anchors['root_key']}")
    for key_id, key in anchors["log_keys"].items():
        print(f"  log key        : {key_id}  {key}")
    for verifier in anchors.get("log_verifiers", []):
        print(f"  log verifier   : {verifier}")
