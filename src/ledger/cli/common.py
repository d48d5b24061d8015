"""Options and checks every subcommand shares."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import StorageError
from ..ledger import Ledger
from ..storage.url import DEFAULT_URL_ENV, parse_store_url

DEFAULT_SQLITE = "sqlite:///ledger.db"


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get(DEFAULT_URL_ENV, DEFAULT_SQLITE),
        help=f"store URL (memory://, sqlite:///file.db, postgresql://user@host:port/db); "
        f"default ${DEFAULT_URL_ENV} or {DEFAULT_SQLITE}",
    )


def require_existing_store(url: str) -> None:
    """Refuse a SQLite URL naming no file: a mistyped path must not become an empty ledger.

    Only ``init`` and ``demo`` make a store; every other command reads one that exists.
    """
    store = parse_store_url(url)
    if store.kind == "sqlite" and not Path(str(store.path)).is_file():
        raise StorageError(
            f"no ledger at {url}: the file {store.path} does not exist "
            "(check the path, or create a ledger there with `ledger init`)"
        )


def open_ledger(
    args: argparse.Namespace, *, create: bool = False, read_keys: bool = True
) -> Ledger:
    """The ledger at ``--db``. Unless ``create``, the store must exist and hold a ledger.

    ``read_keys`` follows the stored key events at once, which refuses a store whose key
    events fail verification; the audit opens without it and reports them as findings."""
    if create:
        return Ledger(args.db)
    require_existing_store(args.db)
    ledger = Ledger(args.db)
    if not read_keys:
        return ledger
    try:
        ledger.trust_anchors()  # the store holds a ledger
    except BaseException:
        ledger.close()
        raise
    return ledger
