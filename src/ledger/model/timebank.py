"""Time banks, double entry: credit moves between accounts and the whole always sums to zero.

Each bank has one issuing account from which credit is minted. Minting (``CreditEarned``) and
taking earned credit back (``CreditClawedBack``) are single events on the volunteer's account
whose counterparty is the issuing account; that account's balance is the negative of all credit
in circulation, so it needs no events of its own (and is no point of contention). A transfer
between two real accounts is a ``CreditSent`` on one and a ``CreditReceived`` on the other, stored
together, with the same transfer id and amount.

No account receives an event for every approval. Credit a volunteer earns beyond the bank's cap
is minted into that volunteer's own surplus holding, ``BANK:surplus:NUMBER``, not into the bank's
surplus account: each approval touches only the volunteer's two accounts, whatever the size of the
city. The surplus account's organisation (or the bank) collects a holding into the surplus
account when it wants to spend it, with an ordinary transfer of kind ``collection``; a holding
sends credit nowhere else. Holdings are real accounts, so the sum-to-zero rule covers them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from pydantic import Field, StringConstraints

from ..errors import InvalidInputError, KeyNotAuthorisedError, NotFoundError, RuleViolationError
from .aggregates import AggregateState, Fact, Volunteer, register_aggregate
from .authority import authorise_credit_move
from .awards import require_automatic_key
from .ids import Slug, UUIDText, VolunteerNumber, url_uuid, volunteer_aggregate_id
from .policies import reacts_to
from .port import CommandPort
from .registry import Draft, EventData, event_type
from .service import BALANCE_CHANGES, RecordId, ServiceAccount, service_account_id

AccountId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,63}:(vol|org|surplus):[A-Za-z0-9.-]{2,64}$"),
]
Amount = Annotated[int, Field(ge=1, le=10**12)]
TransferKind = Literal["transfer", "donation", "redemption", "reversal", "collection"]
ACCOUNT_KINDS = ("vol", "org", "surplus")


@lru_cache(maxsize=65536)
def bank_aggregate_id(bank_id: str) -> UUID:
    return url_uuid(f"/time-banks/{bank_id}")


@lru_cache(maxsize=65536)
def account_aggregate_id(account_id: str) -> UUID:
    return url_uuid(f"/accounts/{account_id}")


def volunteer_account(bank_id: str, number: str) -> str:
    return f"{bank_id}:vol:{number}"


def organisation_account(bank_id: str, org_id: str) -> str:
    return f"{bank_id}:org:{org_id}"


def surplus_holding(bank_id: str, number: str) -> str:
    """Where credit volunteer ``number`` earns beyond the bank's cap waits to be collected."""
    return f"{bank_id}:surplus:{number}"


def issuing_account(bank_id: str) -> str:
    return f"{bank_id}:issuing"


def parse_account(account_id: str) -> tuple[str, str, str]:
    parts = account_id.split(":")
    if len(parts) != 3 or parts[1] not in ACCOUNT_KINDS:
        raise InvalidInputError(
            f"{account_id!r} is not an account id "
            "(BANK:vol:NUMBER, BANK:org:ORG or BANK:surplus:NUMBER)"
        )
    return parts[0], parts[1], parts[2]


@register_aggregate
@dataclass(slots=True)
class TimeBank(AggregateState):
    kind = "time-bank"
    owner: str = ""

    def on_TimeBankOpened(self, fact: Fact, data: dict[str, Any]) -> None:
        self.owner = fact.org


@dataclass(slots=True)
class Movement:
    transfer_id: str
    counterparty: str
    amount: int  # positive: in; negative: out
    kind: str
    reversed: bool = False


@register_aggregate
@dataclass(slots=True)
class Account(AggregateState):
    kind = "account"
    account_id: str = ""
    balance: int = 0
    movements: dict[str, Movement] = field(default_factory=dict)
    earned_by_record: dict[str, int] = field(default_factory=dict)

    def _move(self, data: dict[str, Any], amount: int, kind: str, counterparty: str) -> None:
        self.account_id = data["account"]
        self.balance += amount
        self.movements[data["transfer_id"]] = Movement(
            data["transfer_id"], counterparty, amount, kind
        )
        reverses = data.get("reverses")
        if reverses and reverses in self.movements:
            self.movements[reverses].reversed = True

    def on_CreditEarned(self, fact: Fact, data: dict[str, Any]) -> None:
        self._move(data, data["amount"], "earned", issuing_account(data["bank_id"]))
        record = data["record_id"]
        self.earned_by_record[record] = self.earned_by_record.get(record, 0) + data["amount"]

    def on_CreditClawedBack(self, fact: Fact, data: dict[str, Any]) -> None:
        self._move(data, -data["amount"], "clawed-back", issuing_account(data["bank_id"]))
        record = data["record_id"]
        self.earned_by_record[record] = self.earned_by_record.get(record, 0) - data["amount"]

    def on_CreditSent(self, fact: Fact, data: dict[str, Any]) -> None:
        self._move(data, -data["amount"], data["kind"], data["counterparty"])

    def on_CreditReceived(self, fact: Fact, data: dict[str, Any]) -> None:
        self._move(data, data["amount"], data["kind"], data["counterparty"])


