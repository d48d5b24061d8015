"""Typed commands: one dataclass per command of :class:`~ledger.Ledger`, run with
:meth:`Ledger.run <ledger.Ledger.run>`.

Each class carries the command's own arguments (the acting organisation first); how the command
runs is given to ``run`` alone and is the same for every command: ``idempotency_key`` (a retry
with the same key is answered from the stored result), ``signer`` (the organisation's key held
outside the ledger's keystore, such as a key file or an HSM) and ``occurred_at`` (when it
happened, if not now). ``tests/unit/core/test_typed_commands.py`` keeps every class's fields
equal to its method's parameters.

    made = ledger.run(RecordHours("org-a", activity_id=a, number=n, minutes=90), idempotency_key=k)
    made.value.record_id  # RecordHours is a Command[RecordsRef]: a str, known to type checkers
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any, ClassVar, Generic, TypeVar, get_args, get_origin

from ..results import (
    ActivityRef,
    AgreementRef,
    Assessed,
    CertificateRef,
    Collected,
    HonourRef,
    KeyRef,
    NoValue,
    RecordRef,
    RecordsRef,
    ResultValue,
    TransferredIn,
    TransferredOut,
    TransferRef,
    VolunteerRef,
)
from ..signing import VerifyingKey

__all__ = ["COMMANDS", "Command"]


R = TypeVar("R", bound=ResultValue, covariant=True)


@dataclass(frozen=True)
class Command(Generic[R]):
    """A command's arguments; ``ledger_method`` names the :class:`~ledger.Ledger` method it runs,
    and the type argument (``result_type``) the type of its result's value."""

    ledger_method: ClassVar[str] = ""
    result_type: ClassVar[type[ResultValue]] = NoValue
    org: str

    def __init_subclass__(cls, **options: Any) -> None:
        super().__init_subclass__(**options)
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is Command:
                (cls.result_type,) = get_args(base)

    def arguments(self) -> dict[str, Any]:
        """The method's keyword arguments (without ``org``)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.pop("org", None)
        return values

    def to_json(self) -> dict[str, Any]:
        return {"command": self.ledger_method, **asdict(self)}


@dataclass(frozen=True)
class AcceptTransfer(Command[NoValue]):
    """The receiving organisation accepts: membership moves, hours stay with the person."""

    ledger_method: ClassVar[str] = "accept_transfer"
    number: str
    transfer_id: str


@dataclass(frozen=True)
class AddLogKey(Command[KeyRef]):
    """Introduce a new log key (root only). Until the old one is retired, checkpoints carry both
    signatures, so verifiers can move to the new key during the overlap.
    """

    ledger_method: ClassVar[str] = "add_log_key"


@dataclass(frozen=True)
class AddPeer(Command[NoValue]):
    """Pin a peer ledger's trust anchors and witness policy (root authority only)."""

    ledger_method: ClassVar[str] = "add_peer"
    trust: dict[str, Any]


@dataclass(frozen=True)
class AddServiceField(Command[NoValue]):
    """The ``add_service_field`` command."""

    ledger_method: ClassVar[str] = "add_service_field"
    field: str


@dataclass(frozen=True)
class ApproveRecord(Command[NoValue]):
    """Approve a record (fewer minutes than recorded need a reason); stars and credit follow."""

    ledger_method: ClassVar[str] = "approve_record"
    record_id: str
    approved_minutes: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ApproveRecords(Command[NoValue]):
    """Approve many records at once, all or nothing."""

    ledger_method: ClassVar[str] = "approve_records"
    approvals: Sequence[dict[str, Any]]


@dataclass(frozen=True)
class Assess(Command[Assessed]):
    """Compute and publish, signed by the scheme's owner ``org``, one ``AssessmentPublished`` per
    unit, each committing to its figures and to the log size they were computed at. ``value``:
    ``log_size`` and ``units`` (unit -> score and rating).
    """

    ledger_method: ClassVar[str] = "assess"
    scheme_id: str
    period: str
    verify: bool = True


