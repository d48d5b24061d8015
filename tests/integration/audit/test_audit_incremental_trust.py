"""An audit resumed with ``--state`` compares the root key the saved replay followed from the
genesis with the trusted one, as a full audit does at the genesis. Before, an operator who once
showed an auditor running without ``--trust`` a ledger of its own root key had every later,
resumed audit with the published trust file say clean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from audit_support import (
    demo_copy,
    demo_template,
    describe,
    kinds,
    register_many,
    run_audit,
)

from ledger import Ledger, SigningKey

__all__ = ["demo_copy", "demo_template"]

Demo = tuple[Ledger, dict[str, Any]]
ORG = "luzhou-youth-team"


def test_a_resumed_audit_checks_the_root_key_against_the_trust_anchors(
    demo_copy: Callable[[str], Demo], tmp_path: Path
) -> None:
    ledger, _ = demo_copy("sqlite")
    state = tmp_path / "audit-state.json"
    first = run_audit(ledger, state_file=state)  # no --trust: trusted on first use
    assert first.clean, describe(first)
    assert state.exists()

    # The root key the auditor trusts (published by the real ledger): not this ledger's.
    published = {"root_key": SigningKey.generate().public_key.to_base64()}
    full = run_audit(ledger, trust=published)
    assert "untrusted-root" in kinds(full), describe(full)

    register_many(ledger, ORG, 5)
    ledger.log.sign_checkpoint()
    resumed = run_audit(ledger, trust=published, state_file=state)
    assert resumed.incremental.startswith("continued from the checkpoint")
    assert "untrusted-root" in kinds(resumed), (
        "the resumed audit with the published trust anchors is clean although the ledger's "
        "root key is not the trusted one\n" + describe(resumed)
    )
