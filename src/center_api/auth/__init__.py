"""Who may call what: API keys and the caller (principal), the gate, rate limits, quotas.

Owns: key format and hashing (`keys`), the key table (`key_store`), quota holds and refunds
(`quotas`), route access markers (`access`), the app-level guard and the security headers layer
(`gate`), and rate-limit counters in memory or Redis behind one protocol (`rate_limit`).

May import: `core` and `db`.
"""