@dataclass(frozen=True)
class AttestStationItem(Command[NoValue]):
    """Attest that ``station`` meets one checklist item of a scheme, with evidence references
    (``sha256`` of a document kept elsewhere, optional https ``url``).
    """

    ledger_method: ClassVar[str] = "attest_station_item"
    station: str
    scheme_id: str
    item: str
    evidence: list[dict[str, Any]]
    attested_on: date


@dataclass(frozen=True)
class AttestStationItems(Command[NoValue]):
    """Several items at once (each ``{"item": ..., "evidence": [...]}``), all or none."""

    ledger_method: ClassVar[str] = "attest_station_items"
    station: str
    scheme_id: str
    items: list[dict[str, Any]]
    attested_on: date


@dataclass(frozen=True)
class CancelActivity(Command[NoValue]):
    """Cancel an activity: it takes no new records; records already made stand."""

    ledger_method: ClassVar[str] = "cancel_activity"
    activity_id: str
    reason: str


@dataclass(frozen=True)
class CheckIn(Command[NoValue]):
    """A volunteer checks in at an activity (method: qr, kiosk or manual)."""

    ledger_method: ClassVar[str] = "check_in"
    activity_id: str
    number: str
    method: str
    at: datetime


@dataclass(frozen=True)
class CheckOut(Command[NoValue]):
    """The volunteer checks out; the session's minutes can then become a record."""

    ledger_method: ClassVar[str] = "check_out"
    activity_id: str
    number: str
    method: str
    at: datetime


@dataclass(frozen=True)
class CollectSurplus(Command[Collected]):
    """Move what the volunteers' surplus holdings hold into the bank's surplus account."""

    ledger_method: ClassVar[str] = "collect_surplus"
    bank_id: str
    numbers: list[str]


@dataclass(frozen=True)
class CommendProject(Command[HonourRef]):
    """Grant the project's owner an honour (the honours rules apply) and record on the project that
    it commends it, in one command; ``result.value.honour_id``.
    """

    ledger_method: ClassVar[str] = "commend_project"
    project_id: str
    honour: str
    citation: str
    granted_on: date


@dataclass(frozen=True)
class CorrectRecord(Command[NoValue]):
    """Amend an approved record by a signed minute delta; the original stays as it was."""

    ledger_method: ClassVar[str] = "correct_record"
    record_id: str
    delta_minutes: int
    reason: str


@dataclass(frozen=True)
class DeclareHolidays(Command[NoValue]):
    """Holidays (YYYY-MM-DD) that do not count as working days for late records."""

    ledger_method: ClassVar[str] = "declare_holidays"
    dates: list[str]


@dataclass(frozen=True)
class DeclineAgreement(Command[NoValue]):
    """The ``decline_agreement`` command."""

    ledger_method: ClassVar[str] = "decline_agreement"
    number: str
    agreement_id: str
    reason: str


@dataclass(frozen=True)
class DeclineTransfer(Command[NoValue]):
    """The ``decline_transfer`` command."""

    ledger_method: ClassVar[str] = "decline_transfer"
    number: str
    transfer_id: str
    reason: str


@dataclass(frozen=True)
class GiveConsent(Command[NoValue]):
    """Record the volunteer's consent to a purpose (for example ``certificate-name``)."""

    ledger_method: ClassVar[str] = "give_consent"
    number: str
    purpose: str


@dataclass(frozen=True)
class GrantAgreement(Command[NoValue]):
    """The home organisation agrees, for the volunteer: the requester may use the rights."""

    ledger_method: ClassVar[str] = "grant_agreement"
    number: str
    agreement_id: str


@dataclass(frozen=True)
class GrantHonour(Command[HonourRef]):
    """Grant a named honour to a volunteer or an organisation; ``result.value.honour_id``."""

    ledger_method: ClassVar[str] = "grant_honour"
    recipient_kind: str
    recipient: str
    honour: str
    citation: str
    granted_on: date