class TimeBankOpened(EventData):
    bank_id: Slug
    credit_numerator: Annotated[int, Field(ge=1, le=1000)] = 1
    credit_denominator: Annotated[int, Field(ge=1, le=1000)] = 1
    cap_minutes: Amount | None = None
    surplus_account: AccountId | None = None


class CreditMinted(EventData):
    transfer_id: UUIDText
    bank_id: Slug
    account: AccountId
    amount: Amount
    record_id: RecordId
    number: VolunteerNumber


class CreditMoved(EventData):
    transfer_id: UUIDText
    bank_id: Slug
    account: AccountId
    counterparty: AccountId
    amount: Amount
    kind: TransferKind
    reverses: UUIDText | None = None


def banks_above(ctx: CommandPort, org_id: str) -> list[Any]:
    """The time banks of ``org_id`` and the organisations above it, nearest first."""
    banks = {b.owner: b for b in ctx.directory.reference.time_banks.values()}
    return [banks[c] for c in [org_id, *ctx.directory.ancestors(org_id)] if c in banks]


def bank_for_org(ctx: CommandPort, org_id: str) -> Any:
    """The time bank nearest above ``org_id`` (its own first), or None."""
    found = banks_above(ctx, org_id)
    return found[0] if found else None


def _bank(ctx: CommandPort, bank_id: str) -> Any:
    bank = ctx.directory.reference.time_banks.get(bank_id)
    if bank is None:
        raise NotFoundError(f"time bank {bank_id!r} is not in this ledger")
    return bank


def _account(ctx: CommandPort, draft: Draft, account_id: str, bank_id: str) -> Account:
    if draft.aggregate_id != account_aggregate_id(account_id):
        raise RuleViolationError("the event's aggregate is not this account's")
    bank, kind, owner = parse_account(account_id)
    if bank != bank_id:
        raise RuleViolationError(f"account {account_id} is not in bank {bank_id}")
    if kind in ("vol", "surplus"):
        ctx.existing(Volunteer, volunteer_aggregate_id(owner), f"volunteer {owner}")
    else:
        ctx.directory.organisation(owner)
    account = ctx.state(Account, draft.aggregate_id)
    account.account_id = account_id
    return account


def _check_cap(ctx: CommandPort, bank_id: str, account: Account, amount: int) -> None:
    cap = _bank(ctx, bank_id).cap_minutes
    if cap is not None and ":vol:" in account.account_id and account.balance + amount > cap:
        raise RuleViolationError(
            f"account {account.account_id} would hold more than the bank's cap of {cap}"
        )


@event_type("TimeBankOpened", "time-bank", TimeBankOpened)
def check_bank_opened(ctx: CommandPort, draft: Draft, data: TimeBankOpened) -> None:
    if draft.aggregate_id != bank_aggregate_id(data.bank_id):
        raise RuleViolationError("the event's aggregate is not this bank's")
    if ctx.state(TimeBank, draft.aggregate_id).exists:
        raise RuleViolationError(f"time bank {data.bank_id} already exists")
    if any(b.owner == draft.org for b in ctx.directory.reference.time_banks.values()):
        raise RuleViolationError(f"{draft.org!r} already runs a time bank")

    require_automatic_key(ctx, draft.org, "time bank")
    if data.surplus_account is not None:
        bank, kind, owner = parse_account(data.surplus_account)
        if bank != data.bank_id or kind != "org":
            raise RuleViolationError("the surplus account is an organisation account of this bank")
        ctx.directory.organisation(owner)


@event_type("CreditEarned", "account", CreditMinted, key_purpose="automatic-awards")
def check_credit_earned(ctx: CommandPort, draft: Draft, data: CreditMinted) -> None:
    account = _account(ctx, draft, data.account, data.bank_id)
    if draft.org != _bank(ctx, data.bank_id).owner:
        raise KeyNotAuthorisedError("credit is minted by the bank owner's automatic key")
    _check_cap(ctx, data.bank_id, account, data.amount)
    ctx.existing(ServiceAccount, service_account_id(data.number), f"volunteer {data.number}")
    if ":surplus:" in data.account:
        if data.account != surplus_holding(data.bank_id, data.number):
            raise RuleViolationError("surplus credit is held for the volunteer who earned it")
        if _bank(ctx, data.bank_id).surplus_account is None:
            raise RuleViolationError(f"bank {data.bank_id} has no surplus account")
    _require_record_change(ctx, data)


