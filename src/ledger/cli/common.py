"""Options every subcommand shares."""

from __future__ import annotations

import argparse
import os

from ..ledger import Ledger
from ..storage.url import DEFAULT_URL_ENV

DEFAULT_SQLITE = "sqlite:///ledger.db"


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get(DEFAULT_URL_ENV, DEFAULT_SQLITE),
        help=f"store URL (memory://, sqlite:///file.db, postgresql://user@host:port/db); "
        f"default ${DEFAULT_URL_ENV} or {DEFAULT_SQLITE}",
    )


def open_ledger(args: argparse.Namespace) -> Ledger:
    return Ledger(args.db)
