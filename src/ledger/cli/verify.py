"""``ledger verify FILE``: check a certificate package, a credential or a receipt offline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..certificates import verify_document
from ..errors import LedgerError
from ..log.note import parse_verifier_key


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "verify", help="check a certificate, credential or receipt offline"
    )
    parser.add_argument(
        "file", type=Path, help="a certificate package, credential or tlog-proof receipt"
    )
    parser.add_argument(
        "--key", action="append", default=[], help="a trusted log verifier key string (repeatable)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        keys = [parse_verifier_key(k) for k in args.key]
        text = args.file.read_text(encoding="utf-8")
    except (LedgerError, OSError, UnicodeDecodeError) as error:
        print(f"ledger verify: could not run: {error}", file=sys.stderr)
        return 2
    verdict = verify_document(text, keys)
    print(verdict.line())
    return 0 if verdict.valid else 1
