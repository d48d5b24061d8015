"""The erasure of a volunteer's personal data, as a signed event that holds none of it.

The event names the volunteer only by number; it proves who erased and when, so an auditor can
see that an erasure happened, and retries and later registrations know not to store again.
"""

from __future__ import annotations

from ..errors import KeyNotAuthorisedError, RuleViolationError
from .aggregates import Volunteer
from .ids import VolunteerNumber
from .port import CommandPort, Directory
from .registry import Draft, EventData, event_type
from .volunteers import _same_aggregate, registered_volunteer


class PersonalDataErased(EventData):
    number: VolunteerNumber


@event_type("PersonalDataErased", "volunteer", PersonalDataErased)
def check_personal_data_erased(ctx: CommandPort, draft: Draft, data: PersonalDataErased) -> None:
    _same_aggregate(draft, data.number)
    volunteer = registered_volunteer(ctx, data.number)
    if volunteer.personal_data_erased:
        raise RuleViolationError(f"the personal data of volunteer {data.number} is erased")
    require_may_erase(ctx.directory, draft.org, volunteer)


def require_may_erase(directory: Directory, org: str, volunteer: Volunteer) -> None:
    """The volunteer's organisations, those above them, and the root may erase."""
    if org != directory.require_ledger().root_org and not any(
        directory.is_at_or_above(org, member) for member in volunteer.members_of
    ):
        raise KeyNotAuthorisedError(
            f"{org!r} may not erase volunteer {volunteer.number}'s personal data: only their "
            f"organisations {sorted(volunteer.members_of)}, those above them, or the root"
        )
