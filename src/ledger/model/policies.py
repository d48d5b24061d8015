"""Reactions: what follows from an event once its rules have passed, kept apart from the rules.

A rule decides whether an event may be stored; a reaction schedules derived events (the stars a
volunteer's new balance reaches, the time-bank credit an approval earns) to be staged after the
command's own events, through :meth:`CommandPort.after`. Rules never schedule anything, so each
can be checked on its own; the command port runs the reactions of every event it stages, in the
order of their ``order`` (then registration).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .port import CommandPort
    from .registry import Draft

Reaction = Callable[["CommandPort", "Draft", Any], None]
_REACTIONS: dict[str, list[tuple[int, Reaction]]] = {}
_IN_ORDER: dict[str, tuple[Reaction, ...]] = {}  # each event type's reactions, as they run


def reacts_to(*event_types: str, order: int) -> Callable[[Reaction], Reaction]:
    """Register a reaction to each of ``event_types``."""

    def register(reaction: Reaction) -> Reaction:
        for event_type in event_types:
            reactions = _REACTIONS.setdefault(event_type, [])
            reactions.append((order, reaction))
            reactions.sort(key=lambda entry: entry[0])
            _IN_ORDER[event_type] = tuple(r for _, r in reactions)
        return reaction

    return register


def reactions_to(event_type: str) -> list[Reaction]:
    """The reactions to ``event_type``, in the order they run."""
    return list(_IN_ORDER.get(event_type, ()))


def react(ctx: CommandPort, draft: Draft, data: Any) -> None:
    """Run the reactions to one staged event (each schedules its derived events on ``ctx``)."""
    for reaction in _IN_ORDER.get(draft.type, ()):
        reaction(ctx, draft, data)
