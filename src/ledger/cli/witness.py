"""``ledger witness``: run a transparency log witness (c2sp.org/tlog-witness).

``ledger witness key`` creates the witness key (once) and prints its cosigner vkey, the line
the logs and verifiers who rely on this witness put in their configuration and policies.
``ledger witness serve`` answers ``POST /add-checkpoint`` for the logs given with ``--log``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..log.cosignature import cosigner_key_string
from ..log.note import NoteVerifier, is_valid_key_name, parse_verifier_key
from ..signing import SigningKey

PASSPHRASE_ENV = "LEDGER_WITNESS_KEY_PASSPHRASE"


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("witness", help="a transparency log witness")
    actions = parser.add_subparsers(dest="action", required=True)
    key = actions.add_parser("key", help="create the witness key if needed; print its vkey")
    _add_identity(key)
    key.set_defaults(handler=run_key)
    serve = actions.add_parser("serve", help="serve POST /add-checkpoint")
    _add_identity(serve)
    serve.add_argument("--store", type=Path, required=True, help="SQLite file of cosigned state")
    serve.add_argument(
        "--log", action="append", default=[], help="a log's verifier key to follow (repeatable)"
    )
    serve.add_argument("--logs-file", type=Path, default=None, help="log vkeys, one a line")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8100, help="port to listen on")
    serve.set_defaults(handler=run_serve)


def _add_identity(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="the witness name, e.g. witness.example/w1")
    parser.add_argument("--key", type=Path, required=True, help="the witness key file (PEM)")


def load_or_create_key(path: Path) -> SigningKey:
    """The witness key in ``path``, created there (mode 0600) on first use."""
    passphrase = os.environ.get(PASSPHRASE_ENV)
    secret = passphrase.encode("utf-8") if passphrase else None
    if path.exists():
        return SigningKey.from_pem(path.read_bytes(), secret)
    key = SigningKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key.to_pem(secret))
    return key


def _identity(args: argparse.Namespace) -> SigningKey:
    if not is_valid_key_name(args.name):
        raise InvalidInputError(f"{args.name!r} is not a valid witness name")
    return load_or_create_key(args.key)


def run_key(args: argparse.Namespace) -> int:
    key = _identity(args)
    print(cosigner_key_string(args.name, key.public_key.raw))
    return 0


def read_logs(args: argparse.Namespace) -> list[NoteVerifier]:
    lines = list(args.log)
    if args.logs_file is not None:
        lines += args.logs_file.read_text(encoding="utf-8").splitlines()
    logs = [parse_verifier_key(line.strip()) for line in lines if line.strip()]
    if not logs:
        raise InvalidInputError("a witness needs at least one --log to follow")
    return logs


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ledger_api.witness import create_witness_app

    from ..log.witness_service import WitnessService
    from ..log.witness_store import WitnessStore

    key = _identity(args)
    store = WitnessStore(args.store)
    service = WitnessService(args.name, key, read_logs(args), store)
    print(f"witness {service.key_string}", flush=True)
    for origin in service.origins():
        print(f"  follows {origin}", flush=True)
    try:
        app = create_witness_app(service)
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        store.close()
    return 0
