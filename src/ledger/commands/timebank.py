"""Time banks: opening one, and moving credit between accounts (double entry)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from typing import Any

from ..context import Context
from ..errors import InvalidInputError, NotFoundError, RuleViolationError
from ..model.aggregates import Volunteer
from ..model.ids import volunteer_aggregate_id
from ..model.timebank import (
    Account,
    Movement,
    account_aggregate_id,
    bank_aggregate_id,
    issuing_account,
    parse_account,
    surplus_holding,
)
from ..results import Collected, NoValue, TransferRef
from ..storage.records import LedgerRecorderProtocol, SideRow
from ..writer import CommandResult
from .base import CommandHost

# The account that received each transfer, by ``bank/transfer``: stored with the transfer's
# events by the writer (see ``receiver_rows``), whether a command staged them or they were
# submitted signed; read by a reversal not told an account. Not signed, so only ever a hint:
# the reversal checks it against both accounts' verified states, and searches when it is not
# borne out.
TRANSFER_RECEIVERS = "transfer-receiver"


class TimeBankCommands(CommandHost):
    def open_time_bank(
        self,
        org: str,
        *,
        bank_id: str,
        idempotency_key: str,
        credit_numerator: int = 1,
        credit_denominator: int = 1,
        cap_minutes: int | None = None,
        surplus_account: str | None = None,
    ) -> CommandResult[NoValue]:
        """``org`` runs a time bank: approved minutes in its part of the tree earn credit at
        ``credit_numerator / credit_denominator`` per minute, up to ``cap_minutes`` per
        volunteer; credit beyond the cap goes to ``surplus_account`` when one is named."""
        data = {
            "bank_id": bank_id,
            "credit_numerator": credit_numerator,
            "credit_denominator": credit_denominator,
            "cap_minutes": cap_minutes,
            "surplus_account": surplus_account,
        }
        return self._emit_one(
            org,
            "TimeBankOpened",
            bank_aggregate_id(bank_id),
            data,
            idempotency_key=idempotency_key,
        )

    def transfer_credit(
        self,
        org: str,
        *,
        bank_id: str,
        from_account: str,
        to_account: str,
        amount: int,
        idempotency_key: str,
        kind: str = "transfer",
        reverses: str | None = None,
    ) -> CommandResult[TransferRef]:
        """Move credit: one debit and one credit of the same amount, stored together.

        ``kind`` is ``transfer``, ``donation``, ``redemption`` (to the providing organisation) or
        ``reversal`` (with ``reverses``, the id of the transfer being undone, at most once).
        ``result.value.transfer_id`` names the new transfer.
        """
        params: dict[str, Any] = {
            "bank_id": bank_id,
            "from": from_account,
            "to": to_account,
            "amount": amount,
            "kind": kind,
            "reverses": reverses,
        }

        def decide(ctx: Context) -> dict[str, Any]:
            transfer_id = stage_transfer(
                ctx, bank_id, from_account, to_account, amount, kind, reverses
            )
            return {"transfer_id": transfer_id}

        return self._command(
            org,
            "CreditTransferred",
            params,
            decide,
            result=TransferRef,
            idempotency_key=idempotency_key,
        )

    def collect_surplus(
        self, org: str, *, bank_id: str, numbers: list[str], idempotency_key: str
    ) -> CommandResult[Collected]:
        """Move what the volunteers' surplus holdings hold into the bank's surplus account.

        Credit earned beyond the bank's cap waits in each volunteer's holding (so that approvals
        never touch one shared account); the surplus account's organisation, or the bank,
        collects it before spending it. Up to 100 volunteers per command; empty holdings are
        skipped. ``result.value.collected`` maps each volunteer number to the amount moved.
        """
        if not 1 <= len(numbers) <= 100 or len(set(numbers)) != len(numbers):
            raise InvalidInputError("collect from 1 to 100 different volunteers at a time")

        def decide(ctx: Context) -> dict[str, Any]:
            bank = ctx.directory.reference.time_banks.get(bank_id)
            if bank is None:
                raise NotFoundError(f"time bank {bank_id!r} is not in this ledger")
            if bank.surplus_account is None:
                raise InvalidInputError(f"time bank {bank_id!r} has no surplus account")
            target = str(bank.surplus_account)
            collected: dict[str, int] = {}
            for number in numbers:
                holding = surplus_holding(bank_id, number)
                balance = ctx.state(Account, account_aggregate_id(holding)).balance
                if balance > 0:
                    stage_transfer(ctx, bank_id, holding, target, balance, "collection", None)
                    collected[number] = balance
            return {"collected": collected}

        return self._command(
            org,
            "SurplusCollected",
            {"bank_id": bank_id, "numbers": list(numbers)},
            decide,
            result=Collected,
            idempotency_key=idempotency_key,
        )

    def reverse_transfer(
        self,
        org: str,
        *,
        bank_id: str,
        transfer_id: str,
        idempotency_key: str,
        account: str | None = None,
    ) -> CommandResult[TransferRef]:
        """Reverse a mistaken transfer by a new one that points at it (at most once).

        ``account``: either account of the transfer, as anyone who reverses it has read it in
        an account's movements. The transfer is then found in that account's verified state.
        Without it, the receiving account stored beside the transfer's events is tried the same
        way; only when there is none (a transfer stored before the ledger kept them) or the
        verified states do not bear it out is the transfer searched for among every credit
        movement of the ledger (a cost that grows with them).
        """
        if account is not None:
            sides = self._receiver_beside(bank_id, transfer_id, account)
        else:
            hint = self._writer.recorder.side_get(TRANSFER_RECEIVERS, f"{bank_id}/{transfer_id}")
            sides = []
            if hint is not None:
                sides = self._receiver_beside(bank_id, transfer_id, hint.decode("utf-8", "replace"))
            if not sides:
                sides = self._sides_searched(bank_id, transfer_id)
        for account_id, movement in sides:
            if movement.amount > 0:
                return self.transfer_credit(
                    org,
                    bank_id=bank_id,
                    from_account=account_id,
                    to_account=movement.counterparty,
                    amount=movement.amount,
                    kind="reversal",
                    reverses=transfer_id,
                    idempotency_key=idempotency_key,
                )
        raise NotFoundError(f"transfer {transfer_id} is not a transfer of bank {bank_id}")

    def _sides_searched(self, bank_id: str, transfer_id: str) -> list[tuple[str, Movement]]:
        """The accounts that received ``transfer_id``, found among every credit movement of the
        ledger, with their movement of it."""
        sides = []
        for event in self.events_of_types("CreditReceived"):
            if event.data["transfer_id"] == transfer_id and event.data["bank_id"] == bank_id:
                movement = self._movement(event.data["account"], transfer_id)
                if movement is not None:
                    sides.append((event.data["account"], movement))
        return sides

    def _receiver_beside(
        self, bank_id: str, transfer_id: str, account: str
    ) -> list[tuple[str, Movement]]:
        """The account that received ``transfer_id``, found from ``account``, either side of
        it, with its movement of it; none unless both accounts, of this bank, hold the two sides
        of one transfer (credit earned, say, has no sender's side)."""
        if account.split(":", 1)[0] != bank_id:
            return []
        here = self._movement(account, transfer_id)
        if here is None:
            return []
        there = self._movement(here.counterparty, transfer_id)
        if there is None or there.amount != -here.amount or there.counterparty != account:
            return []
        return [(account, here) if here.amount > 0 else (here.counterparty, there)]

    def _movement(self, account_id: str, transfer_id: str) -> Movement | None:
        """The movement of ``transfer_id`` in the account's verified state, read as a command
        reads it (this process's cache of verified states, brought up to date); a copy."""
        with self._reading(Account, account_aggregate_id(account_id)) as state:
            movement = state.movements.get(transfer_id)
            return None if movement is None else copy.copy(movement)

    def account(self, account_id: str) -> dict[str, Any]:
        """An account's balance and the history of its movements. An account that never moved
        is found (balance 0) only when its bank is a time bank of this ledger and its holder is
        registered; otherwise it is not found, as every other read of something unknown."""
        bank_id = account_id.split(":", 1)[0]
        with self._reading(Account, account_aggregate_id(account_id)) as state:
            answer = {
                "account": account_id,
                "bank_id": bank_id,
                "balance": state.balance,
                "movements": {
                    m.transfer_id: {
                        "counterparty": m.counterparty,
                        "amount": m.amount,
                        "kind": m.kind,
                        "reversed": m.reversed,
                    }
                    for m in state.movements.values()
                },
            }
            moved = state.version > 0
        if not moved:
            self._require_account_holder(bank_id, account_id)
        return answer

    def _require_account_holder(self, bank_id: str, account_id: str) -> None:
        self._directory.refresh()
        if bank_id not in self._directory.reference.time_banks:
            raise NotFoundError(
                f"account {account_id}: time bank {bank_id!r} is not in this ledger"
            )
        if account_id == issuing_account(bank_id):
            return
        _, kind, holder = parse_account(account_id)
        if kind == "org":
            self._directory.organisation(holder)
        elif not self._state(Volunteer, volunteer_aggregate_id(holder)).exists:
            raise NotFoundError(f"account {account_id}: volunteer {holder} is not registered")


def stage_transfer(
    ctx: Context,
    bank_id: str,
    from_account: str,
    to_account: str,
    amount: int,
    kind: str,
    reverses: str | None,
) -> str:
    """Stage both sides of one transfer; return its id."""
    transfer_id = str(uuid.uuid4())
    common = {
        "transfer_id": transfer_id,
        "bank_id": bank_id,
        "amount": amount,
        "kind": kind,
        "reverses": reverses,
    }
    ctx.emit(
        "CreditSent",
        account_aggregate_id(from_account),
        {**common, "account": from_account, "counterparty": to_account},
    )
    ctx.emit(
        "CreditReceived",
        account_aggregate_id(to_account),
        {**common, "account": to_account, "counterparty": from_account},
    )
    return transfer_id


def receiver_rows(
    bodies: Sequence[dict[str, Any]], recorder: LedgerRecorderProtocol
) -> list[SideRow]:
    """The :data:`TRANSFER_RECEIVERS` rows of the ``CreditReceived`` events among the bodies
    the writer stores (each has passed the rules, its data schema included). A transfer id is
    one transfer's in its bank: one another account received already is refused, or a reversal
    given that id alone would undo that other transfer (a submitted body chooses its id)."""
    rows = []
    for body in bodies:
        if body["type"] != "CreditReceived":
            continue
        data = body["data"]
        key, account = f"{data['bank_id']}/{data['transfer_id']}", data["account"]
        received = recorder.side_get(TRANSFER_RECEIVERS, key)
        if received is not None and received.decode("utf-8") != account:
            raise RuleViolationError(
                f"transfer id {data['transfer_id']} is another transfer's in bank "
                f"{data['bank_id']}; a transfer takes an id of its own"
            )
        # Exclusive: a writer racing with another for the same id is refused by the store.
        rows.append(SideRow(TRANSFER_RECEIVERS, key, account.encode("utf-8"), exclusive=True))
    return rows
