"""Schema upgrade steps: ``STEPS[n]`` upgrades a journal from schema ``n`` to ``n + 1``.

Rules for a new step (calibre style): bump :data:`crossmargin.storage.schema.SCHEMA_VERSION`,
add the step here as plain SQL on the raw :class:`sqlite3.Connection` (it runs inside the
single exclusive upgrade transaction; never COMMIT in a step), keep the previous schema's
database file under ``tests/storage/data/`` (made by ``tests/storage/make_journal_v1.py``
or its successor) and let ``tests/storage/test_migrations.py`` upgrade it. Steps must be
written against the *old* tables as they were, never by importing the current models.

Version history
---------------
* v1 (CrossMargin 0.1): accounts, instruments, tiers, positions, tags, fills, funding,
  transfers, balance/equity snapshots, exchange positions, sync cursors, import batches,
  meta.
"""

from __future__ import annotations

from crossmargin.storage.db import MigrationStep

STEPS: dict[int, MigrationStep] = {}
