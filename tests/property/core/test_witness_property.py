"""[trust-roots] Property: whatever a log operator sends, a witness never cosigns two
checkpoints that cannot both be views of one append-only log, and never moves backwards.

An honest tree and a fork that shares its first ``d`` leaves are signed with the same log key;
the operator submits checkpoints of either at any size, from the right old size, a stale one or
zero, with the consistency proof of the tree the checkpoint comes from.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import SigningKey
from ledger.errors import WitnessRefusedError
from ledger.log import (
    AddCheckpointRequest,
    Checkpoint,
    NoteSigner,
    TreeBuilder,
    WitnessService,
    WitnessStore,
    consistency_proof,
    leaf_hash,
    sign_checkpoint,
)

ORIGIN = "property.example/log"
LOG_KEY = SigningKey.generate()


class Tree:
    def __init__(self, leaves: list[bytes]) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.roots = [TreeBuilder().root()]
        builder = TreeBuilder()
        for leaf in leaves:
            for level, index, value in builder.append(leaf_hash(leaf)):
                self.nodes[(level, index)] = value
            self.roots.append(builder.root())

    def read(self, coordinates: list[tuple[int, int]]) -> list[bytes]:
        return [self.nodes[c] for c in coordinates]

    def note(self, size: int) -> str:
        signer = NoteSigner(ORIGIN, LOG_KEY)
        return sign_checkpoint(Checkpoint(ORIGIN, size, self.roots[size]), [signer])

    def proof(self, old: int, new: int) -> tuple[bytes, ...]:
        if old in (0, new):
            return ()
        return tuple(consistency_proof(old, new, self.read))


step = st.tuples(
    st.sampled_from(["honest", "fork"]),
    st.integers(min_value=1, max_value=24),
    st.sampled_from(["stored", "stale", "zero"]),
)


@settings(max_examples=60, deadline=None)
@given(diverge=st.integers(min_value=0, max_value=20), steps=st.lists(step, max_size=14))
def test_a_witness_never_cosigns_a_split_view_nor_goes_backwards(
    diverge: int, steps: list[tuple[str, int, str]]
) -> None:
    honest_leaves = [b"honest %d" % i for i in range(24)]
    trees = {
        "honest": Tree(honest_leaves),
        "fork": Tree(honest_leaves[:diverge] + [b"fork %d" % i for i in range(diverge, 24)]),
    }
    with tempfile.TemporaryDirectory() as directory:
        store = WitnessStore(Path(directory) / "w.db")
        witness = WitnessService(
            "w.example/w", SigningKey.generate(), [NoteSigner(ORIGIN, LOG_KEY).verifier], store
        )
        cosigned: list[tuple[str, int]] = []
        held = 0
        for which, size, old_choice in steps:
            old = {"stored": held, "stale": max(held - 1, 0), "zero": 0}[old_choice]
            old = min(old, size)
            tree = trees[which]
            body = AddCheckpointRequest(old, tree.proof(old, size), tree.note(size)).to_text()
            try:
                witness.add_checkpoint(body)
            except WitnessRefusedError:
                assert (store.latest(ORIGIN) or (0, ""))[0] == held, "a refusal changed the state"
                continue
            assert size >= held, "the witness went backwards"
            assert old == held, "cosigned from an old size it did not hold"
            cosigned.append((which, size))
            held = size
        store.close()
    for a_tree, a_size in cosigned:
        for b_tree, b_size in cosigned:
            if a_tree != b_tree:
                assert min(a_size, b_size) <= diverge, f"split view cosigned: {cosigned}"
