"""``ledger demo``: build a realistic demo city in an empty ledger."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from ..demo import build_demo
from .common import add_db_option, open_ledger
from .progress import StageProgress
from .serve import default_public_url


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="fill an empty ledger (or one `ledger init` just made) with a demo city",
        description="Build a deterministic demo city: organisations, volunteers, activities, "
        "hours, awards, credit and certificates. An empty store gets the example identity "
        "(Changzhi); a ledger with nothing but its genesis gets the city under its own root.",
    )
    add_db_option(parser)
    parser.add_argument(
        "--volunteers", type=int, default=300, help="how many volunteers (default 300)"
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="the random seed: the same seed, the same city"
    )
    parser.add_argument(
        "--public-url",
        default=None,
        help="where the demo will be served, named in its certificates' links (default "
        "$LEDGER_PUBLIC_URL, else http://127.0.0.1:8000, where `ledger serve` listens)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    progress = StageProgress(enabled=not args.quiet)
    with open_ledger(args, create=True) as ledger:
        try:
            made = build_demo(
                ledger,
                volunteers=args.volunteers,
                seed=args.seed,
                public_url=args.public_url
                or os.environ.get("LEDGER_PUBLIC_URL")
                or default_public_url("127.0.0.1", 8000),
                progress=progress,
            )
        finally:
            progress.close()
        print(f"demo city built in {args.db} in {time.monotonic() - started:.1f} s")
        for what, count in sorted(made["counts"].items()):
            print(f"  {what:<20} {count}")
        print(f"  {'events logged':<20} {made['log_size']}")
        print("signed checkpoint:")
        print("  " + made["checkpoint"].replace("\n", "\n  ").rstrip())
        print("log verifier key:", *ledger.log.verifier_keys())
    return 0
