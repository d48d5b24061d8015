"""The XML Schema 1.1 ``dateTime`` check that proof ``created`` values must pass.

Proof Configuration (eddsa-jcs-2022, step 3) must raise an error for a ``created`` that is not a
valid XMLSCHEMA11-2 dateTime. Data Integrity asks issuers for a dateTimeStamp (an explicit ``Z``
or offset) and lets verifiers accept one without, read as UTC; so signing demands the zone and
verifying does not.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime

from ledger.errors import InvalidInputError

_XSD_DATETIME = re.compile(
    r"-?(?P<year>[1-9][0-9]{3,}|0[0-9]{3})-(?P<month>0[1-9]|1[0-2])-(?P<day>0[1-9]|[12][0-9]|3[01])"
    r"T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|24:00:00(\.0+)?)"
    r"(?P<zone>Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)


def check_datetime(text: object, *, what: str, zone_required: bool) -> str:
    """Return ``text`` if it is an XSD dateTime (with a zone when required); else raise."""
    match = _XSD_DATETIME.fullmatch(text) if isinstance(text, str) else None
    if match is None or not _day_exists(match):
        raise InvalidInputError(f"{what} {text!r} is not an XML Schema dateTime")
    if zone_required and match["zone"] is None:
        raise InvalidInputError(f"{what} {text!r} needs a time zone ('Z' or an offset)")
    return match.string


def format_datetime(value: datetime) -> str:
    """A timezone-aware datetime as UTC with a ``Z``, the form the W3C vectors use."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError("created must be a timezone-aware datetime")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day_exists(match: re.Match[str]) -> bool:
    # The last four digits keep whether the year is a leap year (leap years repeat every 400
    # years) and bound the work: a year of thousands of digits is not converted whole.
    year = int(match["year"][-4:])
    leap_year = 2000 if year == 0 or calendar.isleap(year) else 2001
    return int(match["day"]) <= calendar.monthrange(leap_year, int(match["month"]))[1]
