"""The ledger's transparency log, without storage: the standards it speaks, as pure functions.

- :mod:`.merkle`: RFC 6962 / RFC 9162 hashing, inclusion and consistency proofs, tree builder.
- :mod:`.note`: C2SP signed notes and verifier keys.
- :mod:`.checkpoint`: C2SP tlog-checkpoint, the signed tree head.
- :mod:`.cosignature`, :mod:`.witness`, :mod:`.policy`: C2SP tlog-cosignature, tlog-witness and
  tlog-policy, so that a checkpoint can be trusted only once independent witnesses saw it.
- :mod:`.witness_service`, :mod:`.witness_store`: a witness that follows logs and remembers
  what it cosigned; :mod:`.witness_client`: a log asking witnesses over HTTP.
- :mod:`.receipt`: C2SP tlog-proof@v1, offline proof that an entry is in the log.
- :mod:`.tiles`: C2SP tlog-tiles paths, hash tiles and entry bundles.
- :mod:`.state`: a verifier that remembers the last checkpoint it trusted.

Storage plugs in through one callable, :data:`NodeReader`, that returns many node hashes at once.
"""

from __future__ import annotations

from .checkpoint import (
    Checkpoint,
    CheckpointPolicy,
    check_consistency,
    decode_hash,
    open_checkpoint,
    parse_decimal,
    sign_checkpoint,
)
from .cosignature import (
    Cosignature,
    CosignatureSigner,
    cosign,
    cosignature_key_id,
    cosignature_message,
    cosigner_key_string,
    cosigner_verifier,
    merge_cosignatures,
    verify_cosignature,
)
from .merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    LEAF_PREFIX,
    NODE_PREFIX,
    NodeReader,
    TreeBuilder,
    consistency_proof,
    frontier_nodes,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    node_hash,
    range_nodes,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from .note import (
    SIG_COSIGNATURE_V1,
    SIG_ED25519,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    OpenedNote,
    TextSigner,
    append_signatures,
    is_valid_key_name,
    note_key_id,
    open_note,
    parse_note,
    parse_signature_line,
    parse_verifier_key,
    sign_note,
    verifier_key_string,
    verify_note,
)
from .policy import Policy, WitnessGroup
from .receipt import Receipt, format_receipt, parse_receipt, verify_receipt
from .state import ProofFetcher, TrustedState
from .subtree import is_valid_subtree, verify_subtree_consistency, verify_subtree_inclusion
from .tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    Tile,
    encode_index,
    entries_path,
    entry_bundle,
    entry_bundles_for_size,
    new_tiles,
    parse_entry_bundle,
    parse_tile_path,
    root_with_tile,
    tile_bytes,
    tile_node_coordinates,
    tile_path,
    tile_witness_nodes,
    tiles_for_size,
)
from .witness import AddCheckpointRequest, Witness
from .witness_client import WitnessEndpoint, parse_endpoints, request_cosignature
from .witness_service import WitnessService
from .witness_store import WitnessStore

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "SIG_COSIGNATURE_V1",
    "SIG_ED25519",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "AddCheckpointRequest",
    "Checkpoint",
    "CheckpointPolicy",
    "Cosignature",
    "CosignatureSigner",
    "NodeReader",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "OpenedNote",
    "Policy",
    "ProofFetcher",
    "Receipt",
    "TextSigner",
    "Tile",
    "TreeBuilder",
    "TrustedState",
    "Witness",
    "WitnessEndpoint",
    "WitnessGroup",
    "WitnessService",
    "WitnessStore",
    "append_signatures",
    "check_consistency",
    "consistency_proof",
    "cosign",
    "cosignature_key_id",
    "cosignature_message",
    "cosigner_key_string",
    "cosigner_verifier",
    "decode_hash",
    "encode_index",
    "entries_path",
    "entry_bundle",
    "entry_bundles_for_size",
    "format_receipt",
    "frontier_nodes",
    "inclusion_proof",
    "inclusion_proof_nodes",
    "is_valid_key_name",
    "is_valid_subtree",
    "leaf_hash",
    "merge_cosignatures",
    "new_tiles",
    "node_hash",
    "note_key_id",
    "open_checkpoint",
    "open_note",
    "parse_decimal",
    "parse_endpoints",
    "parse_entry_bundle",
    "parse_note",
    "parse_receipt",
    "parse_signature_line",
    "parse_tile_path",
    "parse_verifier_key",
    "range_nodes",
    "request_cosignature",
    "root_hash",
    "root_with_tile",
    "sign_checkpoint",
    "sign_note",
    "tile_bytes",
    "tile_node_coordinates",
    "tile_path",
    "tile_witness_nodes",
    "tiles_for_size",
    "verifier_key_string",
    "verify_consistency",
    "verify_cosignature",
    "verify_inclusion",
    "verify_note",
    "verify_receipt",
    "verify_subtree_consistency",
    "verify_subtree_inclusion",
]