@event_type("CreditClawedBack", "account", CreditMinted, key_purpose="automatic-awards")
def check_credit_clawed_back(ctx: CommandPort, draft: Draft, data: CreditMinted) -> None:
    account = _account(ctx, draft, data.account, data.bank_id)
    if draft.org != _bank(ctx, data.bank_id).owner:
        raise KeyNotAuthorisedError("credit is taken back by the bank owner's automatic key")
    if data.amount > account.balance:
        raise RuleViolationError(f"account {data.account} holds only {account.balance}")
    if data.amount > account.earned_by_record.get(data.record_id, 0):
        raise RuleViolationError(f"more than was earned for {data.record_id} cannot be taken back")
    _require_record_change(ctx, data)


def _require_record_change(ctx: CommandPort, data: CreditMinted) -> None:
    """Credit is minted or taken back only for a record whose balance the same command changed
    (an approval, correction or void before it): the credit then follows the record, as the
    ledger reconciles it after that change, and cannot be moved by the bank as it likes."""
    if not any(
        d.type in BALANCE_CHANGES and d.data.get("record_id") == data.record_id for d in ctx.drafts
    ):
        raise RuleViolationError(
            f"credit for {data.record_id} is minted or taken back only with a change of that "
            "record's approved minutes, in the same command"
        )


def _check_collection(ctx: CommandPort, data: CreditMoved) -> None:
    """A surplus holding sends credit only to its bank's surplus account, as a collection."""
    from_holding = ":surplus:" in data.account
    if data.kind == "collection" and not from_holding:
        raise RuleViolationError("a collection takes credit out of a surplus holding")
    if not from_holding:
        return
    if data.kind not in ("collection", "reversal"):
        raise RuleViolationError("credit leaves a surplus holding only by a collection")
    if data.kind == "collection" and data.counterparty != _bank(ctx, data.bank_id).surplus_account:
        raise RuleViolationError("a surplus holding is collected into its bank's surplus account")


def _check_sender_authority(
    ctx: CommandPort, draft: Draft, account_id: str, bank_owner: str
) -> None:
    _, kind, owner = parse_account(account_id)
    if kind == "surplus":
        surplus = _bank(ctx, account_id.split(":", 1)[0]).surplus_account
        collector = surplus is not None and draft.org == parse_account(surplus)[2]
        if not collector and not ctx.directory.is_at_or_above(draft.org, bank_owner):
            raise KeyNotAuthorisedError(
                f"{draft.org!r} may not move credit out of {account_id}: the surplus account's "
                "organisation or the bank's organisation (or one above it) collects it"
            )
        return
    volunteer = ctx.state(Volunteer, volunteer_aggregate_id(owner)) if kind == "vol" else None
    authorise_credit_move(ctx.directory, draft.org, kind, owner, volunteer, bank_owner)


@event_type("CreditSent", "account", CreditMoved)
def check_credit_sent(ctx: CommandPort, draft: Draft, data: CreditMoved) -> None:
    account = _account(ctx, draft, data.account, data.bank_id)
    bank = _bank(ctx, data.bank_id)
    if data.account == data.counterparty:
        raise RuleViolationError("a transfer moves credit between two different accounts")
    if data.transfer_id in account.movements:
        raise RuleViolationError(f"transfer {data.transfer_id} already moved {data.account}")
    _check_collection(ctx, data)
    if data.kind == "reversal":
        if not ctx.directory.is_at_or_above(draft.org, bank.owner):
            raise KeyNotAuthorisedError("transfers are reversed by the bank's organisation")
        original = account.movements.get(data.reverses or "")
        if (
            original is None
            or original.amount != data.amount
            or original.counterparty != data.counterparty
        ):
            raise RuleViolationError("a reversal names a transfer this account received, in full")
        if original.reversed:
            raise RuleViolationError(f"transfer {data.reverses} was already reversed")
    else:
        _check_sender_authority(ctx, draft, data.account, bank.owner)
        if data.reverses is not None:
            raise InvalidInputError("only a reversal names a transfer it reverses")
    if data.kind == "redemption" and ":org:" not in data.counterparty:
        raise RuleViolationError("credit is redeemed with the organisation providing the service")
    if data.amount > account.balance:
        raise RuleViolationError(
            f"account {data.account} holds {account.balance}; it cannot send {data.amount}"
        )
    ctx.after(("pair", data.transfer_id), lambda c: _require_pair(c, data.transfer_id))


