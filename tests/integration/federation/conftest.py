"""Three city ledgers on three PostgreSQL databases (the fixture is in federation_support)."""

from federation_support import cities

__all__ = ["cities"]
