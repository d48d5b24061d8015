"""Federation of city ledgers: peers, transfers between ledgers, and the provincial view."""
