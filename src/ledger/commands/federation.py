"""Federation: pinning peer ledgers, and a volunteer's transfer to or from one of them.

The sending ledger records ``transfer_out`` and serves :meth:`transfer_package`; the receiving
ledger checks the package against the pinned peer and records ``transfer_in``. See
docs/federation.md for the protocol and its limits.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..canonical import canonical_json, parse_json
from ..context import Context
from ..envelope import SignedEvent
from ..errors import ConflictError, LedgerError, NotFoundError
from ..federation.anchors import peer_anchors
from ..federation.package import TRANSFERS_OUT, build_package, key_evidence_orgs
from ..federation.summary import summarise, summary_digest
from ..federation.verify import PackageRefusedError, VerifiedTransfer, verify_package
from ..model.aggregates import Organisation
from ..model.federation import Peer, inbound_transfer_aggregate_id, peer_aggregate_id
from ..model.ids import organisation_aggregate_id
from ..model.service import ServiceAccount, number_of_record, service_account_id
from ..results import NoValue, TransferredIn, TransferredOut
from ..storage.records import SideRow
from ..transparency import TransparencyLog
from ..writer import CommandResult
from .base import CommandHost

TRANSFERS_IN = "federation-transfer-in"  # side table: "origin/leaf" -> the verified package
# side table: "origin/transfer id" -> the leaf of the transfer-out accepted for it
TRANSFER_IDS_IN = "federation-transfer-id-in"


class FederationCommands(CommandHost):
    log: TransparencyLog

    def add_peer(
        self, org: str, *, trust: dict[str, Any], idempotency_key: str
    ) -> CommandResult[NoValue]:
        """Pin a peer ledger's trust anchors (root authority only): ``trust`` is the peer's
        trust file (``ledger init --trust-out``), with its witness policy (``witnesses``, a list
        of witness vkeys, and ``quorum``, how many must cosign) added."""
        data = peer_anchors(trust)
        return self._emit_one(
            org,
            "PeerPinned",
            peer_aggregate_id(data["origin"]),
            data,
            idempotency_key=idempotency_key,
        )

    def retire_peer(
        self, org: str, *, origin: str, reason: str, idempotency_key: str
    ) -> CommandResult[NoValue]:
        """Stop trusting a peer (root authority only): its packages are refused from now on;
        what was accepted from it stays, referenced by its checkpoints."""
        return self._emit_one(
            org,
            "PeerRetired",
            peer_aggregate_id(origin),
            {"origin": origin, "reason": reason},
            idempotency_key=idempotency_key,
        )

    def peer(self, origin: str) -> dict[str, Any]:
        """A pinned peer: its anchors, when it was pinned, whether it was retired."""
        state = self._state(Peer, peer_aggregate_id(origin))
        assert isinstance(state, Peer)
        if not state.exists:
            raise NotFoundError(f"{origin} is not a pinned peer of this ledger")
        return {**state.anchors, "pinned_at": state.pinned_at, "retired": state.retired}

    def transfer_out(
        self, org: str, *, number: str, to_origin: str, idempotency_key: str
    ) -> CommandResult[TransferredOut]:
        """The volunteer's home organisation moves them to the pinned peer ``to_origin``.

        The event commits to the summary of their approved service; their service account here
        is closed after it. ``result.value.transfer_id`` names the transfer for
        :meth:`transfer_package`.
        """
        account_id = service_account_id(number)
        transfer_id = str(uuid.uuid4())
        made: dict[str, Any] = {}

        def decide(ctx: Context) -> dict[str, Any]:
            account = ctx.state(ServiceAccount, account_id)
            events = self.events(account_id)
            if len(events) != account.version:
                raise ConflictError(f"volunteer {number}'s account changed meanwhile; retry")
            ledger = self._directory.require_ledger()
            signers = key_evidence_orgs(
                [org, *(e.org for e in events)], self._directory.ancestors, ledger.root_org
            )
            summary = summarise(
                number=number,
                transfer_id=transfer_id,
                from_origin=ledger.origin,
                to_origin=to_origin,
                events=events,
                key_evidence={
                    o: ctx.state(Organisation, organisation_aggregate_id(o)).version
                    for o in signers
                },
            )
            made["summary"] = summary
            ctx.emit(
                "VolunteerTransferredOut",
                account_id,
                {
                    "number": number,
                    "transfer_id": transfer_id,
                    "to_origin": to_origin,
                    "covers_version": summary["covers_version"],
                    "records": len(summary["records"]),
                    "approved_minutes": summary["approved_minutes"],
                    "summary_sha256": summary_digest(summary),
                },
            )
            return {"transfer_id": transfer_id, "approved_minutes": summary["approved_minutes"]}

        return self._command(
            org,
            "VolunteerTransferredOut",
            {"number": number, "to_origin": to_origin},
            decide,
            result=TransferredOut,
            idempotency_key=idempotency_key,
            side_rows=lambda: [
                SideRow(TRANSFERS_OUT, transfer_id, canonical_json(made["summary"]))
            ],
        )

    def transfer_package(self, transfer_id: str) -> dict[str, Any]:
        """The package proving the transfer-out ``transfer_id``, for the receiving ledger."""
        return build_package(self, transfer_id)  # type: ignore[arg-type]

    def verify_transfer(self, package: Any) -> VerifiedTransfer:
        """Check a peer's package against the peer pinned here; store nothing."""
        origin = package.get("origin") if isinstance(package, dict) else None
        anchors = self._pinned_anchors(origin)
        here = self._directory.require_ledger().origin
        return verify_package(package, anchors=anchors, here_origin=here)

    def transfer_in(
        self, org: str, *, number: str, package: dict[str, Any], idempotency_key: str
    ) -> CommandResult[TransferredIn]:
        """Receive a volunteer from a pinned peer: verify ``package`` (see
        :mod:`ledger.federation.verify`), then record its acceptance and carry the proven
        minutes into ``number``'s account (a volunteer registered here, whose home is ``org``).

        A package is accepted once; a package that fails any check stores nothing. The package
        is kept beside the events so an audit can check it again.
        """
        self._directory.refresh()
        verified = self.verify_transfer(package)
        anchors = self._pinned_anchors(verified.origin)
        stored = canonical_json(package)
        key = f"{verified.origin}/{verified.transfer_out_leaf}"
        transfer = f"{verified.origin}/{verified.transfer_id}"

        def rows() -> list[SideRow]:
            """Looked up at each attempt, and exclusive: a transfer accepted meanwhile from
            another leaf is refused here, or by the store when a writer races this one."""
            accepted_from = self._writer.recorder.side_get(TRANSFER_IDS_IN, transfer)
            if accepted_from is not None and int(accepted_from) != verified.transfer_out_leaf:
                # Acceptance is recorded per transfer-out leaf: the same signed transfer-out at
                # another leaf would be a second transfer, which only the peer's log could hold.
                raise PackageRefusedError(
                    f"transfer {verified.transfer_id} from {verified.origin} was accepted "
                    f"already, from its transfer-out at leaf {int(accepted_from)}: the peer's "
                    f"log holds it again at leaf {verified.transfer_out_leaf}"
                )
            leaf = str(verified.transfer_out_leaf).encode()
            return [
                SideRow(TRANSFERS_IN, key, stored),
                SideRow(TRANSFER_IDS_IN, transfer, leaf, exclusive=True),
            ]

        def decide(ctx: Context) -> dict[str, Any]:
            peer = ctx.state(Peer, peer_aggregate_id(verified.origin))
            if peer.anchors != anchors:
                raise ConflictError(f"peer {verified.origin} was pinned again meanwhile; retry")
            account = ctx.state(ServiceAccount, service_account_id(number))
            account.number = number
            record_id = account.next_record_id()
            common = {
                "number": number,
                "peer_origin": verified.origin,
                "transfer_id": verified.transfer_id,
                "transfer_out_leaf": verified.transfer_out_leaf,
            }
            ctx.emit(
                "InboundTransferAccepted",
                inbound_transfer_aggregate_id(verified.origin, verified.transfer_out_leaf),
                common,
            )
            if verified.approved_minutes:
                ctx.emit(
                    "ServiceCarriedIn",
                    service_account_id(number),
                    {
                        **common,
                        "record_id": record_id,
                        "checkpoint_size": verified.checkpoint_size,
                        "checkpoint_root": verified.checkpoint_root,
                        "package_sha256": verified.package_sha256,
                        "records": verified.records,
                        "minutes": verified.approved_minutes,
                    },
                )
            return {
                "record_id": record_id if verified.approved_minutes else None,
                "minutes": verified.approved_minutes,
                "records": verified.records,
                "peer_origin": verified.origin,
                "transfer_out_leaf": verified.transfer_out_leaf,
                "checkpoint_size": verified.checkpoint_size,
            }

        return self._command(
            org,
            "InboundTransferAccepted",
            {"number": number, "package_sha256": verified.package_sha256},
            decide,
            result=TransferredIn,
            idempotency_key=idempotency_key,
            side_rows=rows,
        )

    def stored_transfer_package(self, origin: str, transfer_out_leaf: int) -> dict[str, Any]:
        """The package a transfer-in from ``origin`` was accepted with, to check it again."""
        value = self._writer.recorder.side_get(TRANSFERS_IN, f"{origin}/{transfer_out_leaf}")
        if value is None:
            raise NotFoundError(f"no transfer from {origin} at leaf {transfer_out_leaf} is here")
        package: dict[str, Any] = parse_json(value)
        return package

    def check_transfers_in(self) -> list[dict[str, Any]]:
        """Verify again every transfer-in of this ledger from the package kept beside it,
        against the peer's anchors as pinned in this log when it was accepted (not as they are
        now). One entry per accepted transfer-out, with ``problem`` None when it still holds:
        the package is there, verifies, and is the one the ``ServiceCarriedIn`` event names
        with the minutes, checkpoint and leaf it states."""
        here = self._directory.require_ledger().origin
        carried: dict[tuple[str, int], SignedEvent] = {}
        twice: set[tuple[str, int]] = set()
        for event in self.events_of_types("ServiceCarriedIn"):
            key = (event.data["peer_origin"], event.data["transfer_out_leaf"])
            if key in carried:
                twice.add(key)
            carried.setdefault(key, event)
        checked = []
        first_leaf: dict[tuple[str, str], int] = {}
        for accepted in self.events_of_types("InboundTransferAccepted"):
            origin, leaf = accepted.data["peer_origin"], accepted.data["transfer_out_leaf"]
            first = first_leaf.setdefault((origin, accepted.data["transfer_id"]), leaf)
            entry: dict[str, Any] = {
                "peer_origin": origin,
                "transfer_out_leaf": leaf,
                "number": accepted.data["number"],
                "accepted_at_leaf": accepted.leaf_index,
                "problem": None,
            }
            try:
                if first != leaf:
                    raise PackageRefusedError(
                        f"the same transfer was accepted before, from the peer's leaf {first}"
                    )
                if (origin, leaf) in twice:
                    raise PackageRefusedError("its minutes were carried in more than once")
                self._check_transfer_in(accepted, carried.get((origin, leaf)), here)
            except LedgerError as error:
                entry["problem"] = error.message
            checked.append(entry)
        return checked

    def carried_record(self, record_id: str) -> dict[str, Any]:
        """A record carried in from a peer ledger, with what proves it: the ``ServiceCarriedIn``
        event here (its leaf), the peer's checkpoint and transfer-out leaf it references, and the
        kept package, verified again (``problem`` None when it holds)."""
        number = number_of_record(record_id)
        found = [
            e
            for e in self.events(service_account_id(number))
            if e.type == "ServiceCarriedIn" and e.data["record_id"] == record_id
        ]
        if not found:
            raise NotFoundError(f"record {record_id} was not carried in from a peer ledger")
        carried = found[0]
        data = carried.data
        origin, leaf = data["peer_origin"], data["transfer_out_leaf"]
        accepted = self.events(inbound_transfer_aggregate_id(origin, leaf))[0]
        problem = None
        try:
            self._check_transfer_in(accepted, carried, self._directory.require_ledger().origin)
        except LedgerError as error:
            problem = error.message
        return {
            "record_id": record_id,
            "number": number,
            "minutes": data["minutes"],
            "records": data["records"],
            "leaf_index": carried.leaf_index,
            "peer_origin": origin,
            "transfer_out_leaf": leaf,
            "checkpoint_size": data["checkpoint_size"],
            "checkpoint_root": data["checkpoint_root"],
            "package_sha256": data["package_sha256"],
            "problem": problem,
            "package": self.stored_transfer_package(origin, leaf),
        }

    def _check_transfer_in(
        self, accepted: SignedEvent, carried: SignedEvent | None, here: str
    ) -> None:
        origin, leaf = accepted.data["peer_origin"], accepted.data["transfer_out_leaf"]
        value = self._writer.recorder.side_get(TRANSFERS_IN, f"{origin}/{leaf}")
        if value is None:
            raise NotFoundError("no package is kept for this transfer-in")
        package = parse_json(value)
        pins = [
            e
            for e in self.events(peer_aggregate_id(origin))
            if e.type == "PeerPinned" and (e.leaf_index or 0) < (accepted.leaf_index or 0)
        ]
        if not pins:
            raise PackageRefusedError(f"{origin} was not pinned when the transfer was accepted")
        verified = verify_package(package, anchors=pins[-1].data, here_origin=here)
        if (verified.transfer_out_leaf, verified.transfer_id) != (
            leaf,
            accepted.data["transfer_id"],
        ):
            raise PackageRefusedError("the kept package proves another transfer-out")
        if carried is None:
            if verified.approved_minutes:
                raise PackageRefusedError("the proven minutes were not carried in")
            return
        data = carried.data
        if (
            data["package_sha256"] != verified.package_sha256
            or data["minutes"] != verified.approved_minutes
            or data["records"] != verified.records
            or data["checkpoint_size"] != verified.checkpoint_size
            or data["checkpoint_root"] != verified.checkpoint_root
        ):
            raise PackageRefusedError(
                "the kept package is not the one ServiceCarriedIn names, or proves other minutes"
            )

    def _pinned_anchors(self, origin: Any) -> dict[str, Any]:
        if not isinstance(origin, str):
            raise PackageRefusedError("transfer package refused: it names no origin")
        state = self._state(Peer, peer_aggregate_id(origin))
        assert isinstance(state, Peer)
        if not state.exists:
            raise PackageRefusedError(
                f"transfer package refused: {origin} is not a pinned peer of this ledger"
            )
        if state.retired:
            raise PackageRefusedError(f"transfer package refused: peer {origin} was retired")
        return dict(state.anchors)
