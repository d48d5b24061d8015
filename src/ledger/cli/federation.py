"""``ledger federation``: pin peer ledgers, and move a volunteer to or from one of them.

Each action is a function of its own so that more actions can sit beside them. The package a
transfer-out produces is a JSON file handed to the receiving ledger (or served over HTTP); it
holds no personal data.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..federation.anchors import peer_anchors
from . import federation_stats
from .common import add_db_option, open_ledger


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "federation", help="peer ledgers: pin them, move volunteers between them"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    register_add_peer(actions)
    register_transfer_out(actions)
    register_package(actions)
    register_verify(actions)
    register_transfer_in(actions)
    register_check_transfers_in(actions)
    federation_stats.register_action(actions)


def _json_file(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise InvalidInputError(f"cannot read {what} from {path}: {error}") from None


def _write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def register_add_peer(actions: Any) -> None:
    parser = actions.add_parser(
        "add-peer", help="pin a peer ledger's trust anchors and witness policy (root only)"
    )
    add_db_option(parser)
    parser.add_argument(
        "--trust", type=Path, required=True, help="the peer's trust file (ledger init --trust-out)"
    )
    parser.add_argument(
        "--policy",
        type=Path,
        default=None,
        help='the peer\'s witness policy, JSON {"witnesses": [vkey, ...], "quorum": k}',
    )
    parser.set_defaults(handler=add_peer)


def add_peer(args: argparse.Namespace) -> int:
    trust = _json_file(args.trust, "the peer's trust anchors")
    policy = _json_file(args.policy, "the witness policy") if args.policy else None
    anchors = peer_anchors(trust, policy)
    with open_ledger(args) as ledger:
        root = ledger.trust_anchors()["root_org"]
        ledger.add_peer(root, trust=anchors, idempotency_key=f"pin-{anchors['origin']}")
        print(
            f"pinned {anchors['origin']}: root key {anchors['root_key']}, "
            f"{len(anchors['log_verifiers'])} log key(s), witness quorum {anchors['quorum']} of "
            f"{len(anchors['witnesses'])}"
        )
    return 0


def register_transfer_out(actions: Any) -> None:
    parser = actions.add_parser(
        "transfer-out", help="the home organisation moves a volunteer to a pinned peer"
    )
    add_db_option(parser)
    parser.add_argument("--org", required=True, help="the volunteer's home organisation")
    parser.add_argument("--number", required=True, help="the volunteer's number here")
    parser.add_argument("--to", required=True, dest="to_origin", help="the peer's origin")
    parser.add_argument("--out", type=Path, default=None, help="write the package here")
    parser.set_defaults(handler=transfer_out)


def transfer_out(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        result = ledger.transfer_out(
            args.org,
            number=args.number,
            to_origin=args.to_origin,
            idempotency_key=f"transfer-out-{args.number}",
        )
        transfer_id = result.value.transfer_id
        print(f"transfer {transfer_id}: {result.value.approved_minutes} approved minutes")
        if args.out is not None:
            _write_json(args.out, ledger.transfer_package(transfer_id))
            print(f"package written to {args.out}")
    return 0


def register_package(actions: Any) -> None:
    parser = actions.add_parser("package", help="write the package of a transfer-out")
    add_db_option(parser)
    parser.add_argument("--transfer", required=True, help="the transfer id")
    parser.add_argument("--out", type=Path, required=True, help="where to write it")
    parser.set_defaults(handler=write_package)


def write_package(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        _write_json(args.out, ledger.transfer_package(args.transfer))
    print(f"package written to {args.out}")
    return 0


def register_verify(actions: Any) -> None:
    parser = actions.add_parser(
        "verify", help="check a peer's transfer package against the pinned peer; store nothing"
    )
    add_db_option(parser)
    parser.add_argument("--package", type=Path, required=True, help="the package file")
    parser.set_defaults(handler=verify_package)


def verify_package(args: argparse.Namespace) -> int:
    package = _json_file(args.package, "the transfer package")
    with open_ledger(args) as ledger:
        verified = ledger.verify_transfer(package)
    print(
        f"verified: {verified.approved_minutes} minutes in {verified.records} records of "
        f"{verified.origin}, transfer-out at leaf {verified.transfer_out_leaf}, checkpoint of "
        f"{verified.checkpoint_size} leaves"
    )
    return 0


def register_transfer_in(actions: Any) -> None:
    parser = actions.add_parser(
        "transfer-in", help="receive a volunteer: verify the peer's package, carry the minutes"
    )
    add_db_option(parser)
    parser.add_argument("--org", required=True, help="the receiving (home) organisation")
    parser.add_argument("--number", required=True, help="the volunteer's new number here")
    parser.add_argument("--package", type=Path, required=True, help="the package file")
    parser.set_defaults(handler=transfer_in)


def transfer_in(args: argparse.Namespace) -> int:
    package = _json_file(args.package, "the transfer package")
    with open_ledger(args) as ledger:
        verified = ledger.verify_transfer(package)
        result = ledger.transfer_in(
            args.org,
            number=args.number,
            package=package,
            idempotency_key=f"transfer-in-{verified.origin}-{verified.transfer_out_leaf}-{args.number}",
        )
    print(
        f"received {result.value.minutes} minutes ({result.value.records} records) from "
        f"{result.value.peer_origin} into {args.number}"
    )
    return 0


def register_check_transfers_in(actions: Any) -> None:
    parser = actions.add_parser(
        "check-transfers-in",
        help="verify every accepted transfer-in again from the package kept beside it",
    )
    add_db_option(parser)
    parser.set_defaults(handler=check_transfers_in)


def check_transfers_in(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        checked = ledger.check_transfers_in()
    for entry in checked:
        verdict = "ok" if entry["problem"] is None else f"PROBLEM: {entry['problem']}"
        print(
            f"{entry['peer_origin']} leaf {entry['transfer_out_leaf']} -> {entry['number']}: "
            f"{verdict}"
        )
    problems = sum(1 for entry in checked if entry["problem"] is not None)
    print(f"{len(checked)} transfer(s) in checked, {problems} problem(s)")
    return 1 if problems else 0
