"""Request and response bodies shared across routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Response
from pydantic import BaseModel, ConfigDict, Field

from ledger import CommandResult
from ledger.results import ResultValue


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventRefOut(BaseModel):
    aggregate_id: str
    version: int
    type: str
    notification_id: int
    leaf_index: int


class CommandOut(BaseModel):
    """What a write stored: its events, each with its leaf in the Merkle log, and any new ids."""

    events: list[EventRefOut]
    value: dict[str, Any] = Field(default_factory=dict)


class ProblemOut(BaseModel):
    type: str
    title: str
    status: int
    detail: str


IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="Retries with the same key and content return the first response; "
        "the same key with other content is refused with 409.",
    ),
]
AsOrg = Annotated[
    str | None,
    Header(
        alias="X-Acting-Org",
        pattern=r"^[a-z0-9][a-z0-9.-]{1,63}$",
        description="Act for an organisation below the API key's own (default: its own).",
    ),
]


def command_out(result: CommandResult[ResultValue], response: Response) -> CommandOut:
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return CommandOut(
        events=[EventRefOut(**e.to_json()) for e in result.events], value=result.value.to_json()
    )
