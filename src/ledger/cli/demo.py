"""``ledger demo``: build a realistic demo city in an empty ledger."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..demo import build_demo
from .common import add_db_option, open_ledger


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo", help="fill an empty ledger with a deterministic demo city"
    )
    add_db_option(parser)
    parser.add_argument("--volunteers", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    with open_ledger(args) as ledger:
        made = build_demo(ledger, volunteers=args.volunteers, seed=args.seed)
        print(f"demo city built in {args.db} in {time.monotonic() - started:.1f} s")
        for what, count in sorted(made["counts"].items()):
            print(f"  {what:<20} {count}")
        print(f"  {'events logged':<20} {made['log_size']}")
        print("signed checkpoint:")
        print("  " + made["checkpoint"].replace("\n", "\n  ").rstrip())
        print("log verifier key:", *ledger.log.verifier_keys())
    return 0