@dataclass(frozen=True)
class IssueCertificate(Command[CertificateRef]):
    """Issue a certificate of the volunteer's approved service in the period, as far as ``org`` and
    those below it recorded it; ``result.value.certificate_number``.
    """

    ledger_method: ClassVar[str] = "issue_certificate"
    number: str
    period_from: date
    period_to: date
    issuer_contact: str
    language: str = "zh"
    include_masked_name: bool = False
    verify_base_url: str | None = None
    allow_local_links: bool = False


@dataclass(frozen=True)
class Join(Command[NoValue]):
    """``org`` admits the volunteer as a member (a volunteer may belong to several)."""

    ledger_method: ClassVar[str] = "join"
    number: str


@dataclass(frozen=True)
class Leave(Command[NoValue]):
    """The volunteer leaves ``member`` (default ``org``): signed by that organisation, or by the
    volunteer's home organisation ending another organisation's membership.
    """

    ledger_method: ClassVar[str] = "leave"
    number: str
    member: str | None = None


@dataclass(frozen=True)
class LinkProjectActivity(Command[NoValue]):
    """Put an activity of ``org`` (or of an organisation below it) into a project."""

    ledger_method: ClassVar[str] = "link_project_activity"
    project_id: str
    activity_id: str


@dataclass(frozen=True)
class NewKey(Command[KeyRef]):
    """Generate a key for ``for_org``, keep it in the keystore, register it; return its id."""

    ledger_method: ClassVar[str] = "new_key"
    for_org: str
    purpose: str = "signing"


@dataclass(frozen=True)
class NominateProject(Command[NoValue]):
    """The ``nominate_project`` command."""

    ledger_method: ClassVar[str] = "nominate_project"
    project_id: str
    nomination: str
    nominated_on: date


@dataclass(frozen=True)
class OpenTimeBank(Command[NoValue]):
    """``org`` runs a time bank: approved minutes in its part of the tree earn credit at
    ``credit_numerator / credit_denominator`` per minute, up to ``cap_minutes`` per volunteer;
    credit beyond the cap goes to ``surplus_account`` when one is named.
    """

    ledger_method: ClassVar[str] = "open_time_bank"
    bank_id: str
    credit_numerator: int = 1
    credit_denominator: int = 1
    cap_minutes: int | None = None
    surplus_account: str | None = None


@dataclass(frozen=True)
class PublishActivity(Command[ActivityRef]):
    """Publish an activity; its id is ``result.value.activity_id``."""

    ledger_method: ClassVar[str] = "publish_activity"
    title: str
    field: str
    place: str
    starts_at: datetime
    ends_at: datetime
    leader: str
    content: str
    station: str | None = None
    max_minutes: int | None = None
    allow_repeats: bool = False
    people_served: int | None = None
    activity_id: str | None = None


@dataclass(frozen=True)
class PublishAssessmentScheme(Command[NoValue]):
    """Publish version 1 of a scheme owned by ``org``: ``scheme`` holds ``scheme_id``, ``name``,
    ``unit_kind``, ``indicators`` (indicator, weight per-mille, target), ``bands`` (band,
    min_score) and, for station standards, ``checklist`` (item, title).
    """

    ledger_method: ClassVar[str] = "publish_assessment_scheme"
    scheme: dict[str, Any]


@dataclass(frozen=True)
class PublishCalendar(Command[NoValue]):
    """The next version of the ledger's calendar: its IANA time zone, holidays and adjusted working
    days (weekends declared working). Records are judged by the version in force when they are
    made; an earlier record keeps the judgement it was given.
    """

    ledger_method: ClassVar[str] = "publish_calendar"
    time_zone: str
    holidays: list[str]
    working_days: list[str]


