"""Time-bank balances per account, with the history of movements. Each bank's issuing account
is shown too (the negative of the credit in circulation), so the balances visibly sum to zero."""

from __future__ import annotations

from .base import ProjectedEvent, View
from .batch_writes import add, put
from .database import ViewCursor

VIEW = View(
    name="timebank",
    tables={
        "view_accounts": "account_id TEXT PRIMARY KEY, bank_id TEXT NOT NULL, "
        "balance BIGINT NOT NULL DEFAULT 0",
        "view_account_movements": "account_id TEXT NOT NULL, transfer_id TEXT NOT NULL, "
        "counterparty TEXT NOT NULL, amount BIGINT NOT NULL, kind TEXT NOT NULL, "
        "position BIGINT NOT NULL, PRIMARY KEY (account_id, transfer_id)",
    },
    keys={"view_accounts": "account_id", "view_account_movements": "account_id, transfer_id"},
    # a transfer's accounts by its id: the API's hint for a reversal not told an account
    indexes={"view_account_movements_by_transfer": "view_account_movements (transfer_id)"},
)


def _move(
    cursor: ViewCursor,
    event: ProjectedEvent,
    account: str,
    counterparty: str,
    amount: int,
    kind: str,
) -> None:
    add(
        cursor,
        "view_accounts",
        {"account_id": account},
        {"balance": amount},
        sets={"bank_id": event.data["bank_id"]},
    )
    put(
        cursor,
        "view_account_movements",
        {"account_id": account, "transfer_id": event.data["transfer_id"]},
        {"counterparty": counterparty, "amount": amount, "kind": kind, "position": event.position},
    )


@VIEW.on("CreditEarned", "CreditClawedBack")
def minted(cursor: ViewCursor, event: ProjectedEvent) -> None:
    sign = 1 if event.type == "CreditEarned" else -1
    kind = "earned" if sign > 0 else "clawed-back"
    issuing = f"{event.data['bank_id']}:issuing"
    amount = sign * event.data["amount"]
    _move(cursor, event, event.data["account"], issuing, amount, kind)
    _move(cursor, event, issuing, event.data["account"], -amount, kind)


@VIEW.on("CreditSent", "CreditReceived")
def moved(cursor: ViewCursor, event: ProjectedEvent) -> None:
    sign = -1 if event.type == "CreditSent" else 1
    _move(
        cursor,
        event,
        event.data["account"],
        event.data["counterparty"],
        sign * event.data["amount"],
        event.data["kind"],
    )
