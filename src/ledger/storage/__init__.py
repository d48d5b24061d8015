"""Where a ledger's events, Merkle log, idempotency claims and side tables are stored."""
