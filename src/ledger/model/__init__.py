"""The ledger's event types and aggregate states. Importing it registers every event type."""

from . import (  # noqa: F401
    activities,
    assessments,
    attendance,
    awards,
    calendar,
    certificates,
    erasure,
    federation,
    organisations,
    projects,
    service,
    settings,
    stations,
    timebank,
    volunteers,
)
