"""Helpers for the credential tests: where the W3C vc-di-eddsa vectors live and how to read them.

A plain module (not conftest) so that test files can import it by a name no other test tree uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger.canonical import parse_json
from ledger.credentials import add_proof, did_key_verification_method
from ledger.signing import SigningKey

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "vc-di-eddsa"
VECTOR_CREATED = "2023-02-24T23:36:38Z"


def read_vector(name: str) -> str:
    """A vector file's exact text (the files carry no trailing newline)."""
    return (VECTORS / name).read_text(encoding="utf-8")


def load_vector(name: str) -> Any:
    return parse_json(read_vector(name))


def sign(document: dict[str, Any], key: SigningKey, **options: Any) -> dict[str, Any]:
    """Sign with ``key``'s did:key method at the vector's time, unless ``options`` say otherwise."""
    options.setdefault("verification_method", did_key_verification_method(key.public_key))
    options.setdefault("created", VECTOR_CREATED)
    return add_proof(document, key, **options)
