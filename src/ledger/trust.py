"""The trust directory: organisations, their keys and the log keys, as the ledger's own
key events establish them.

It follows only the key-related events of the notification log, verifying each as it goes
(each registration must be signed by a key the directory already trusts, back to the root key in
the genesis event), so a key can be looked up by id without replaying the whole ledger.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .envelope import body_bytes_of, event_topic, open_envelope, verify_body
from .errors import (
    InvalidInputError,
    KeyNotAuthorisedError,
    NotFoundError,
    SignatureError,
    StorageError,
    TamperedEventError,
)
from .model import organisation_facts as facts
from .model.calendar import Calendar
from .model.signing_authority import ROOT_ONLY_EVENTS, may_sign
from .signing import VerifyingKey

GENESIS = "LedgerCreated"
KEY_EVENT_TYPES = (
    GENESIS,
    "OrganisationRegistered",
    "KeyRegistered",
    "KeyRevoked",
    *sorted(ROOT_ONLY_EVENTS),
    "StarSchemePublished",
    "StarSchemeRevised",
    "TimeBankOpened",
)
DEFAULT_DAILY_LIMIT_MINUTES = 24 * 60
SERVICE_FIELDS = (
    "theory-lectures",
    "culture-and-arts",
    "science-popularisation",
    "psychological-counselling",
    "medical-and-health",
    "legal-aid",
    "care-for-elderly-and-children",
    "emergency-rescue",
    "community-governance",
    "traffic-persuasion",
    "large-event-service",
)
KEY_TOPICS = [event_topic(name) for name in KEY_EVENT_TYPES]


@dataclass
class OrganisationInfo:
    org_id: str
    name: str
    kind: str
    region: str
    parent: str | None
    registered_at: int


@dataclass
class KeyInfo:
    """A key and its validity window.

    ``registered_at``/``revoked_at`` are notification ids, used inside this process only;
    ``registered_leaf``/``revoked_leaf`` are the leaf indexes of the registering and revoking
    events in the Merkle log, the positions published to verifiers: a key is valid for the
    event at leaf ``i`` when ``registered_leaf <= i`` and (``revoked_leaf`` is None or
    ``i < revoked_leaf``), and both events can be fetched and proven from the log alone.
    """

    key_id: str
    org_id: str
    key: VerifyingKey
    purpose: str
    registered_at: int
    revoked_at: int | None = None
    revoked_reason: str = ""
    registered_leaf: int | None = None
    revoked_leaf: int | None = None

    def validity(self) -> dict[str, int | None]:
        """The validity window in leaf indexes, as published (``/keys``, evidence)."""
        return {"registered_at_leaf": self.registered_leaf, "revoked_at_leaf": self.revoked_leaf}

    def valid_at(self, position: int | None) -> bool:
        """Valid for an event at ``position`` (None: a new event, now)."""
        if position is not None and position < self.registered_at:
            return False
        if self.revoked_at is None:
            return True
        return position is not None and position < self.revoked_at


@dataclass
class LedgerInfo:
    name: str
    region: str
    root_org: str
    origin: str
    log_keys: dict[str, VerifyingKey] = field(default_factory=dict)  # key_id -> key
    # Retired log keys sign nothing new, but the checkpoints they signed stay verifiable.
    retired_log_keys: dict[str, VerifyingKey] = field(default_factory=dict)


@dataclass
class StarSchemeInfo:
    scheme_id: str
    owner: str
    name: str
    version: int
    thresholds_hours: list[int]


@dataclass
class TimeBankInfo:
    bank_id: str
    owner: str
    credit_numerator: int
    credit_denominator: int
    cap_minutes: int | None
    surplus_account: str | None


@dataclass
class ReferenceData:
    """Ledger-wide data that rules read: limits, calendars, fields, star schemes, time banks."""

    daily_limit_minutes: int = DEFAULT_DAILY_LIMIT_MINUTES
    holidays: set[str] = field(default_factory=set)
    calendar: Calendar = field(default_factory=Calendar)
    service_fields: set[str] = field(default_factory=lambda: set(SERVICE_FIELDS))
    star_schemes: dict[str, StarSchemeInfo] = field(default_factory=dict)
    time_banks: dict[str, TimeBankInfo] = field(default_factory=dict)


Reader = Callable[[int, int, int | None, Sequence[str]], Sequence[Any]]
# (after, limit, topics) -> (the newest notification id, the first ``limit`` notifications of
# those topics after ``after`` up to it), read together
ToNewestReader = Callable[[int, int, Sequence[str]], tuple[int | None, Sequence[Any]]]


class TrustDirectory:
    """Organisations, keys and log keys, kept current by following the key events."""

    def __init__(
        self,
        read_notifications: Reader,
        read_to_newest: ToNewestReader | None = None,
    ) -> None:
        self._read = read_notifications
        self._read_to_newest = read_to_newest
        self._lock = threading.RLock()
        self._refreshed_at = 0.0
        self._forget()

    def _forget(self) -> None:
        """Know nothing, at position 0."""
        self._last = 0
        self.ledger: LedgerInfo | None = None
        self.organisations: dict[str, OrganisationInfo] = {}
        self.keys: dict[str, KeyInfo] = {}
        self.reference = ReferenceData()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_lock"], state["_read"], state["_read_to_newest"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self._read = _no_events
        self._read_to_newest = None

    def follow(self, notification: Any) -> None:
        """Take one key event into account (the audit feeds events itself, in log order)."""
        with self._lock:
            self._follow(notification)
            self._last = max(self._last, notification.id)

    def mark_stale(self) -> None:
        """This process stored key events: the next :meth:`refresh_if_older_than` refreshes,
        and :attr:`stale` is true until the next refresh."""
        self._refreshed_at = 0.0

    @property
    def stale(self) -> bool:
        """Never refreshed, or this process stored key events since."""
        return self._refreshed_at == 0.0

    def current_within(self, seconds: float, position: int = 0) -> bool:
        """Whether the last refresh was less than ``seconds`` ago and followed the store to
        ``position`` at least: a read that refreshes when older (or behind the event it checks)
        would not read the store now."""
        return time.monotonic() - self._refreshed_at < seconds and self._last >= position

    def refresh_if_older_than(self, seconds: float) -> None:
        """Refresh unless that was done less than ``seconds`` ago (for hot read paths)."""
        if not self.current_within(seconds):
            self.refresh()

    def refresh(self) -> int:
        """Follow the key events stored since the last refresh; return how many there were.

        The position moves to the newest notification even when it is not a key event, so the
        next refresh reads only what is new. A store whose newest notification is below the
        position no longer holds events this directory followed (or held one written by hand
        above the ids it hands out, since removed): every key event is followed again from the
        first.
        """
        followed = 0
        with self._lock:
            top, batch = self._first_batch()
            if top is not None and top < self._last:
                self._forget()
                top, batch = self._first_batch()
            while True:
                for notification in batch:
                    self._follow(notification)
                    self._last = notification.id
                followed += len(batch)
                if len(batch) < 500:
                    break
                batch = self._read(self._last + 1, 500, top, KEY_TOPICS)
            if top is not None:
                self._last = max(self._last, top)
            self._refreshed_at = time.monotonic()
        return followed

    def _first_batch(self) -> tuple[int | None, Sequence[Any]]:
        """The newest position and the key events up to it (without a store to ask, no
        position, and the events ``read_notifications`` gives)."""
        if self._read_to_newest is not None:
            return self._read_to_newest(self._last, 500, KEY_TOPICS)
        return None, self._read(self._last + 1, 500, None, KEY_TOPICS)

    def require_ledger(self) -> LedgerInfo:
        if self.ledger is None:
            self.refresh()
        if self.ledger is None:
            raise StorageError("this store holds no ledger yet: run `ledger init` first")
        return self.ledger

    def organisation(self, org_id: str) -> OrganisationInfo:
        info = self.organisations.get(org_id)
        if info is None:
            self.refresh()
            info = self.organisations.get(org_id)
        if info is None:
            raise NotFoundError(f"organisation {org_id!r} is not registered in this ledger")
        return info

    def ancestors(self, org_id: str) -> list[str]:
        """The organisation's parent, grandparent, ... up to the root."""
        chain: list[str] = []
        parent = self.organisation(org_id).parent
        while parent is not None:
            chain.append(parent)
            parent = self.organisations[parent].parent
        return chain

    def is_at_or_above(self, upper: str, org_id: str) -> bool:
        return upper == org_id or upper in self.ancestors(org_id)

    def key(self, key_id: str) -> KeyInfo:
        info = self.keys.get(key_id)
        if info is None:
            self.refresh()
            info = self.keys.get(key_id)
        if info is None:
            raise KeyNotAuthorisedError(
                f"key {key_id} is not registered in this ledger; register it before signing"
            )
        return info

    def authorise_at(
        self, key_id: str, org_id: str, position: int | None, purpose: str | None
    ) -> KeyInfo:
        """As :meth:`authorise`, for a stored event at ``position``: the directory is brought up
        to that position first, so a revocation before it is known."""
        if position is not None and position > self._last:
            self.refresh()
        return self.authorise(key_id, org_id, position, purpose)

    @property
    def last_position(self) -> int:
        return self._last

    def active_keys(self, org_id: str, purpose: str = "signing") -> list[KeyInfo]:
        return [
            k
            for k in self.keys.values()
            if k.org_id == org_id and k.purpose == purpose and k.revoked_at is None
        ]

    def authorise(
        self, key_id: str, org_id: str, position: int | None = None, purpose: str | None = None
    ) -> KeyInfo:
        """Return the key if it may sign for ``org_id`` at ``position``; else raise."""
        info = self.key(key_id)
        if purpose is not None and info.purpose != purpose:
            raise KeyNotAuthorisedError(
                f"key {key_id} is a {info.purpose} key; this event needs a {purpose} key"
            )
        if info.org_id != org_id:
            raise KeyNotAuthorisedError(
                f"key {key_id} belongs to {info.org_id!r}, not to {org_id!r}; "
                f"sign with one of {org_id!r}'s own keys"
            )
        if not info.valid_at(position):
            raise KeyNotAuthorisedError(
                f"key {key_id} of {org_id!r} was revoked ({info.revoked_reason or 'no reason'}) "
                "and signs nothing new; use a current key"
            )
        return info

    def _follow(self, notification: Any) -> None:
        where = f"event {notification.originator_id} v{notification.originator_version}"
        try:
            body, signature, _ = open_envelope(notification.state)
        except InvalidInputError as error:
            raise TamperedEventError(f"{where}: {error}") from None
        kind, data, position = body["type"], body["data"], notification.id
        leaf = getattr(notification, "leaf_index", None)
        if kind == GENESIS:
            self._follow_genesis(body, position, leaf)
        key = self.keys.get(body["key_id"])
        if key is None or key.org_id != body["org"] or not key.valid_at(position):
            raise TamperedEventError(f"{where}: signed by a key not valid for {body['org']!r}")
        try:
            verify_body(body_bytes_of(notification.state), signature, key.key)
        except SignatureError:
            raise TamperedEventError(f"{where}: the signature does not verify") from None
        self._check_authority(where, body)
        if kind == "OrganisationRegistered":
            self._take_organisation(facts.organisation_registered(data), position)
        elif kind == "KeyRegistered":
            self._take_key(facts.key_registered(data), position, leaf)
        elif kind == "KeyRevoked":
            known = self.keys.get(data["key_id"])
            revocation = facts.key_revoked(data, known.org_id if known else None)
            if known is not None and revocation is not None and known.revoked_at is None:
                known.revoked_at, known.revoked_reason = position, revocation.reason
                known.revoked_leaf = leaf
        elif kind == "LogKeyAdded" and self.ledger is not None:
            log_key = facts.log_key_added(data)
            self.ledger.log_keys[log_key.key_id] = log_key.public_key
        elif kind == "LogKeyRetired" and self.ledger is not None:
            retired = facts.log_key_retired(data, self.ledger.log_keys)
            if retired is not None:
                retired_key = self.ledger.log_keys.pop(retired.key_id)
                self.ledger.retired_log_keys[retired.key_id] = retired_key
        else:
            self._follow_reference(kind, body["org"], data)

    def _follow_reference(self, kind: str, signer: str, data: dict[str, Any]) -> None:
        ref = self.reference
        if kind == "LedgerSettingsChanged":
            ref.daily_limit_minutes = data["daily_limit_minutes"]
        elif kind == "HolidaysDeclared":
            ref.holidays.update(data["dates"])
        elif kind == "CalendarPublished":
            ref.calendar = Calendar.from_event(data)
        elif kind == "ServiceFieldAdded":
            ref.service_fields.add(data["field"])
        elif kind in ("StarSchemePublished", "StarSchemeRevised"):
            ref.star_schemes[data["scheme_id"]] = StarSchemeInfo(
                data["scheme_id"], signer, data["name"], data["version"], data["thresholds_hours"]
            )
        elif kind == "TimeBankOpened":
            ref.time_banks[data["bank_id"]] = TimeBankInfo(
                data["bank_id"],
                signer,
                data["credit_numerator"],
                data["credit_denominator"],
                data["cap_minutes"],
                data["surplus_account"],
            )

    def _check_authority(self, where: str, body: dict[str, Any]) -> None:
        kind, signer = body["type"], body["org"]
        if not may_sign(self, kind, signer, body["data"]):
            raise TamperedEventError(f"{where}: {signer!r} has no authority for {kind}")

    def _follow_genesis(self, body: dict[str, Any], position: int, leaf: int | None) -> None:
        if self.ledger is not None:
            raise TamperedEventError("a second LedgerCreated event is in the log")
        genesis = facts.ledger_created(body["data"])
        root, log_key = genesis.root, genesis.log_key
        self.ledger = LedgerInfo(
            genesis.ledger_name,
            root.region,
            root.org_id,
            genesis.origin,
            {log_key.key_id: log_key.public_key},
        )
        self._take_organisation(root, position)
        self._take_key(genesis.root_key, position, leaf)

    def _take_organisation(self, organisation: facts.RegisteredOrganisation, position: int) -> None:
        self.organisations[organisation.org_id] = OrganisationInfo(
            organisation.org_id,
            organisation.name,
            organisation.kind,
            organisation.region,
            organisation.parent,
            position,
        )

    def _take_key(self, key: facts.RegisteredKey, position: int, leaf: int | None) -> None:
        if key.key_id in self.keys:  # registered once: a second registration (refused by the
            return  # rules, so written behind them) neither moves nor lifts a revocation
        self.keys[key.key_id] = KeyInfo(
            key.key_id, key.org_id, key.public_key, key.purpose, position, registered_leaf=leaf
        )


def _no_events(*_: Any) -> list[Any]:
    return []