@dataclass(frozen=True)
class PublishStarScheme(Command[NoValue]):
    """Publish a star scheme owned by ``org`` (default thresholds 100/300/600/1000/1500 h)."""

    ledger_method: ClassVar[str] = "publish_star_scheme"
    scheme_id: str
    name: str
    thresholds_hours: list[int] | None = None


@dataclass(frozen=True)
class RecordFromAttendance(Command[RecordRef]):
    """Record the minutes between the volunteer's last check-in and check-out."""

    ledger_method: ClassVar[str] = "record_from_attendance"
    activity_id: str
    number: str
    content: str | None = None


@dataclass(frozen=True)
class RecordHours(Command[RecordsRef]):
    """Record one volunteer's minutes for an activity; ``result.value.record_id``."""

    ledger_method: ClassVar[str] = "record_hours"
    activity_id: str
    number: str
    minutes: int
    service_date: date | None = None
    content: str | None = None


@dataclass(frozen=True)
class RecordRoster(Command[RecordsRef]):
    """Record many volunteers for one activity, all or nothing, each checked by the rules."""

    ledger_method: ClassVar[str] = "record_roster"
    activity_id: str
    entries: Sequence[dict[str, Any]]


@dataclass(frozen=True)
class RegisterKey(Command[NoValue]):
    """Register a public key of ``for_org``, signed by ``org`` (its parent, or itself)."""

    ledger_method: ClassVar[str] = "register_key"
    for_org: str
    public_key: VerifyingKey
    purpose: str = "signing"


@dataclass(frozen=True)
class RegisterOrganisation(Command[NoValue]):
    """Register ``org_id`` under ``org``, which signs as its parent."""

    ledger_method: ClassVar[str] = "register_organisation"
    org_id: str
    name: str
    kind: str
    region: str


@dataclass(frozen=True)
class RegisterProject(Command[NoValue]):
    """The ``register_project`` command."""

    ledger_method: ClassVar[str] = "register_project"
    project_id: str
    name: str
    field: str
    description: str


@dataclass(frozen=True)
class RegisterVolunteer(Command[VolunteerRef]):
    """Register a volunteer under a new random number (``result.value.number``)."""

    ledger_method: ClassVar[str] = "register_volunteer"
    personal: dict[str, Any] | None = None
    number: str | None = None


@dataclass(frozen=True)
class RejectRecord(Command[NoValue]):
    """The ``reject_record`` command."""

    ledger_method: ClassVar[str] = "reject_record"
    record_id: str
    reason: str


@dataclass(frozen=True)
class RequestAgreement(Command[AgreementRef]):
    """``org`` asks the volunteer's home organisation for ``rights`` (``membership``, ``consent``,
    ``personal-data``, ``credit``). The id is ``result.value.agreement_id``.
    """

    ledger_method: ClassVar[str] = "request_agreement"
    number: str
    rights: list[str]


@dataclass(frozen=True)
class RequestTransfer(Command[TransferRef]):
    """The volunteer's current organisation asks ``to_org`` to take them over."""

    ledger_method: ClassVar[str] = "request_transfer"
    number: str
    to_org: str


@dataclass(frozen=True)
class RetireLogKey(Command[NoValue]):
    """Stop signing checkpoints with a log key; checkpoints it signed stay verifiable."""

    ledger_method: ClassVar[str] = "retire_log_key"
    key_id: str
    reason: str


@dataclass(frozen=True)
class RetirePeer(Command[NoValue]):
    """Stop trusting a pinned peer ledger (root authority only)."""

    ledger_method: ClassVar[str] = "retire_peer"
    origin: str
    reason: str


@dataclass(frozen=True)
class ReverseTransfer(Command[TransferRef]):
    """Reverse a mistaken transfer by a new one that points at it (at most once)."""

    ledger_method: ClassVar[str] = "reverse_transfer"
    bank_id: str
    transfer_id: str
    account: str | None = None  # either account of the transfer: found there, not searched for


