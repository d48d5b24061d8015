"""``ledger apikey create|list|revoke``: API keys with scopes, an expiry, a rate, a last use."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from ..apikeys import create_api_key, list_api_keys, revoke_api_key
from .common import add_db_option, open_ledger


def extend(actions: Any, create: argparse.ArgumentParser) -> None:
    """Add expiry and rate to ``apikey create``, and the ``list`` and ``revoke`` actions."""
    create.add_argument("--expires-days", type=float, help="the key stops working after this")
    create.add_argument("--rate", type=int, help="requests a minute this key may make")
    create.set_defaults(handler=run_create)
    listing = actions.add_parser("list", help="list API keys (no secrets), with their last use")
    add_db_option(listing)
    listing.add_argument("--org", help="only this organisation's keys and those below it")
    listing.set_defaults(handler=run_list)
    revoke = actions.add_parser("revoke", help="revoke an API key by its key id")
    add_db_option(revoke)
    revoke.add_argument("key_id", help="the key's id, as `ledger apikey list` shows it")
    revoke.set_defaults(handler=run_revoke)


def run_create(args: argparse.Namespace) -> int:
    expires = None
    if args.expires_days is not None:
        expires = datetime.now(UTC) + timedelta(days=args.expires_days)
    scopes = [s.strip() for s in args.scopes.split(",")]
    with open_ledger(args) as ledger:
        secret = create_api_key(
            ledger, args.org, scopes, expires=expires, rate_per_minute=args.rate
        )
    print(secret)
    print("store it now: it is shown once and kept only as a hash", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        for record in list_api_keys(ledger, args.org):
            print(json.dumps(record, ensure_ascii=False, sort_keys=True))
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        record = revoke_api_key(ledger, args.key_id)
    print(f"revoked {record['key_id']} of {record['org']} at {record['revoked']}")
    return 0
