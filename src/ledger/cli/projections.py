"""``ledger projections rebuild|digest`` and ``ledger project``: keep and check the views."""

from __future__ import annotations

import argparse
from typing import Any

from ..audit.progress import Progress
from ..projections import VIEWS
from .common import add_db_option, open_ledger
from .supervision import die_with_supervisor


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("projections", help="the SQL views")
    actions = parser.add_subparsers(dest="action", required=True)
    rebuild = actions.add_parser("rebuild", help="drop views and apply every event again")
    _common(rebuild)
    rebuild.add_argument(
        "--view",
        action="append",
        choices=sorted(VIEWS),
        help="a view to rebuild (repeatable); default all",
    )
    rebuild.set_defaults(handler=run_rebuild)
    digest = actions.add_parser("digest", help="print a digest of each view's content")
    _common(digest)
    digest.set_defaults(handler=run_digest)
    project = sub.add_parser("project", help="keep the views up to date until stopped")
    _common(project)
    project.add_argument(
        "--interval", type=float, default=0.5, help="seconds between polls (default 0.5)"
    )
    project.set_defaults(handler=run_project)


def _common(parser: argparse.ArgumentParser) -> None:
    add_db_option(parser)
    parser.add_argument(
        "--views-db",
        default=None,
        help="keep the views in another database (default: the ledger's own)",
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="apply stored bodies without checking signatures (faster)",
    )


def run_rebuild(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        views = ledger.projections(args.views_db, verify=not args.no_verify)
        bar = Progress(ledger.last_position(), "rebuild")
        views.rebuild(args.view, progress=bar.advance)
        bar.close()
        for name, digest in views.digest().items():
            print(f"{name:<14} {digest}")
        views.close()
    return 0


def run_digest(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        views = ledger.projections(args.views_db, verify=not args.no_verify)
        views.catch_up()
        print(f"position       {views.position()}")
        for name, digest in views.digest().items():
            print(f"{name:<14} {digest}")
        views.close()
    return 0


def run_project(args: argparse.Namespace) -> int:
    die_with_supervisor()  # started by `ledger serve --workers N`: die with it
    with open_ledger(args) as ledger:
        views = ledger.projections(args.views_db, verify=not args.no_verify)
        print(f"keeping views of {args.db} up to date; Ctrl-C to stop", flush=True)
        try:
            views.run_forever(args.interval)
        except KeyboardInterrupt:
            pass
        finally:
            views.close()
    return 0
