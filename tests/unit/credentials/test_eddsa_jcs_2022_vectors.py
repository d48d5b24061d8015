"""The W3C eddsa-jcs-2022 vectors, reproduced byte for byte from keyPair.json and unsigned.json.

Each intermediate value the spec publishes is checked on its own, so that a mismatch names the
step that went wrong instead of only failing at the final signature.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from credential_vectors import VECTOR_CREATED, VECTORS, load_vector, read_vector, sign

from ledger.credentials import (
    encode_multikey,
    hash_data,
    multibase_decode,
    multibase_encode,
    proof_configuration,
    transform,
    verify_proof,
)
from ledger.signing import SigningKey


@pytest.fixture
def proof_options(unsigned: dict[str, Any], vector_key: SigningKey) -> dict[str, Any]:
    proof = dict(sign(unsigned, vector_key)["proof"])
    del proof["proofValue"]
    return proof


def test_the_private_key_multikey_yields_the_published_public_key(vector_key: SigningKey) -> None:
    assert (
        encode_multikey(vector_key.public_key) == load_vector("keyPair.json")["publicKeyMultibase"]
    )


def test_proof_options_equal_proofConfigJCS_json_field_for_field_and_in_order(
    proof_options: dict[str, Any],
) -> None:
    expected = load_vector("eddsa-jcs-2022/proofConfigJCS.json")
    assert proof_options == expected
    assert list(proof_options) == list(expected)
    assert proof_options["created"] == VECTOR_CREATED


def test_canonical_proof_configuration_is_proofCanonJCS(proof_options: dict[str, Any]) -> None:
    expected = read_vector("eddsa-jcs-2022/proofCanonJCS.txt").encode("utf-8")
    assert proof_configuration(proof_options) == expected


def test_canonical_document_is_canonDocJCS(
    unsigned: dict[str, Any], proof_options: dict[str, Any]
) -> None:
    expected = read_vector("eddsa-jcs-2022/canonDocJCS.txt").encode("utf-8")
    assert transform(unsigned, proof_options) == expected


def test_proof_and_document_hashes_are_the_published_ones(
    unsigned: dict[str, Any], proof_options: dict[str, Any]
) -> None:
    proof_hash = hashlib.sha256(proof_configuration(proof_options)).hexdigest()
    document_hash = hashlib.sha256(transform(unsigned, proof_options)).hexdigest()
    assert proof_hash == read_vector("eddsa-jcs-2022/proofHashJCS.txt")
    assert document_hash == read_vector("eddsa-jcs-2022/docHashJCS.txt")


def test_hash_data_is_the_proof_hash_then_the_document_hash(
    unsigned: dict[str, Any], proof_options: dict[str, Any]
) -> None:
    data = hash_data(proof_configuration(proof_options), transform(unsigned, proof_options))
    assert data.hex() == read_vector("eddsa-jcs-2022/combinedHashJCS.txt")


def test_signature_and_its_base58btc_multibase_are_the_published_ones(
    vector_key: SigningKey, unsigned: dict[str, Any], proof_options: dict[str, Any]
) -> None:
    data = hash_data(proof_configuration(proof_options), transform(unsigned, proof_options))
    signature = vector_key.sign(data)
    assert signature.hex() == read_vector("eddsa-jcs-2022/sigHexJCS.txt")
    assert multibase_encode(signature) == read_vector("eddsa-jcs-2022/sigBTC58JCS.txt")
    assert multibase_decode(read_vector("eddsa-jcs-2022/sigBTC58JCS.txt")) == signature


def test_add_proof_reproduces_signedJCS_json_byte_for_byte(
    vector_key: SigningKey, unsigned: dict[str, Any]
) -> None:
    signed = sign(unsigned, vector_key)
    assert json.dumps(signed, indent=2, ensure_ascii=False) == read_vector(
        "eddsa-jcs-2022/signedJCS.json"
    )


def test_signedJCS_json_verifies(signed: dict[str, Any]) -> None:
    verify_proof(signed)


def test_add_proof_leaves_the_input_document_untouched(
    vector_key: SigningKey, unsigned: dict[str, Any]
) -> None:
    sign(unsigned, vector_key)
    assert unsigned == load_vector("unsigned.json")


def test_the_vector_files_are_the_ones_origin_md_names() -> None:
    listed = re.findall(r"^([0-9a-f]{64})  (\S+)$", read_vector("ORIGIN.md"), re.MULTILINE)
    files = sorted(
        path.relative_to(VECTORS).as_posix()
        for path in VECTORS.rglob("*")
        if path.is_file() and path.name != "ORIGIN.md"
    )
    assert sorted(name for _, name in listed) == files
    for digest, name in listed:
        assert hashlib.sha256((VECTORS / name).read_bytes()).hexdigest() == digest, name
