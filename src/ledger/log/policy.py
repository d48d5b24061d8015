"""Which checkpoints to trust: known logs, known witnesses and a quorum (c2sp.org/tlog-policy).

A checkpoint is accepted when one of the listed logs signed it, its origin is that log's key
name, and the witnesses that validly cosigned it satisfy the quorum. A quorum is ``none``, one
witness, or a group that needs ``k`` of its members (witnesses or earlier groups) to have
witnessed the checkpoint. Requiring witnesses is what turns a log's promise not to show two
histories into something a verifier can check offline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import InvalidInputError, NoteError
from .checkpoint import Checkpoint
from .note import NoteVerifier, open_note, parse_verifier_key

NONE = "none"
_WHITESPACE = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class WitnessGroup:
    """A named set of witnesses or groups, witnessed when ``threshold`` members have."""

    name: str
    threshold: int
    members: tuple[str, ...]


class Policy:
    """Log keys, witness cosigner keys and the quorum a checkpoint must meet.

    ``quorum`` is either a name (``"none"``, a witness or a group) or an integer ``k``: at least
    ``k`` of all the listed witnesses. Witnesses given as a sequence are named by key name.
    """

    def __init__(
        self,
        logs: Sequence[NoteVerifier],
        witnesses: Sequence[NoteVerifier] | Mapping[str, NoteVerifier] = (),
        quorum: int | str = 0,
        groups: Sequence[WitnessGroup] = (),
    ) -> None:
        named = witnesses if isinstance(witnesses, Mapping) else {w.name: w for w in witnesses}
        if len(named) != len(witnesses):
            raise InvalidInputError("two witnesses share a name")
        self.logs = tuple(logs)
        self.witnesses = dict(named)
        self.groups: dict[str, WitnessGroup] = {}
        _check_keys(self.logs, cosignature=False, what="log")
        _check_keys(tuple(self.witnesses.values()), cosignature=True, what="witness")
        if NONE in self.witnesses:
            raise InvalidInputError(f"{NONE!r} cannot name a witness")
        for group in groups:
            self._add_group(group)
        self.quorum = self._resolve_quorum(quorum)

    def _add_group(self, group: WitnessGroup) -> None:
        if group.name == NONE or group.name in self.witnesses or group.name in self.groups:
            raise InvalidInputError(f"group name {group.name!r} is already defined")
        if len(set(group.members)) != len(group.members) or not group.members:
            raise InvalidInputError(f"group {group.name!r} must list distinct members")
        unknown = [m for m in group.members if m not in self.witnesses and m not in self.groups]
        if unknown:
            raise InvalidInputError(f"group {group.name!r} names undefined members {unknown}")
        if not 1 <= group.threshold <= len(group.members):
            raise InvalidInputError(f"group {group.name!r} needs 1 <= threshold <= members")
        self.groups[group.name] = group

    def _resolve_quorum(self, quorum: int | str) -> str:
        if isinstance(quorum, str):
            if quorum != NONE and quorum not in self.witnesses and quorum not in self.groups:
                raise InvalidInputError(f"quorum {quorum!r} names no witness or group")
            return quorum
        if isinstance(quorum, bool) or not 0 <= quorum <= len(self.witnesses):
            raise InvalidInputError(f"a quorum of {quorum} is impossible with these witnesses")
        if quorum == 0:
            return NONE
        # The space keeps this generated name apart from any name a policy file can define.
        name = f"{quorum} of {len(self.witnesses)} witnesses"
        group = WitnessGroup(name, quorum, tuple(self.witnesses))
        self._add_group(group)
        return group.name

    @classmethod
    def parse(cls, text: str) -> Policy:
        """Parse a tlog-policy file; raise :class:`InvalidInputError` naming the bad line."""
        if any((ord(ch) < 0x20 and ch not in "\t\n") or ch == "\x7f" for ch in text):
            raise InvalidInputError("a policy may hold no control characters but tab and newline")
        logs: list[NoteVerifier] = []
        policy = cls([], {}, NONE)
        quorum: str | None = None
        for number, line in enumerate(text.split("\n"), start=1):
            words = _WHITESPACE.split(line.strip(" \t"))
            if words == [""] or words[0].startswith("#"):
                continue
            try:
                quorum = policy._parse_line(words, logs, quorum)
            except InvalidInputError as error:
                raise InvalidInputError(f"policy line {number}: {error.message}") from None
        if quorum is None:
            raise InvalidInputError("a policy needs exactly one quorum line")
        _check_keys(tuple(logs), cosignature=False, what="log")
        policy.logs = tuple(logs)
        policy.quorum = quorum
        return policy

    def _parse_line(
        self, words: list[str], logs: list[NoteVerifier], quorum: str | None
    ) -> str | None:
        keyword, args = words[0], words[1:]
        if keyword == "quorum" and quorum is not None:
            raise InvalidInputError("a policy needs exactly one quorum line")
        if keyword == "log" and len(args) in (1, 2):
            logs.append(parse_verifier_key(args[0]))
        elif keyword == "witness" and len(args) in (2, 3):
            self._add_witness(args[0], parse_verifier_key(args[1]))
        elif keyword == "group" and len(args) >= 3:
            group = _parse_group(args)
            # tlog-policy: each name is a member of one group at most, so that a witness
            # counts towards the quorum in one way only (not twice through two groups)
            listed = {m for g in self.groups.values() for m in g.members}
            if listed & set(group.members):
                raise InvalidInputError(
                    f"group {group.name!r} lists a name another group lists already"
                )
            self._add_group(group)
        elif keyword == "quorum" and len(args) == 1:
            return self._resolve_quorum(args[0])
        else:
            raise InvalidInputError(f"cannot read {' '.join(words)!r}")
        return quorum

    def _add_witness(self, name: str, key: NoteVerifier) -> None:
        if name == NONE or name in self.witnesses or name in self.groups:
            raise InvalidInputError(f"witness name {name!r} is already defined")
        self.witnesses[name] = key
        _check_keys(tuple(self.witnesses.values()), cosignature=True, what="witness")

    def verify(self, note: str) -> Checkpoint:
        """Return the checkpoint in ``note`` if a known log signed it and the quorum cosigned it."""
        opened = open_note(note, [*self.logs, *self.witnesses.values()])
        checkpoint = Checkpoint.parse(opened.text)
        signed = {key.name for key, _ in opened.verified if not key.cosignature}
        if not signed:
            raise NoteError("checkpoint has no valid signature from a known log")
        if checkpoint.origin not in signed:
            raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not the signing log")
        verified = {key for key, _ in opened.verified}
        cosigned = {name for name, key in self.witnesses.items() if key in verified}
        if not self._witnessed(self.quorum, cosigned):
            raise NoteError(
                f"checkpoint cosigned by {sorted(cosigned)} does not meet quorum {self.quorum!r}"
            )
        return checkpoint

    def _witnessed(self, name: str, cosigned: set[str]) -> bool:
        if name == NONE:
            return True
        if name in self.witnesses:
            return name in cosigned
        group = self.groups[name]
        return sum(self._witnessed(m, cosigned) for m in group.members) >= group.threshold


def _parse_group(args: list[str]) -> WitnessGroup:
    name, threshold, members = args[0], args[1], tuple(args[2:])
    if threshold == "all":
        return WitnessGroup(name, len(members), members)
    if threshold == "any":
        return WitnessGroup(name, 1, members)
    if not threshold.isascii() or not threshold.isdigit() or threshold.startswith("0"):
        raise InvalidInputError(f"group {name!r} threshold {threshold!r} is not all, any or k")
    return WitnessGroup(name, int(threshold), members)


def _check_keys(keys: Sequence[NoteVerifier], *, cosignature: bool, what: str) -> None:
    kind = "a cosignature (0x04)" if cosignature else "an Ed25519 (0x01)"
    for key in keys:
        if key.cosignature != cosignature:
            raise InvalidInputError(f"{what} key {key.name!r} must be {kind} key")
    raws = [key.public_key.raw for key in keys]
    if len(set(raws)) != len(raws):
        raise InvalidInputError(f"two {what} entries wrap the same public key")
