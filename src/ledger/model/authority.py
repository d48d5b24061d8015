"""Who may act on a volunteer: their home organisation, and those it agreed to.

A volunteer's home organisation is the one that registered them, or the one that accepted their
relationship transfer. It is the ledger's channel to the volunteer: it records their consent,
and only its signed ``AgreementGranted`` lets another organisation admit the volunteer as a
member, record consent for them, read their personal data or move their time-bank credit.
``docs/authority.md`` is the table these functions enforce; every check function that acts on a
volunteer's behalf calls one of them, for commands and signed bodies alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import AgreementMissingError, ConsentMissingError, KeyNotAuthorisedError
from .aggregates import Volunteer

if TYPE_CHECKING:
    from .port import Directory

RIGHTS = ("membership", "consent", "personal-data", "credit")
PERSONAL_DATA_CONSENT = "share-personal-data"
WHAT_A_RIGHT_ALLOWS = {
    "membership": "admit them as a member",
    "consent": "record their consent",
    "personal-data": "read their personal data",
    "credit": "move their time-bank credit",
}


def require_home(volunteer: Volunteer, org: str, action: str) -> None:
    """Only the home organisation itself may ``action`` (answer agreements, request transfers)."""
    if org != volunteer.home:
        raise KeyNotAuthorisedError(
            f"only volunteer {volunteer.number}'s home organisation {volunteer.home!r} may "
            f"{action}, not {org!r}"
        )


def require_right(volunteer: Volunteer, org: str, right: str) -> None:
    """``org`` is the home organisation, or holds a granted agreement for ``right``."""
    if org == volunteer.home or volunteer.holds(org, right):
        return
    raise AgreementMissingError(
        f"{org!r} may not {WHAT_A_RIGHT_ALLOWS[right]} for volunteer {volunteer.number}: that "
        f"needs a signed agreement from their home organisation {volunteer.home!r} granting "
        f"{org!r} the {right!r} right (request one, and {volunteer.home!r} grants it)",
        number=volunteer.number,
        org=org,
        home=volunteer.home,
        right=right,
    )


def require_personal_data_access(directory: Directory, volunteer: Volunteer, org: str) -> None:
    """The home organisation and its ancestors read personal data; any other organisation
    needs a ``personal-data`` agreement. Either way the volunteer must have consented."""
    if not directory.is_at_or_above(org, volunteer.home):
        require_right(volunteer, org, "personal-data")
    if not volunteer.consents.get(PERSONAL_DATA_CONSENT):
        raise ConsentMissingError(
            f"volunteer {volunteer.number} has not consented to {PERSONAL_DATA_CONSENT!r}; "
            f"their home organisation {volunteer.home!r} records that consent",
            number=volunteer.number,
            purpose=PERSONAL_DATA_CONSENT,
        )


def authorise_credit_move(
    directory: Directory,
    org: str,
    account_kind: str,
    account_owner: str,
    volunteer: Volunteer | None,
    bank_owner: str,
) -> None:
    """Who may move credit out of an account (not a reversal, which is the bank's alone).

    A volunteer's account: their home organisation, or an organisation holding a ``credit``
    agreement. An organisation's account: that organisation, or the bank's organisation and
    those above it (they run the bank's own accounts, the surplus account among them).
    """
    if account_kind == "vol":
        assert volunteer is not None
        require_right(volunteer, org, "credit")
        return
    if org != account_owner and not directory.is_at_or_above(org, bank_owner):
        raise KeyNotAuthorisedError(
            f"{org!r} may not move credit out of {account_owner!r}'s account: only that "
            f"organisation or the bank's organisation {bank_owner!r} (or one above it) may"
        )
