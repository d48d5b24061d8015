"""The receiver's side: check a transfer package against the pinned peer, trusting neither the
peer's operator nor our own.

What is checked, in order (the first failure refuses the whole package):

1. the package's shape, and that its origin is the pinned peer's;
2. the checkpoint: signed by one of the peer's pinned log keys, cosigned by its pinned witness
   quorum, of the peer's origin;
3. every entry: a canonical stored envelope whose RFC 9162 inclusion proof leads from its leaf
   hash at its leaf index to the checkpoint's root; no leaf twice;
4. the key chain: the genesis event carries the pinned root key and is signed by it; every
   organisation registration and key registration or revocation is signed by a key already
   chained, of the organisation concerned or one above it; and the evidence is complete: for
   each organisation the summary names, exactly its events 1..v, v being the version the
   summary (signed by the transfer-out) says it had then, so no key event logged before the
   move is left out;
5. every service event and the transfer-out: signed by a chained key of the signing
   organisation, registered before the event's leaf and not revoked before it, of the purpose
   its type needs;
6. the service account: versions 1..N of the volunteer's account, complete and in order, then
   the transfer-out at version N+1, naming this ledger's origin as destination;
7. the summary: recomputed from those events by the ledger's own projector, it equals the
   package's summary, whose SHA-256 the transfer-out signed, with the same totals.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ..canonical import canonical_json
from ..envelope import SignedEvent, body_bytes_of, open_envelope, verify_body
from ..errors import LedgerError, VerificationError
from ..log.checkpoint import Checkpoint
from ..log.merkle import verify_inclusion
from ..model import organisation_facts as facts
from ..model.ids import organisation_aggregate_id
from ..model.registry import EVENT_SPECS
from ..model.service import service_account_id
from ..signing import VerifyingKey, b64decode, b64encode
from .anchors import checkpoint_policy
from .package import CHAIN_EVENT_TYPES, PACKAGE_FORMAT
from .summary import summarise, summary_digest

MAX_ENTRIES = 100_000


class PackageRefusedError(VerificationError):
    """A transfer package that does not prove what it claims; nothing is stored."""


@dataclass(frozen=True)
class VerifiedTransfer:
    """What a verified package proves."""

    origin: str
    transfer_id: str
    number: str  # the volunteer's number in the sending ledger
    transfer_out_leaf: int
    checkpoint_size: int
    checkpoint_root: str  # base64
    records: int
    approved_minutes: int
    package_sha256: str


@dataclass
class _Key:
    org: str
    key: VerifyingKey
    purpose: str
    registered_at: int
    revoked_at: int | None = None


def package_digest(package: Any) -> str:
    return hashlib.sha256(canonical_json(package)).hexdigest()


def verify_package(package: Any, *, anchors: dict[str, Any], here_origin: str) -> VerifiedTransfer:
    """Check ``package`` against the peer's pinned ``anchors`` (``PeerPinned`` data); return
    what it proves, or raise :class:`PackageRefusedError` saying what failed."""
    try:
        return _verify(package, anchors, here_origin)
    except PackageRefusedError:
        raise
    except LedgerError as error:
        raise PackageRefusedError(f"transfer package refused: {error.message}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise PackageRefusedError(
            f"transfer package refused: malformed ({type(error).__name__}: {error})"
        ) from None


def _refuse(message: str) -> PackageRefusedError:
    return PackageRefusedError(f"transfer package refused: {message}")


def _verify(package: Any, anchors: dict[str, Any], here_origin: str) -> VerifiedTransfer:
    if not isinstance(package, dict) or package.get("format") != PACKAGE_FORMAT:
        raise _refuse(f"not a {PACKAGE_FORMAT} document")
    origin = anchors["origin"]
    if package.get("origin") != origin:
        raise _refuse(f"it is from {package.get('origin')!r}, not the pinned peer {origin!r}")
    try:
        checkpoint = checkpoint_policy(anchors).verify(_str(package["checkpoint"]))
    except LedgerError as error:
        raise _refuse(f"checkpoint: {error.message}") from None
    if checkpoint.origin != origin:
        raise _refuse(f"the checkpoint is of {checkpoint.origin!r}, not {origin!r}")
    seen: set[int] = set()
    out = _event(package["transfer_out"], checkpoint, seen)
    service = [_event(e, checkpoint, seen) for e in _list(package["service"])]
    chain = [_event(e, checkpoint, seen) for e in _list(package["keys"])]
    _check_evidence_complete(chain, package["summary"]["key_evidence"])
    keys = _chain_keys(chain, anchors)
    for event in [*service, out]:
        _check_signature(event, keys)
    return _check_transfer(package, anchors, here_origin, checkpoint, out, service)


def _event(item: Any, checkpoint: Checkpoint, seen: set[int]) -> SignedEvent:
    if not isinstance(item, dict) or set(item) != {"leaf_index", "entry", "proof"}:
        raise _refuse("an entry is {leaf_index, entry, proof}")
    index = item["leaf_index"]
    if isinstance(index, bool) or not isinstance(index, int) or index in seen:
        raise _refuse(f"leaf index {index!r} is not an integer given once")
    seen.add(index)
    envelope = _str(item["entry"]).encode("utf-8")
    proof = [b64decode(_str(h), what="proof hash") for h in _list(item["proof"])]
    try:
        verify_inclusion(
            hashlib.sha256(b"\x00" + envelope).digest(),
            index,
            checkpoint.size,
            proof,
            checkpoint.root_hash,
        )
    except LedgerError as error:
        raise _refuse(f"leaf {index}: {error.message}") from None
    body, signature, recorded_at = open_envelope(envelope)
    return SignedEvent(
        originator_id=_uuid(body["aggregate_id"]),
        originator_version=int(body["aggregate_version"]),
        body=body,
        signature=signature,
        recorded_at=recorded_at,
        envelope=envelope,
        leaf_index=index,
    )


def _check_evidence_complete(chain: list[SignedEvent], claimed: Any) -> None:
    """The key evidence is exactly events 1..v of each organisation the summary names with v."""
    if not isinstance(claimed, dict) or not all(
        isinstance(o, str) and type(v) is int and v >= 1 for o, v in claimed.items()
    ):
        raise _refuse("the summary's key_evidence is not {organisation: version}")
    wanted = {organisation_aggregate_id(o): v for o, v in claimed.items()}
    found: dict[UUID, list[int]] = {}
    for event in chain:
        found.setdefault(event.originator_id, []).append(event.originator_version)
    for aggregate in found:
        if aggregate not in wanted:
            raise _refuse(f"key evidence from aggregate {aggregate}, which the summary names not")
    for org, version in claimed.items():
        versions = sorted(found.get(organisation_aggregate_id(org), []))
        # compared by length first: the claimed version is the package's word, however large
        if len(versions) != version or versions != list(range(1, version + 1)):
            raise _refuse(
                f"the key evidence of {org!r} is not its events 1..{version}: a registration "
                "or revocation is missing"
            )


def _chain_keys(chain: list[SignedEvent], anchors: dict[str, Any]) -> dict[str, _Key]:
    """The peer's keys, each chained to the pinned root key by the events that registered it."""
    chain = sorted(chain, key=lambda e: e.leaf_index or 0)
    if not chain or chain[0].type != "LedgerCreated":
        raise _refuse("the key evidence does not start with the peer's genesis event")
    genesis = chain[0]
    root_key = VerifyingKey.from_base64(anchors["root_key"])
    established = facts.ledger_created(genesis.data)
    root = established.root.org_id
    if (
        genesis.data.get("root_key") != anchors["root_key"]
        or genesis.data.get("origin") != anchors["origin"]
        or root != anchors["root_org"]
        or genesis.org != root
        or genesis.originator_id != organisation_aggregate_id(root)
    ):
        raise _refuse("the genesis event is not the pinned peer's (root key, origin, root)")
    _verify_signature(genesis, root_key)
    first = established.root_key
    keys = {first.key_id: _Key(root, first.public_key, first.purpose, genesis.leaf_index or 0)}
    parents: dict[str, str | None] = {root: None}
    for event in chain[1:]:
        if event.type == "LedgerCreated":
            raise _refuse(f"leaf {event.leaf_index}: a second genesis")
        if event.type not in CHAIN_EVENT_TYPES:
            continue  # the organisation's other events: bound by their proofs, no key in them
        data = event.data
        concerned = str(data["org_id"])
        if event.originator_id != organisation_aggregate_id(concerned):
            raise _refuse(f"leaf {event.leaf_index}: not in {concerned}'s aggregate")
        above = data["parent"] if event.type == "OrganisationRegistered" else concerned
        if above not in parents or not _at_or_above(parents, event.org, above):
            raise _refuse(
                f"leaf {event.leaf_index}: {event.org!r} may not sign a {event.type} "
                f"for {concerned!r}"
            )
        _check_signature(event, keys)
        if event.type == "OrganisationRegistered":
            parents[concerned] = str(facts.organisation_registered(data).parent)
        elif event.type == "KeyRegistered":
            key = facts.key_registered(data)
            if not key.claim_matches or key.key_id in keys:
                raise _refuse(f"leaf {event.leaf_index}: key id mismatch or key registered twice")
            keys[key.key_id] = _Key(key.org_id, key.public_key, key.purpose, event.leaf_index or 0)
        else:
            known = keys.get(str(data["key_id"]))
            revocation = facts.key_revoked(data, known.org if known else None)
            if known is None or revocation is None:
                raise _refuse(f"leaf {event.leaf_index}: revokes an unknown key")
            if known.revoked_at is None:
                known.revoked_at = event.leaf_index
    return keys


