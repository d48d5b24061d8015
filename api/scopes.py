"""The API key scope each event type needs when its signed body is submitted (``POST /events``):
the scope of the route that makes the same event, so a key cannot do through signed bodies what
its scopes do not let it do through the routes."""

from __future__ import annotations

from .problems import Problem

_BY_SCOPE = {
    "register": (
        "OrganisationRegistered VolunteerRegistered ConsentGiven ConsentWithdrawn "
        "MembershipJoined MembershipLeft TransferRequested TransferAccepted TransferDeclined "
        "VolunteerTransferredOut "
        "AgreementRequested AgreementGranted AgreementDeclined AgreementWithdrawn"
    ),
    "keys": "KeyRegistered KeyRevoked LogKeyAdded LogKeyRetired",
    "record": "ActivityPublished ActivityCancelled CheckedIn CheckedOut HoursRecorded",
    "approve": "RecordApproved RecordRejected RecordCorrected RecordVoided",
    "award": (
        "StarSchemePublished StarSchemeRevised StarAttained StarWithdrawn HonourGranted "
        "HonourRevoked OrganisationHonourGranted OrganisationHonourRevoked CertificateIssued "
        "CertificateRevoked AssessmentSchemePublished AssessmentSchemeRevised "
        "AssessmentPublished ProjectRegistered ProjectNominated ProjectActivityLinked "
        "ProjectCommended StationItemAttested StationItemWithdrawn"
    ),
    "timebank": "TimeBankOpened CreditEarned CreditClawedBack CreditSent CreditReceived",
    "admin": (
        "LedgerSettingsChanged HolidaysDeclared ServiceFieldAdded CalendarPublished "
        "PeerPinned PeerRetired"
    ),
    "erase": "PersonalDataErased",
}
EVENT_SCOPES = {event: scope for scope, events in _BY_SCOPE.items() for event in events.split()}
# A transfer-in is stored only by Ledger.transfer_in, which verifies the peer's package first.
NOT_SUBMITTABLE = frozenset({"LedgerCreated", "InboundTransferAccepted", "ServiceCarriedIn"})


def require_event_scope(event_type: object, scopes: frozenset[str]) -> None:
    """Raise a 403 problem unless ``scopes`` include the scope ``event_type`` needs."""
    if event_type in NOT_SUBMITTABLE:
        raise Problem(
            403,
            "not-submittable",
            "Not submittable",
            f"a {event_type} is made by the ledger itself (ledger init, or a verified "
            "transfer-in), never submitted as a signed body",
        )
    scope = EVENT_SCOPES.get(str(event_type))
    if scope is None:
        return  # an unknown type: the library refuses it with a clear 400
    if scope not in scopes:
        raise Problem(
            403,
            "scope-missing",
            "Scope missing",
            f"a signed {event_type} needs an API key with the {scope!r} scope; "
            f"this key has {sorted(scopes)}",
        )
