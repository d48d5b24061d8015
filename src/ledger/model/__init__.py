"""The ledger's event types and aggregate states. Importing it registers every event type."""

from . import organisations, volunteers  # noqa: F401
