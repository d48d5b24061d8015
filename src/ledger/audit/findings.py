"""What an audit can find. Each finding names its kind, the event and leaf, and what is wrong.

The kinds, most serious first, with what each means, are in ``FINDING_KINDS`` and
``docs/audit.md``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

FINDING_KINDS: dict[str, str] = {
    "split-view": "a checkpoint is inconsistent with one this auditor verified before: the log "
    "was rewritten or two different logs were shown",
    "untrusted-root": "the ledger's genesis names a root key other than the trusted one",
    "checkpoint-signature-invalid": "a kept checkpoint is not validly signed by a trusted log key",
    "checkpoint-not-witnessed": "a kept checkpoint lacks the witness cosignatures the trust "
    "policy's quorum requires, so nothing shows others were shown the same history",
    "checkpoint-root-mismatch": "the tree recomputed from the stored events does not have the "
    "root a signed checkpoint states: events were altered, removed, inserted or reordered",
    "truncated-log": "a signed checkpoint covers more leaves than the log now holds",
    "missing-event": "a leaf of the log has no stored event (it was deleted)",
    "unlogged-event": "a stored event has no leaf in the log (it was inserted behind the log)",
    "leaf-hash-mismatch": "an event's bytes no longer hash to the leaf the log stored for it",
    "malformed-event": "a stored envelope is not canonical JSON of the expected shape, or a "
    "field of its body or data is missing or of the wrong type",
    "identity-mismatch": "an event's stored id, version or type differ from its signed body",
    "signature-invalid": "a signature does not verify with the key the event names",
    "key-not-valid": "the key was unknown, revoked at that point, not the acting "
    "organisation's, or of the wrong purpose",
    "version-sequence": "an aggregate's versions skip or repeat in log order",
    "backdated-event": "an event was recorded before the event it follows in the log, or says it "
    "happened after it was recorded",
    "rule-violation": "the domain's rules, re-applied to the replayed state, refuse the event",
    "star-mismatch": "a volunteer's star level differs from the thresholds their minutes reach",
    "time-bank-imbalance": "time-bank accounts do not sum to zero, or one is below zero",
    "assessment-mismatch": "a published assessment result differs from the figures recomputed "
    "from the records at the log size it commits to",
    "view-digest-mismatch": "a stored view differs from the same view recomputed from events",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    message: str
    leaf_index: int | None = None
    event: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def line(self) -> str:
        where = []
        if self.leaf_index is not None:
            where.append(f"leaf {self.leaf_index}")
        if self.event:
            where.append(f"event {self.event}")
        return f"[{self.kind}] {', '.join(where) + ': ' if where else ''}{self.message}"
