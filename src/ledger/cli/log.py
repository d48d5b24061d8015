"""``ledger log``: checkpoints, proofs and receipts from the command line."""

from __future__ import annotations

import argparse
import base64
import sys
from typing import Any

from .common import add_db_option, open_ledger


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("log", help="the transparency log")
    actions = parser.add_subparsers(dest="action", required=True)
    checkpoint = actions.add_parser("checkpoint", help="sign and print a checkpoint now")
    add_db_option(checkpoint)
    checkpoint.set_defaults(handler=sign_checkpoint)
    latest = actions.add_parser("latest", help="print the newest signed checkpoint")
    add_db_option(latest)
    latest.set_defaults(handler=print_latest)
    key = actions.add_parser("key", help="print the log's verifier key string(s)")
    add_db_option(key)
    key.set_defaults(handler=print_key)
    receipt = actions.add_parser("receipt", help="print a tlog-proof receipt for a leaf")
    add_db_option(receipt)
    receipt.add_argument("leaf_index", type=int, help="the leaf's index in the log")
    receipt.set_defaults(handler=print_receipt)
    consistency = actions.add_parser("consistency", help="print a consistency proof")
    add_db_option(consistency)
    consistency.add_argument("old_size", type=int, help="the older tree's size")
    consistency.add_argument("new_size", type=int, help="the newer tree's size")
    consistency.set_defaults(handler=print_consistency)


def sign_checkpoint(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        sys.stdout.write(ledger.log.settled(ledger.log.sign_checkpoint()))
    return 0


def print_latest(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        note = ledger.log.latest()
        if note is None:
            print("no checkpoint has been signed yet", file=sys.stderr)
            return 1
        sys.stdout.write(note)
    return 0


def print_key(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        for key in ledger.log.verifier_keys():
            print(key)
    return 0


def print_receipt(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        sys.stdout.write(ledger.log.receipt(args.leaf_index))
    return 0


def print_consistency(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        for digest in ledger.log.consistency_proof(args.old_size, args.new_size):
            print(base64.b64encode(digest).decode("ascii"))
    return 0
