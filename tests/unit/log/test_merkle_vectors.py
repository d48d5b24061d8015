"""The transparency-dev/merkle conformance vectors: every valid proof verifies, every malformed
one is rejected, and the proofs this package generates are byte for byte the reference ones."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from log_helpers import TEST_TREE_LEAVES, build

from ledger.errors import InclusionProofError, VerificationError
from ledger.log import merkle, subtree

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "merkle"
FILES = sorted(VECTORS.rglob("*.json"))


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _load(path: Path) -> dict[str, Any]:
    probe: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    probe["proof"] = [_b64(item) for item in probe["proof"] or []]
    return probe


def _verify(kind: str, p: dict[str, Any]) -> None:
    if kind == "inclusion":
        merkle.verify_inclusion(
            _b64(p["leafHash"]), p["leafIdx"], p["treeSize"], p["proof"], _b64(p["root"])
        )
    elif kind == "consistency":
        merkle.verify_consistency(
            p["size1"], p["size2"], _b64(p["root1"]), _b64(p["root2"]), p["proof"]
        )
    elif kind == "subtreeinclusion":
        subtree.verify_subtree_inclusion(
            _b64(p["leafHash"]), p["leafIdx"], p["start"], p["end"], p["proof"], _b64(p["root"])
        )
    else:
        subtree.verify_subtree_consistency(
            p["start"], p["end"], p["size"], p["proof"], _b64(p["root1"]), _b64(p["root2"])
        )


def test_the_vector_set_is_complete() -> None:
    kinds = {path.relative_to(VECTORS).parts[0] for path in FILES}
    assert kinds == {"inclusion", "consistency", "subtreeinclusion", "subtreeconsistency"}
    assert len(FILES) == 518


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(VECTORS)))
def test_vector_verifies_exactly_when_it_is_valid(path: Path) -> None:
    probe = _load(path)
    kind = path.relative_to(VECTORS).parts[0]
    if probe["wantErr"]:
        with pytest.raises(VerificationError):
            _verify(kind, probe)
    else:
        _verify(kind, probe)


HAPPY_INCLUSION = sorted((VECTORS / "inclusion").glob("[0-9]*/happy-path.json"))
HAPPY_CONSISTENCY = sorted((VECTORS / "consistency").glob("[0-9]*/happy-path.json"))


@pytest.mark.parametrize("path", HAPPY_INCLUSION, ids=lambda p: p.parent.name)
def test_generated_inclusion_proof_is_the_reference_proof(path: Path) -> None:
    probe = _load(path)
    store, builder = build(TEST_TREE_LEAVES[: probe["treeSize"]])
    assert builder.root() == _b64(probe["root"])
    generated = merkle.inclusion_proof(probe["leafIdx"], probe["treeSize"], store.reader)
    assert generated == probe["proof"]


@pytest.mark.parametrize("path", HAPPY_CONSISTENCY, ids=lambda p: p.parent.name)
def test_generated_consistency_proof_is_the_reference_proof(path: Path) -> None:
    probe = _load(path)
    store, _ = build(TEST_TREE_LEAVES[: probe["size2"]])
    assert merkle.root_hash(probe["size1"], store.reader) == _b64(probe["root1"])
    assert merkle.root_hash(probe["size2"], store.reader) == _b64(probe["root2"])
    generated = merkle.consistency_proof(probe["size1"], probe["size2"], store.reader)
    assert generated == probe["proof"]


def test_known_roots_of_the_reference_tree() -> None:
    store, builder = build(TEST_TREE_LEAVES)
    assert builder.root().hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )
    assert merkle.root_hash(0, store.reader) == merkle.EMPTY_ROOT
    assert merkle.EMPTY_ROOT.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_inclusion_error_names_the_expected_proof_length() -> None:
    store, builder = build(TEST_TREE_LEAVES)
    proof = merkle.inclusion_proof(2, 8, store.reader)
    with pytest.raises(InclusionProofError, match="needs 3"):
        merkle.verify_inclusion(merkle.leaf_hash(b"\x10"), 2, 8, proof[:2], builder.root())
