"""``ledger serve``: the HTTP API under uvicorn; ``ledger apikey create``: API keys."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..apikeys import create_api_key
from ..storage.url import parse_store_url
from . import apikeys
from .common import add_db_option, open_ledger
from .progress import StageProgress
from .supervision import SUPERVISOR_ENV

DEFAULT_SERVE_DB = "sqlite:///ledger.db"


def register(sub: Any) -> None:
    serve: argparse.ArgumentParser = sub.add_parser("serve", help="serve the HTTP API")
    add_db_option(serve)
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (default 1); with more, one extra process keeps the views",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="fill an empty ledger with demo data first and print a demo API key",
    )
    serve.add_argument("--volunteers", type=int, default=300, help="demo size")
    serve.add_argument(
        "--read-db",
        action="append",
        default=[],
        metavar="URL",
        help="a PostgreSQL hot standby of --db to serve reads from (repeatable)",
    )
    serve.set_defaults(handler=run_serve)
    apikey = sub.add_parser("apikey", help="API keys")
    actions = apikey.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create an API key (shown once)")
    add_db_option(create)
    create.add_argument("--org", required=True, help="the organisation the key acts for")
    create.add_argument(
        "--scopes",
        required=True,
        help="comma-separated: "
        "register,record,approve,award,timebank,keys,private,read,erase,admin",
    )
    create.set_defaults(handler=run_apikey)
    apikeys.extend(actions, create)


def run_apikey(args: argparse.Namespace) -> int:
    with open_ledger(args) as ledger:
        secret = create_api_key(ledger, args.org, [s.strip() for s in args.scopes.split(",")])
    print(secret)
    print("store it now: it is shown once and kept only as a hash", file=sys.stderr)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    public = os.environ.get("LEDGER_PUBLIC_URL") or default_public_url(args.host, args.port)
    for url in args.read_db:  # a mistyped standby is an error now, like a mistyped store
        parse_store_url(url).as_read_only()
    if args.demo:
        _fill_demo(args, public)
    else:
        open_ledger(args).close()  # a mistyped store is an error now, not a blank server later
    env = {"LEDGER_DATABASE_URL": args.db, "LEDGER_PUBLIC_URL": public}
    if args.read_db:
        env["LEDGER_READ_DATABASE_URLS"] = " ".join(args.read_db)
    if args.demo:
        env["LEDGER_ALLOW_LOCAL_LINKS"] = "true"
    runner = None
    factory = "ledger_api.app:create_app_from_env"
    if args.workers > 1:
        # Workers and the views process die with this process, SIGKILL included.
        env[SUPERVISOR_ENV] = str(os.getpid())
        factory = "ledger.cli.supervision:create_supervised_app"
        env["LEDGER_RUN_PROJECTIONS"] = "false"
        runner = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "project", "--db", args.db],
            env={**os.environ, **env},
        )
    os.environ.update(env)
    base = f"http://{args.host}:{args.port}"
    print(
        f"serving {args.db} at {base}  (docs: {base}/docs, log: {base}/log/checkpoint)", flush=True
    )
    from ledger_api.server import serve

    try:
        status: int = serve(factory, args.host, args.port, args.workers, log_level="warning")
    finally:
        if runner is not None:
            runner.terminate()
            runner.wait(timeout=10)
    return status


def default_public_url(host: str, port: int) -> str:
    """Without LEDGER_PUBLIC_URL, links name the address served; a wildcard bind address
    names no host, so links then use loopback (accepted for a demo only)."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _fill_demo(args: argparse.Namespace, public_url: str) -> None:
    from ..demo import build_demo

    with open_ledger(args, create=True) as ledger:
        if ledger.log_size() == 0:
            progress = StageProgress()
            try:
                made = build_demo(
                    ledger, volunteers=args.volunteers, public_url=public_url, progress=progress
                )
            finally:
                progress.close()
            print(f"demo city built: {made['log_size']} events")
        root = ledger.trust_anchors()["root_org"]
        secret = create_api_key(
            ledger,
            root,
            ["register", "record", "approve", "award", "timebank", "keys", "private", "read"],
        )
        record = ledger.events_of_types("HoursRecorded")
        sample = next(record, None)
        base = f"http://{args.host}:{args.port}"
        Path("demo-api-key.txt").write_text(secret + "\n", encoding="utf-8")
        print(f"demo API key for {root!r} (also in demo-api-key.txt): {secret}")
        certificates = [
            e.data["certificate_number"] for e in ledger.events_of_types("CertificateIssued")
        ]
        if certificates:
            print(f"a certificate's page:   {base}/verify/{certificates[0]}")
        if len(certificates) > 1:
            print(f"a revoked one's page:   {base}/verify/{certificates[-1]}")
        print(f"a unit assessment page: {base}/assessment-pages/changzhi-units-2025/2025/luzhou")
        print(f"a ranking of stations:  {base}/assessment-pages/changzhi-stations-2025/2025")
        if sample is not None:
            print(f"a sample record:        {base}/records/{sample.data['record_id']}")
            print(f"its event and proof:    {base}/leaves/{sample.leaf_index}")
            print(f"its receipt:            {base}/receipts/{sample.leaf_index}")
