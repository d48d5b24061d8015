"""``ledger verify FILE``: check a certificate package, a credential or a receipt offline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..certificates import verify_document
from ..errors import LedgerError
from ..log.note import parse_verifier_key
from ..trust_policy import TOFU_WARNING, TrustPolicy


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "verify", help="check a certificate, credential or receipt offline"
    )
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--key", action="append", default=[], help="a trusted log verifier key string (repeatable)"
    )
    parser.add_argument(
        "--trust",
        type=Path,
        default=None,
        help="a trust policy: the trust file (optionally with witnesses and a quorum) "
        "or a tlog-policy file",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        keys = [parse_verifier_key(k) for k in args.key]
        policy = TrustPolicy.load(args.trust) if args.trust is not None else None
        text = args.file.read_text(encoding="utf-8")
    except (LedgerError, OSError, UnicodeDecodeError) as error:
        print(f"ledger verify: could not run: {error}", file=sys.stderr)
        return 2
    if policy is None:
        print(TOFU_WARNING, file=sys.stderr)
    else:
        keys = policy.log_keys
    verdict = verify_document(text, keys, policy.checkpoints if policy else None)
    print(verdict.line())
    if policy is not None:
        print(f"trust: {policy.describe()}")
    return 0 if verdict.valid else 1