def _at_or_above(parents: dict[str, str | None], upper: str, org: str | None) -> bool:
    while org is not None:
        if org == upper:
            return True
        org = parents.get(org)
    return False


def _check_signature(event: SignedEvent, keys: dict[str, _Key]) -> None:
    leaf = event.leaf_index or 0
    info = keys.get(event.key_id)
    if info is None:
        raise _refuse(f"leaf {leaf}: key {event.key_id} is not chained to the pinned root key")
    if info.org != event.org:
        raise _refuse(f"leaf {leaf}: key {event.key_id} is {info.org!r}'s, not {event.org!r}'s")
    if not info.registered_at < leaf or (info.revoked_at is not None and info.revoked_at < leaf):
        raise _refuse(f"leaf {leaf}: key {event.key_id} was not valid at that leaf")
    spec = EVENT_SPECS.get(event.type)
    if spec is None or spec.key_purpose != info.purpose:
        raise _refuse(f"leaf {leaf}: a {event.type} is not signed with a {info.purpose} key")
    _verify_signature(event, info.key)


def _verify_signature(event: SignedEvent, key: VerifyingKey) -> None:
    try:
        verify_body(body_bytes_of(event.envelope), event.signature, key)
    except LedgerError:
        raise _refuse(f"leaf {event.leaf_index}: the signature does not verify") from None
    # the body is canonical: open_envelope parsed the whole envelope as strict RFC 8785 JSON


