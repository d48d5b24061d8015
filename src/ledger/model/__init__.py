"""The ledger's event types and aggregate states. Importing it registers every event type."""

from . import (  # noqa: F401
    activities,
    attendance,
    awards,
    calendar,
    certificates,
    erasure,
    organisations,
    service,
    settings,
    timebank,
    volunteers,
)
