"""The eddsa-jcs-2022 cryptosuite's own steps: Transformation, Hashing and Proof Configuration.

These are spec sections 3.3.3 to 3.3.5, kept apart from the Data Integrity procedure in
``data_integrity`` so each can be checked against the intermediate values the W3C vectors publish.
Both canonicalisations are the project's one JCS (``ledger.canonical``), which refuses floats.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ledger.canonical import canonical_json
from ledger.errors import VerificationError

from ._datetime import check_datetime

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"


def transform(unsecured_document: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
    """Transformation (3.3.3): JCS of the unsecured document, once the suite is confirmed."""
    check_suite(options)
    return canonical_json(unsecured_document)


def proof_configuration(options: Mapping[str, Any]) -> bytes:
    """Proof Configuration (3.3.5): JCS of the proof options, after checking suite and created."""
    check_suite(options)
    if "created" in options:
        check_datetime(options["created"], what="proof created", zone_required=False)
    return canonical_json(options)


def hash_data(canonical_proof_config: bytes, transformed_document: bytes) -> bytes:
    """Hashing (3.3.4): the proof configuration's SHA-256, then the document's; 64 bytes."""
    return (
        hashlib.sha256(canonical_proof_config).digest()
        + hashlib.sha256(transformed_document).digest()
    )


def check_suite(options: Mapping[str, Any]) -> None:
    """Raise unless the proof is a DataIntegrityProof of this cryptosuite (either check fails)."""
    if options.get("type") != PROOF_TYPE:
        raise VerificationError(f"proof type is {options.get('type')!r}, expected {PROOF_TYPE!r}")
    if options.get("cryptosuite") != CRYPTOSUITE:
        raise VerificationError(
            f"cryptosuite is {options.get('cryptosuite')!r}, expected {CRYPTOSUITE!r}"
        )
