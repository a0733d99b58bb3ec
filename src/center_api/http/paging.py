"""Paging bounds shared by list endpoints."""

# Databases' integer parameters overflow past 2**63 (SQLite raises); no real page is this deep.
MAX_OFFSET = 1_000_000_000
MAX_LIMIT = 500
