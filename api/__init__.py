"""The HTTP API over the ledger library."""
