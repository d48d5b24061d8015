"""Digital Bazaar's verifiers (``@digitalbazaar/vc``, ``data-integrity`` with
``eddsa-jcs-2022``, ``vc-bitstring-status-list``) and ``jsonld.js`` in safe mode, run by Node on
the credentials the ledger issues: valid ones verify, revoked and tampered ones do not.

The Node project is ``tests/interop`` (installed with ``npm ci`` by ``scripts/test.sh``); its
document loader serves only the contexts the package ships and computes did:key documents, so
nothing is fetched from the network. Without Node or the installed project the test is skipped,
except under CI, where it must run.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from credential_samples import Samples, build_samples
from interop_verifiers import run_verifiers

from ledger.credentials.status_list import encode_list


def status_lists(samples: Samples, credentials: dict[str, dict[str, Any]]) -> dict[str, Any]:
    lists = {
        c["id"]: c for c in credentials.values() if "BitstringStatusListCredential" in c["type"]
    }
    honour = samples.ledger.badge_status_list(samples.town.number, honour_id=samples.honour_id)
    return {**lists, honour["id"]: honour}


@pytest.fixture(scope="module")
def samples() -> Samples:
    return build_samples()


def test_generic_verifiers_accept_valid_and_refuse_revoked_credentials(
    samples: Samples, tmp_path: Path
) -> None:
    credentials = samples.credentials()
    results = run_verifiers(credentials, status_lists(samples, credentials), tmp_path)
    expected = {
        "certificate": True,
        "revoked certificate": False,
        "star badge": True,
        "honour badge": True,
        "revoked honour badge": False,
        "certificate status list": True,
        "revoked certificate status list": True,
        "star status list": True,
        "revoked honour status list": True,
    }
    assert {name: r["verified"] for name, r in results.items()} == expected, results
    assert results["revoked certificate"]["revoked"] is True
    assert results["revoked honour badge"]["revoked"] is True
    assert all(r["expansionError"] is None for r in results.values()), results


def test_generic_verifiers_refuse_tampered_credentials_and_lists(
    samples: Samples, tmp_path: Path
) -> None:
    credentials = samples.credentials()
    lists = status_lists(samples, credentials)
    minutes = copy.deepcopy(credentials["certificate"])
    minutes["credentialSubject"]["approvedMinutes"] += 60
    renamed = copy.deepcopy(credentials["star badge"])
    renamed["credentialSubject"]["achievement"]["name"] = "Five stars"
    other_issuer = copy.deepcopy(credentials["honour badge"])
    other_issuer["issuer"]["id"] = credentials["star badge"]["issuer"]["id"]
    assert other_issuer["issuer"] != credentials["honour badge"]["issuer"]
    # the revoked certificate's list with its bit cleared, signature kept: a forged "valid"
    revoked_list_url = credentials["revoked certificate"]["credentialStatus"][0][
        "statusListCredential"
    ]
    forged_list = copy.deepcopy(lists[revoked_list_url])
    forged_list["credentialSubject"]["encodedList"] = encode_list([])
    tampered = {
        "certificate with more minutes": minutes,
        "renamed star badge": renamed,
        "honour badge claiming another issuer": other_issuer,
        "revoked certificate": credentials["revoked certificate"],
    }
    results = run_verifiers(tampered, {**lists, revoked_list_url: forged_list}, tmp_path)
    assert not any(r["verified"] for r in results.values()), results
    assert "not verified" in results["revoked certificate"]["error"]


def test_safe_mode_expansion_refuses_an_undefined_term(samples: Samples, tmp_path: Path) -> None:
    credential = copy.deepcopy(samples.credentials()["certificate"])
    credential["credentialSubject"]["hoursForSchool"] = 10
    results = run_verifiers({"typo": credential}, {}, tmp_path)
    assert results["typo"]["expansionError"] is not None
    assert "hoursForSchool" in results["typo"]["expansionError"]