@event_type("CreditReceived", "account", CreditMoved)
def check_credit_received(ctx: CommandPort, draft: Draft, data: CreditMoved) -> None:
    account = _account(ctx, draft, data.account, data.bank_id)
    _check_cap(ctx, data.bank_id, account, data.amount)
    if data.transfer_id in account.movements:
        raise RuleViolationError(f"transfer {data.transfer_id} was already received")
    ctx.after(("pair", data.transfer_id), lambda c: _require_pair(c, data.transfer_id))


def _require_pair(ctx: CommandPort, transfer_id: str) -> None:
    sides = [d for d in ctx.drafts if d.data.get("transfer_id") == transfer_id]
    sent = [d for d in sides if d.type == "CreditSent"]
    received = [d for d in sides if d.type == "CreditReceived"]
    if len(sent) != 1 or len(received) != 1:
        raise RuleViolationError(f"transfer {transfer_id} needs one debit and one credit together")
    a, b = sent[0].data, received[0].data
    # The same bank (each side's account is checked to be in its side's bank), amount, kind and
    # transfer reversed, between the same two accounts seen from either side.
    if any(a.get(f) != b.get(f) for f in ("bank_id", "amount", "kind", "reverses")) or (
        (a["account"], a["counterparty"]) != (b["counterparty"], b["account"])
    ):
        raise RuleViolationError(f"the two sides of transfer {transfer_id} do not match")


@reacts_to(*BALANCE_CHANGES, order=20)
def credit_follows_the_balance(ctx: CommandPort, draft: Draft, data: Any) -> None:
    """After a change of balance: move the time-bank credit the record earns or loses."""
    number, record_id = data.number, data.record_id
    ctx.after(("credit", record_id), lambda c: reconcile_credit(c, number, record_id))


def reconcile_credit(ctx: CommandPort, number: str, record_id: str) -> None:
    """Stage the minting or taking back that the record's credited minutes now call for."""
    record = ctx.state(ServiceAccount, service_account_id(number)).records[record_id]
    banks = banks_above(ctx, record.recording_org)
    if not banks:
        return
    # A record keeps its credit in the bank that minted it, also once a bank nearer its
    # organisation opens; a record that earned nothing yet earns in the nearest.
    minted, bank = next(
        ((m, b) for b in banks if (m := _minted_for(ctx, b, number, record_id)) > 0),
        (0, banks[0]),
    )
    account_id = volunteer_account(bank.bank_id, number)
    account = ctx.state(Account, account_aggregate_id(account_id))
    target = record.credited_minutes * bank.credit_numerator // bank.credit_denominator
    difference = target - minted
    if difference > 0:
        _mint(ctx, bank, account, number, record_id, difference)
    elif difference < 0:
        back = min(-difference, account.balance, account.earned_by_record.get(record_id, 0))
        if back > 0:
            _emit_minted(ctx, "CreditClawedBack", bank, account_id, number, record_id, back)


def _minted_for(ctx: CommandPort, bank: Any, number: str, record_id: str) -> int:
    """What ``bank`` holds minted for the record: in the volunteer's account, and in their
    surplus holding when the bank keeps one."""
    account = ctx.state(Account, account_aggregate_id(volunteer_account(bank.bank_id, number)))
    minted = account.earned_by_record.get(record_id, 0)
    if bank.surplus_account:
        holding = surplus_holding(bank.bank_id, number)
        minted += ctx.state(Account, account_aggregate_id(holding)).earned_by_record.get(
            record_id, 0
        )
    return minted


def _mint(
    ctx: CommandPort, bank: Any, account: Account, number: str, record_id: str, amount: int
) -> None:
    room = amount if bank.cap_minutes is None else max(0, bank.cap_minutes - account.balance)
    to_volunteer = min(amount, room)
    account_id = volunteer_account(bank.bank_id, number)
    if to_volunteer:
        _emit_minted(ctx, "CreditEarned", bank, account_id, number, record_id, to_volunteer)
    surplus = amount - to_volunteer
    if surplus and bank.surplus_account:
        holding = surplus_holding(bank.bank_id, number)
        _emit_minted(ctx, "CreditEarned", bank, holding, number, record_id, surplus)


def _emit_minted(
    ctx: CommandPort,
    event_type: str,
    bank: Any,
    account_id: str,
    number: str,
    record_id: str,
    amount: int,
) -> None:
    ctx.emit(
        event_type,
        account_aggregate_id(account_id),
        {
            "transfer_id": str(uuid4()),
            "bank_id": bank.bank_id,
            "account": account_id,
            "amount": amount,
            "record_id": record_id,
            "number": number,
        },
        as_org=bank.owner,
    )
