"""The ``ledger`` command line. Each subcommand lives in a module of its own."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import LedgerError
from . import (
    assess,
    audit,
    demo,
    federation,
    init,
    log,
    privacy,
    projections,
    serve,
    verify,
    witness,
)

COMMANDS = (
    init,
    demo,
    log,
    projections,
    serve,
    audit,
    verify,
    privacy,
    witness,
    assess,
    federation,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledger", description="The service-hour ledger: signed, logged volunteer hours."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except LedgerError as error:
        print(f"ledger {args.command}: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
