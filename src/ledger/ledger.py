"""The ledger: open a store, create the root once, then run signed commands and read back
verified events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from .application import LedgerEvents
from .claim_seal import ClaimSeal
from .commands.activities import ActivityCommands
from .commands.assessments import AssessmentCommands
from .commands.awards import AwardCommands
from .commands.badges import BadgeCommands
from .commands.base import run_as, stop_running_as
from .commands.certificates import CertificateCommands
from .commands.credential_status import CredentialStatusCommands
from .commands.federation import FederationCommands
from .commands.organisations import OrganisationCommands
from .commands.privacy import PrivacyCommands
from .commands.queries import QueryCommands
from .commands.service import ServiceCommands
from .commands.timebank import TimeBankCommands, receiver_rows
from .commands.typed import Command
from .commands.volunteers import VolunteerCommands
from .drafting import CommandDraft, Drafted, command_arguments, drafting_as, stop_drafting
from .envelope import SignedEvent, parse_signed_body, utc_now
from .errors import InvalidInputError, KeyNotAuthorisedError, NotFoundError, RuleViolationError
from .keystore import DirectoryKeystore, Keystore, MemoryKeystore
from .log.witness_client import WitnessEndpoint
from .personal_data import PersonalDataStore, erasure_marks
from .privacy.keyring import Keyring, keyring_for
from .projections import Projections, ViewDatabase
from .results import NoValue, ResultValue
from .signing import Signer
from .snapshots import SnapshotStore, log_key_of
from .storage.records import SharedCounters
from .storage.url import StoreURL, parse_store_url
from .transparency import CheckpointSchedule, Inclusion, TransparencyLog
from .trust import ReferenceData, TrustDirectory
from .writer import CommandResult, Writer

if TYPE_CHECKING:
    from .async_leaves import AsyncLeafReads

R = TypeVar("R", bound=ResultValue)


def default_keystore(store: StoreURL) -> Keystore:
    """Beside a SQLite file; ``./ledger-keys`` for PostgreSQL; in memory for ``memory://``."""
    if store.kind == "memory":
        return MemoryKeystore()
    if store.kind == "sqlite":
        assert store.path is not None
        return DirectoryKeystore(store.path.with_name(store.path.name + ".keys"))
    return DirectoryKeystore(Path("ledger-keys"))


def aggregate_uuid(aggregate_id: UUID | str) -> UUID:
    """An aggregate id given as a UUID or its string; anything else is bad input."""
    if isinstance(aggregate_id, UUID):
        return aggregate_id
    try:
        return UUID(str(aggregate_id))
    except ValueError:
        raise InvalidInputError(f"{aggregate_id!r} is not an aggregate id (a UUID)") from None


