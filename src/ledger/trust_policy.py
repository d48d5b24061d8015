"""Trust policies: what a verifier or auditor pins instead of believing the server it checks.

A policy holds the anchors published out of band (the root authority's key and the log's
verifier keys, as ``ledger init`` writes them) and a witness quorum: the witnesses' cosigner keys
and how many of them must have cosigned a checkpoint before it is believed. Without a quorum a
log can show one history to a school and another to an auditor; with one, it cannot do so
without the witnesses cosigning both, which they refuse.

A policy file is either the JSON trust file ``ledger init`` writes, optionally with
``"witnesses"`` (cosigner vkeys) and ``"quorum"`` (an integer ``k``, or the name of a group) or
``"policy"`` (a c2sp.org/tlog-policy text) added, and optionally ``"witnessed_from"`` (the
size from which ``ledger audit`` asks the quorum of kept checkpoints: those signed before the
witnesses were set up cannot have it); or a tlog-policy text file on its own, which pins the log
and the witnesses but no root key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InvalidInputError, LedgerError
from .log.checkpoint import Checkpoint
from .log.note import NoteVerifier, parse_verifier_key
from .log.policy import NONE, Policy
from .signing import VerifyingKey

TOFU_WARNING = (
    "WARNING: no trust policy (--trust) was given: the keys were trusted on first use and no "
    "witness cosignature was required. Anyone who controls the server or the file could have "
    "shown you a history nobody else sees. Pin the published anchors and a witness quorum with "
    "--trust FILE."
)


@dataclass(frozen=True)
class TrustPolicy:
    """Pinned anchors and the checkpoint policy (log keys, witnesses, quorum) built from them."""

    checkpoints: Policy
    root_key: VerifyingKey | None = None
    origin: str | None = None
    source: str = "a trust policy"
    witnessed_from: int = 0  # the audit asks the quorum of checkpoints of at least this size

    @property
    def log_keys(self) -> list[NoteVerifier]:
        return list(self.checkpoints.logs)

    @property
    def witnesses(self) -> dict[str, NoteVerifier]:
        return dict(self.checkpoints.witnesses)

    @property
    def requires_witnesses(self) -> bool:
        return self.checkpoints.quorum != NONE

    def verify_checkpoint(self, note: str) -> Checkpoint:
        """The checkpoint, if a pinned log key signed it and the quorum cosigned it."""
        checkpoint = self.checkpoints.verify(note)
        if self.origin is not None and checkpoint.origin != self.origin:
            raise InvalidInputError(f"checkpoint is of {checkpoint.origin!r}, not {self.origin!r}")
        return checkpoint

    def anchors(self) -> dict[str, Any]:
        """The root and log keys in the shape of the trust file (for the audit)."""
        anchors: dict[str, Any] = {
            "log_keys": {k.public_key.key_id: k.public_key.to_base64() for k in self.log_keys}
        }
        if self.root_key is not None:
            anchors["root_key"] = self.root_key.to_base64()
        return anchors

    def describe(self) -> str:
        quorum = self.checkpoints.quorum
        witnessed = "no witness required" if quorum == NONE else f"witness quorum {quorum!r}"
        if quorum != NONE and self.witnessed_from:
            witnessed += f" from checkpoints of {self.witnessed_from} leaves on"
        return f"pinned by {self.source}: {len(self.log_keys)} log key(s), {witnessed}"

    @classmethod
    def load(cls, path: str | Path) -> TrustPolicy:
        """Read a JSON trust file or a tlog-policy file; raise :class:`InvalidInputError`."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidInputError(f"cannot read trust anchors from {path}: {error}") from None
        try:
            if text.lstrip()[:1] in ("{", "["):
                return cls.from_json(json.loads(text), source=str(path))
            return cls(Policy.parse(text), source=str(path))
        except ValueError as error:
            message = error.message if isinstance(error, LedgerError) else str(error)
            raise InvalidInputError(f"cannot read trust anchors from {path}: {message}") from None

    @classmethod
    def from_json(cls, document: Any, *, source: str = "a trust file") -> TrustPolicy:
        """Build a policy from the trust file's JSON (see the module docstring)."""
        if not isinstance(document, dict):
            raise InvalidInputError("a trust file is a JSON object")
        origin = document.get("origin")
        root = document.get("root_key")
        root_key = VerifyingKey.from_base64(root) if isinstance(root, str) else None
        since = document.get("witnessed_from", 0)
        if isinstance(since, bool) or not isinstance(since, int) or since < 0:
            raise InvalidInputError("witnessed_from is a checkpoint size, an integer >= 0")
        if "policy" in document:
            checkpoints = Policy.parse(_text(document["policy"], "policy"))
            return cls(checkpoints, root_key, origin, source, since)
        logs = [
            parse_verifier_key(_text(v, "log verifier")) for v in _list(document, "log_verifiers")
        ]
        if not logs and isinstance(origin, str):
            logs = [
                NoteVerifier.for_key(origin, VerifyingKey.from_base64(_text(key, "log key")))
                for key in dict(document.get("log_keys") or {}).values()
            ]
        if not logs:
            raise InvalidInputError("a trust file pins at least one log key (log_verifiers)")
        witnesses = [parse_verifier_key(_text(w, "witness")) for w in _list(document, "witnesses")]
        quorum = document.get("quorum", len(witnesses))
        if isinstance(quorum, bool) or not isinstance(quorum, int | str):
            raise InvalidInputError("quorum is an integer k or the name of a witness or group")
        return cls(Policy(logs, witnesses, quorum), root_key, origin, source, since)


def _list(document: dict[str, Any], name: str) -> list[Any]:
    value = document.get(name, [])
    if not isinstance(value, list):
        raise InvalidInputError(f"{name} is a list of key strings")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string")
    return value
