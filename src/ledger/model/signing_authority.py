"""Who may sign the events the trust directory follows: each rule written once.

The rules of the model (``organisations``, ``settings``, ``calendar``, ``awards``) refuse a
command whose signer lacks the authority; the trust directory, which follows these events from
the log, refuses a stored event whose signer lacks it (the store was tampered with). Both ask
the functions here, so the two can never disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .port import Directory

ROOT_ONLY_EVENTS = frozenset(
    {
        "LogKeyAdded",
        "LogKeyRetired",
        "LedgerSettingsChanged",
        "HolidaysDeclared",
        "CalendarPublished",
        "ServiceFieldAdded",
    }
)
"""Ledger-wide events: signed by the root authority alone."""


def registers_organisation(signer: str, parent: str) -> bool:
    """An organisation is registered by its parent."""
    return signer == parent


def registers_key(signer: str, org_id: str, parent: str | None) -> bool:
    """A key of ``org_id`` is registered by the organisation itself or its parent."""
    return signer in (org_id, parent)


def revokes_key(directory: Directory, signer: str, key_owner: str) -> bool:
    """A key is revoked by its organisation or an organisation above it."""
    return directory.is_at_or_above(signer, key_owner)


def is_root(directory: Directory, signer: str) -> bool:
    """``signer`` is the ledger's root authority."""
    ledger = directory.ledger
    return ledger is not None and signer == ledger.root_org


def revises_scheme(signer: str, owner: str) -> bool:
    """A star scheme is revised by its owner."""
    return signer == owner


def may_sign(directory: Directory, kind: str, signer: str, data: dict[str, Any]) -> bool:
    """Whether ``signer`` may have signed a stored event of type ``kind`` with ``data``, as far
    as the directory's own events say (other event types: nothing to check here)."""
    if kind == "OrganisationRegistered":
        return registers_organisation(signer, data["parent"])
    if kind == "KeyRegistered":
        target = directory.organisations.get(data["org_id"])
        return target is not None and registers_key(signer, target.org_id, target.parent)
    if kind == "KeyRevoked":
        key = directory.keys.get(data["key_id"])
        return key is not None and revokes_key(directory, signer, key.org_id)
    if kind in ROOT_ONLY_EVENTS:
        return is_root(directory, signer)
    if kind == "StarSchemeRevised":
        scheme = directory.reference.star_schemes.get(data["scheme_id"])
        return scheme is not None and revises_scheme(signer, scheme.owner)
    return True
