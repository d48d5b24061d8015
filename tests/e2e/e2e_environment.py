"""Settings of the servers the end-to-end tests start, shared by their fixtures and modules (which
import it by this name: importing ``conftest`` by name finds whichever was loaded last)."""

from __future__ import annotations

# The servers under test listen on loopback, so the credentials they sign may link there.
LOCAL_LINKS = {"LEDGER_ALLOW_LOCAL_LINKS": "true"}
SMALL_BODY_LIMIT = 2048
