"""Persistence: the database config, the ORM models and the Alembic migrations.

Owns: `config` (one SQLAlchemy config per process), `migrate` (upgrade, revisions), `models`
(tasks, usage rows, API keys) and `migrations`.

May import: `core`.
"""