@dataclass(frozen=True)
class ReviseAssessmentScheme(Command[NoValue]):
    """The next version of a scheme; results published earlier keep their version. A retry with the
    same key returns the first revision.
    """

    ledger_method: ClassVar[str] = "revise_assessment_scheme"
    scheme: dict[str, Any]


@dataclass(frozen=True)
class ReviseStarScheme(Command[NoValue]):
    """A new version of the scheme. Each volunteer's stars follow it at their next change of
    approved minutes (a star their minutes no longer reach is then withdrawn).
    """

    ledger_method: ClassVar[str] = "revise_star_scheme"
    scheme_id: str
    name: str
    thresholds_hours: list[int]


@dataclass(frozen=True)
class RevokeCertificate(Command[NoValue]):
    """Revoke a certificate with a reason; it stays provable as issued, then revoked."""

    ledger_method: ClassVar[str] = "revoke_certificate"
    certificate_number: str
    reason: str


@dataclass(frozen=True)
class RevokeHonour(Command[NoValue]):
    """The ``revoke_honour`` command."""

    ledger_method: ClassVar[str] = "revoke_honour"
    recipient_kind: str
    recipient: str
    honour_id: str
    reason: str


@dataclass(frozen=True)
class RevokeKey(Command[NoValue]):
    """Revoke a key: it signs nothing new; what it signed before stays valid."""

    ledger_method: ClassVar[str] = "revoke_key"
    for_org: str
    key_id: str
    reason: str


@dataclass(frozen=True)
class SetDailyLimit(Command[NoValue]):
    """The most minutes a volunteer may be credited for one day (default 24 hours)."""

    ledger_method: ClassVar[str] = "set_daily_limit"
    minutes: int


@dataclass(frozen=True)
class TransferCredit(Command[TransferRef]):
    """Move credit: one debit and one credit of the same amount, stored together."""

    ledger_method: ClassVar[str] = "transfer_credit"
    bank_id: str
    from_account: str
    to_account: str
    amount: int
    kind: str = "transfer"
    reverses: str | None = None


@dataclass(frozen=True)
class TransferIn(Command[TransferredIn]):
    """Receive a volunteer from a pinned peer ledger once its package verifies."""

    ledger_method: ClassVar[str] = "transfer_in"
    number: str
    package: dict[str, Any]


@dataclass(frozen=True)
class TransferOut(Command[TransferredOut]):
    """The home organisation moves a volunteer to a pinned peer ledger."""

    ledger_method: ClassVar[str] = "transfer_out"
    number: str
    to_origin: str


@dataclass(frozen=True)
class VoidRecord(Command[NoValue]):
    """An authority above the recording organisation voids a record, with grounds."""

    ledger_method: ClassVar[str] = "void_record"
    record_id: str
    grounds: str


@dataclass(frozen=True)
class WithdrawAgreement(Command[NoValue]):
    """The home organisation (or the holder) ends a granted agreement; what was done under it stays
    done, nothing new is allowed by it.
    """

    ledger_method: ClassVar[str] = "withdraw_agreement"
    number: str
    agreement_id: str
    reason: str


@dataclass(frozen=True)
class WithdrawConsent(Command[NoValue]):
    """The ``withdraw_consent`` command."""

    ledger_method: ClassVar[str] = "withdraw_consent"
    number: str
    purpose: str


@dataclass(frozen=True)
class WithdrawStationItem(Command[NoValue]):
    """The ``withdraw_station_item`` command."""

    ledger_method: ClassVar[str] = "withdraw_station_item"
    station: str
    scheme_id: str
    item: str
    reason: str


COMMANDS: dict[str, type[Command[Any]]] = {
    cls.ledger_method: cls for cls in Command.__subclasses__()
}
"""Every command class, by the name of the method it runs."""

__all__ += [cls.__name__ for cls in COMMANDS.values()]
