"""The package's public names: everything in ``__all__`` exists, and nothing public is missing."""

from __future__ import annotations

import importlib

import ledger.log

MODULES = [
    "checkpoint",
    "cosignature",
    "merkle",
    "note",
    "policy",
    "receipt",
    "state",
    "subtree",
    "tiles",
    "witness",
    "witness_client",
    "witness_service",
    "witness_store",
]


def test_every_exported_name_exists() -> None:
    for name in ledger.log.__all__:
        assert hasattr(ledger.log, name), name
    assert len(set(ledger.log.__all__)) == len(ledger.log.__all__)


def test_the_promised_api_is_exported() -> None:
    promised = {
        "leaf_hash", "node_hash", "EMPTY_ROOT", "NodeReader", "root_hash", "inclusion_proof",
        "consistency_proof", "verify_inclusion", "verify_consistency", "TreeBuilder",
        "frontier_nodes", "note_key_id", "verifier_key_string", "parse_verifier_key",
        "NoteSigner", "NoteVerifier", "sign_note", "parse_note", "verify_note", "Checkpoint",
        "sign_checkpoint", "open_checkpoint", "Witness", "Policy", "format_receipt",
        "parse_receipt", "verify_receipt", "tile_path", "entries_path", "parse_tile_path",
        "tile_node_coordinates", "tile_bytes", "entry_bundle", "parse_entry_bundle",
        "TrustedState",
    }  # fmt: skip
    assert promised <= set(ledger.log.__all__)


def test_every_public_class_and_function_of_the_modules_is_exported() -> None:
    exported = set(ledger.log.__all__)
    for module_name in MODULES:
        module = importlib.import_module(f"ledger.log.{module_name}")
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            if defined_here and not name.startswith("_") and callable(value):
                assert name in exported, f"ledger.log.{module_name}.{name} is not exported"