def _check_transfer(
    package: dict[str, Any],
    anchors: dict[str, Any],
    here_origin: str,
    checkpoint: Checkpoint,
    out: SignedEvent,
    service: list[SignedEvent],
) -> VerifiedTransfer:
    if out.type != "VolunteerTransferredOut":
        raise _refuse("transfer_out is not a VolunteerTransferredOut event")
    data = out.data
    if data["to_origin"] != here_origin:
        raise _refuse(
            f"the transfer-out sends the volunteer to {data['to_origin']!r}, not to this "
            f"ledger ({here_origin!r})"
        )
    if data["transfer_id"] != package.get("transfer_id"):
        raise _refuse("the package's transfer id is not the transfer-out's")
    number = str(data["number"])
    account = service_account_id(number)
    service = sorted(service, key=lambda e: e.originator_version)
    if any(e.originator_id != account for e in [*service, out]):
        raise _refuse(f"an event is not of volunteer {number}'s service account")
    versions = [e.originator_version for e in service]
    if versions != list(range(1, len(service) + 1)) or out.originator_version != len(service) + 1:
        raise _refuse(
            f"the service account is incomplete: versions {versions} then the transfer-out at "
            f"{out.originator_version}"
        )
    if any((e.leaf_index or 0) > (out.leaf_index or 0) for e in service):
        raise _refuse("a service event is logged after the transfer-out")
    summary = summarise(
        number=number,
        transfer_id=str(data["transfer_id"]),
        from_origin=anchors["origin"],
        to_origin=here_origin,
        events=service,
        key_evidence=package["summary"]["key_evidence"],
    )
    if package.get("summary") != summary:
        raise _refuse("the summary is not the one the service events give")
    if summary_digest(summary) != data["summary_sha256"]:
        raise _refuse("the summary is not the one the transfer-out signed")
    if (
        data["approved_minutes"] != summary["approved_minutes"]
        or data["records"] != len(summary["records"])
        or data["covers_version"] != len(service)
    ):
        raise _refuse("the transfer-out's totals are not the summary's")
    return VerifiedTransfer(
        origin=anchors["origin"],
        transfer_id=str(data["transfer_id"]),
        number=number,
        transfer_out_leaf=out.leaf_index or 0,
        checkpoint_size=checkpoint.size,
        checkpoint_root=b64encode(checkpoint.root_hash),
        records=len(summary["records"]),
        approved_minutes=int(summary["approved_minutes"]),
        package_sha256=package_digest(package),
    )


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise _refuse("a text field is not a string")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        raise _refuse("a list field is not a list (or is too long)")
    return value


def _uuid(text: Any) -> UUID:
    value = UUID(_str(text))
    if str(value) != text:
        raise _refuse("an aggregate id is not a lowercase UUID")
    return value
