"""Views of the ledger kept in SQL tables: balances, organisation figures, time-bank accounts
and city statistics. Derived data: never signed, never trusted by the audit, always
rebuildable."""

from .database import ViewDatabase
from .queries import ViewQueries
from .runner import VIEWS, Projections

__all__ = ["VIEWS", "Projections", "ViewDatabase", "ViewQueries"]
