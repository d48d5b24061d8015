"""The ledger's commands, grouped by what they are about; :class:`ledger.Ledger` has them all."""