class Ledger(
    OrganisationCommands,
    VolunteerCommands,
    ActivityCommands,
    ServiceCommands,
    AwardCommands,
    TimeBankCommands,
    CertificateCommands,
    QueryCommands,
    BadgeCommands,
    CredentialStatusCommands,
    AssessmentCommands,
    PrivacyCommands,
    FederationCommands,
):
    """A ledger in one store. Thread-safe for commands; open one per process."""

    def __init__(
        self,
        url: str | StoreURL | None = None,
        *,
        keystore: Keystore | None = None,
        clock: Callable[[], datetime] = utc_now,
        checkpoints: CheckpointSchedule | None = None,
        keyring: Keyring | None = None,
        witnesses: Sequence[WitnessEndpoint] = (),
    ) -> None:
        self.store = url if isinstance(url, StoreURL) else parse_store_url(url)
        if self.store.kind == "sqlite":
            assert self.store.path is not None
            self.store.path.parent.mkdir(parents=True, exist_ok=True)
        self._app = LedgerEvents(self.store)
        self._recorder = self._app.ledger_recorder
        self._directory = TrustDirectory(
            self._recorder.select_notifications, self._recorder.select_notifications_to_newest
        )
        self._app.signed_mapper.directory = self._directory
        self.keystore = keystore if keystore is not None else default_keystore(self.store)
        self.personal_data = PersonalDataStore(
            self._recorder, keyring if keyring is not None else keyring_for(self.keystore)
        )
        self.clock = clock
        self._writer = Writer(
            self._recorder,
            self._app.signed_mapper,
            self._directory,
            clock,
            rows_of_events=lambda bodies: [
                *receiver_rows(bodies, self._recorder),
                *erasure_marks(bodies),
            ],
            claims=ClaimSeal(self.keystore, self._current_log_keys),
        )
        self._writer.cache.snapshots = SnapshotStore(self._recorder, log_key_of(self.keystore))
        self.log = TransparencyLog(
            self._recorder, self._directory, self.keystore, checkpoints, witnesses=witnesses
        )

    @classmethod
    def open(cls, url: str | None = None, **options: Any) -> Ledger:
        return cls(url, **options)

    def close(self) -> None:
        self.log.close()
        self._app.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # reading

    def events(self, aggregate_id: UUID | str) -> list[SignedEvent]:
        """Every event of an aggregate (its UUID, or the UUID's string as an ``EventRef``
        gives it), each verified on the way out."""
        return self._writer.read_events(aggregate_uuid(aggregate_id))

    def event(self, aggregate_id: UUID | str, version: int) -> SignedEvent:
        """One verified event (the row is read each time; the verification of a byte-identical
        row in the log read before is reused, as :meth:`event_at` reuses it)."""
        wanted = aggregate_uuid(aggregate_id)
        found = self._recorder.select_events(wanted, gt=version - 1, lte=version)
        if not found:
            raise NotFoundError(f"event {aggregate_id} v{version} is not in this ledger")
        return self.log.verified_event(found[0], self._app.signed_mapper.verify)

    def event_at(self, leaf_index: int) -> SignedEvent:
        """The verified event at a leaf index of the Merkle log (the row is read each time; the
        verification of a byte-identical row read before is reused)."""
        return self.log.verified_entry(leaf_index, self._app.signed_mapper.verify)

    def event_with_inclusion(self, leaf_index: int) -> tuple[SignedEvent, Inclusion]:
        """:meth:`event_at` and the leaf's inclusion in the newest signed checkpoint covering
        it, checked to lead to that checkpoint's root (usually one read of the store)."""
        return self.log.verified_entry_with_inclusion(leaf_index, self._app.signed_mapper.verify)

    def leaf_reads(self, connections: int | None = None) -> AsyncLeafReads:
        """:meth:`event_with_inclusion` awaited on an event loop, over at most ``connections``
        asynchronous connections of its own (default :data:`ledger.async_leaves.CONNECTIONS`;
        PostgreSQL only: :class:`TypeError` otherwise); close it with ``await reads.close()``."""
        from .async_leaves import CONNECTIONS, AsyncLeafReads

        return AsyncLeafReads(
            self._recorder,
            self.log,
            self._directory,
            self._app.signed_mapper.verify,
            CONNECTIONS if connections is None else connections,
        )

    def projections(self, views_url: str | None = None, *, verify: bool = True) -> Projections:
        """The ledger's views, in its own database or in ``views_url``.

        With ``verify`` every event's signature is checked before it is applied.
        """
        store = self.store if views_url is None else parse_store_url(views_url)
        return Projections(
            self._recorder,
            ViewDatabase(store),
            verify=self._app.signed_mapper.verify_many if verify else None,
        )

    def refresh(self) -> None:
        """Read the newest organisations, keys and settings from the store (every command does so
        first; :meth:`reference` and :meth:`trust_anchors` answer as of the last refresh)."""
        self._directory.refresh()

    def reference(self) -> ReferenceData:
        """The ledger-wide settings (daily limit, holidays, service fields, star schemes, time
        banks) as of the last :meth:`refresh`."""
        return self._directory.reference

    def last_position(self) -> int:
        """The position (notification id) of the newest stored event; 0 in an empty store."""
        return int(self._recorder.max_notification_id() or 0)

    def shared_counters(self) -> SharedCounters:
        """Counters kept in the store's side table (get, atomic increment, delete older keys),
        shared by every process on the store: how the HTTP API counts failed authentications."""
        return self._recorder

    def _current_log_keys(self) -> frozenset[str] | None:
        """The ids of the ledger's current log keys as the trust directory knows them; None
        before the genesis."""
        info = self._directory.ledger
        return frozenset(info.log_keys) if info is not None else None

    def _after_write(self) -> None:
        self.log.note_write()
        if self.log.schedule is not None and self.log.can_sign():
            self.log.maybe_checkpoint()

    def submit_signed(
        self,
        signed: list[tuple[bytes | str, str]],
        *,
        credential: dict[str, Any] | None = None,
        status_list: dict[str, Any] | None = None,
    ) -> CommandResult[NoValue]:
        """Store events that organisations signed themselves, exactly as signed.

        Each item is (the canonical JSON body as signed, its base64 signature). The same rules
        apply as to commands; events the rules derive (stars, credit) are signed by the ledger's
        automatic keys. A ``CertificateIssued`` event comes with ``credential``, the credential
        its organisation signed: it must hash to the event's ``credential_sha256`` and carry a
        proof by the event's key, and is stored in the same transaction as the event; so is
        ``status_list``, the credential's status list signed by the same key saying "not
        revoked", served while the certificate stands (the server cannot sign one without the
        key).
        """
        parsed = [parse_signed_body(body, signature) for body, signature in signed]
        self._directory.refresh()
        rows = self._signed_credential_rows([body for body, _ in parsed], credential, status_list)
        erased = [b["data"]["number"] for b, _ in parsed if b["type"] == "PersonalDataErased"]
        result = self._writer.submit(
            parsed, lambda org, purpose: self.signer_for(org, None, purpose), side_rows=rows
        )
        for number in erased:  # as erase_personal_data does once its event is stored
            self.personal_data.erase(number)
        self._after_write()
        return result

    def run(
        self,
        command: Command[R],
        *,
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[R]:
        """Run any command (a class of :mod:`ledger.commands.typed`) the one way every command
        runs: ``idempotency_key`` makes a retry safe, ``signer`` signs with a key held outside
        the keystore (it must be the acting organisation's), ``occurred_at`` dates it. The
        result's value is of the command's ``result_type`` (``Command[...]``'s argument)."""
        if not isinstance(command, Command) or not command.ledger_method:
            raise InvalidInputError(f"not a command: {command!r}")
        method = getattr(self, command.ledger_method)
        token = run_as(signer, occurred_at)
        try:
            result = method(command.org, **command.arguments(), idempotency_key=idempotency_key)
        finally:
            stop_running_as(token)
        if not isinstance(result, CommandResult) or type(result.value) is not command.result_type:
            raise TypeError(f"{command.ledger_method} gave {result!r}, not a {command.result_type}")
        return result

    def draft(
        self,
        command: str,
        org: str,
        *,
        key_id: str,
        params: dict[str, Any],
        links: dict[str, Any] | None = None,
    ) -> CommandDraft:
        """The bodies ``command`` would store for ``org``, to be signed with its key ``key_id``
        outside the ledger and stored with :meth:`submit_signed`; nothing is stored now.

        ``params`` are the command's keyword arguments as JSON (see :mod:`ledger.drafting`);
        ``links`` the server's own settings for a certificate's links (``verify_base_url``,
        ``allow_local_links``), which a client cannot choose.
        """
        arguments = command_arguments(command, params) | dict(links or {})
        token = drafting_as(key_id)
        try:
            getattr(self, command)(org, **arguments)
        except Drafted as drafted:
            return drafted.draft
        except TypeError as error:
            raise InvalidInputError(f"{command}: {error}") from None
        finally:
            stop_drafting(token)
        raise RuleViolationError(f"{command} has nothing to sign")

    def log_size(self) -> int:
        return self._recorder.log_size()

    def signer_for(
        self,
        org: str,
        signer: Signer | None = None,
        purpose: str = "signing",
        *,
        excluding: str | None = None,
    ) -> Signer:
        """The given signer, or the newest of ``org``'s active keys held in the keystore
        (other than the key ``excluding``).

        The directory is refreshed only when it knows no usable key: the write path's insert
        is refused if a key event was stored after the directory's position its decision
        started from (a key revoked meanwhile, say), and it decides again after a refresh.
        """
        if signer is not None:
            return signer
        found = self._keystore_signer(org, purpose, excluding)
        if found is None:
            self._directory.refresh()
            self._directory.require_ledger()
            self._directory.organisation(org)
            found = self._keystore_signer(org, purpose, excluding)
        if found is not None:
            return found
        raise KeyNotAuthorisedError(
            f"the keystore holds no active {purpose} key of {org!r}; pass a signer or add a key"
        )

    def _keystore_signer(
        self, org: str, purpose: str, excluding: str | None = None
    ) -> Signer | None:
        if self._directory.ledger is None or org not in self._directory.organisations:
            return None
        keys = sorted(
            self._directory.active_keys(org, purpose), key=lambda k: k.registered_at, reverse=True
        )
        for info in keys:
            if info.key_id == excluding:
                continue
            found = self.keystore.get(org, info.key_id)
            if found is not None:
                return found
        return None
