"""Database-enforced append-only ledger (PostgreSQL and SQLite).

UPDATE is refused unless it only fills a NULL `leaf_index` (the sequencer);
DELETE is refused always; on PostgreSQL TRUNCATE too. Checkpoints may never be
changed or removed. The app's database role must not own these tables: an
owner can disable triggers (see deploy/README.md).

Transactional tests (which flush the database after each test) clear the ledger
under `dropped()` first; nothing in the application calls it. A TRUNCATE of an
empty ledger is allowed, so the flush that follows succeeds.
"""

from contextlib import contextmanager

ENTRY_TABLE = "consent_ledger_ledgerentry"
CHECKPOINT_TABLE = "consent_ledger_checkpoint"
ENTRY_IMMUTABLE_COLUMNS = ("seq", "id", "kind", "subject_id", "recorded_by_id", "actor", "recorded_at", "body", "leaf_hash")
MESSAGE = "ledger is append-only"

_POSTGRES_INSTALL = f"""
CREATE OR REPLACE FUNCTION hub_ledger_entry_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.leaf_index IS NULL AND NEW.leaf_index IS NOT NULL
     AND (to_jsonb(NEW) - 'leaf_index') = (to_jsonb(OLD) - 'leaf_index') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '{MESSAGE}: % on %', TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION hub_ledger_refuse() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '{MESSAGE}: % on %', TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;

-- Truncating an empty table destroys nothing, and lets a test database be
-- flushed once its ledger rows were cleared under `dropped()`.
CREATE OR REPLACE FUNCTION hub_ledger_refuse_truncate() RETURNS trigger AS $$
DECLARE
  has_rows boolean;
BEGIN
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', TG_TABLE_NAME) INTO has_rows;
  IF has_rows THEN
    RAISE EXCEPTION '{MESSAGE}: TRUNCATE on %', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER hub_ledger_entry_guard BEFORE UPDATE OR DELETE ON {ENTRY_TABLE}
  FOR EACH ROW EXECUTE FUNCTION hub_ledger_entry_guard();
CREATE TRIGGER hub_ledger_entry_no_truncate BEFORE TRUNCATE ON {ENTRY_TABLE}
  FOR EACH STATEMENT EXECUTE FUNCTION hub_ledger_refuse_truncate();
CREATE TRIGGER hub_checkpoint_guard BEFORE UPDATE OR DELETE ON {CHECKPOINT_TABLE}
  FOR EACH ROW EXECUTE FUNCTION hub_ledger_refuse();
CREATE TRIGGER hub_checkpoint_no_truncate BEFORE TRUNCATE ON {CHECKPOINT_TABLE}
  FOR EACH STATEMENT EXECUTE FUNCTION hub_ledger_refuse_truncate();
"""

_POSTGRES_UNINSTALL = f"""
DROP TRIGGER IF EXISTS hub_ledger_entry_guard ON {ENTRY_TABLE};
DROP TRIGGER IF EXISTS hub_ledger_entry_no_truncate ON {ENTRY_TABLE};
DROP TRIGGER IF EXISTS hub_checkpoint_guard ON {CHECKPOINT_TABLE};
DROP TRIGGER IF EXISTS hub_checkpoint_no_truncate ON {CHECKPOINT_TABLE};
"""

_unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in ENTRY_IMMUTABLE_COLUMNS)
_SQLITE_INSTALL = [
    f"""CREATE TRIGGER hub_ledger_entry_no_update BEFORE UPDATE ON {ENTRY_TABLE}
    WHEN NOT (OLD.leaf_index IS NULL AND NEW.leaf_index IS NOT NULL AND {_unchanged})
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE on {ENTRY_TABLE}'); END""",
    f"""CREATE TRIGGER hub_ledger_entry_no_delete BEFORE DELETE ON {ENTRY_TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE on {ENTRY_TABLE}'); END""",
    f"""CREATE TRIGGER hub_checkpoint_no_update BEFORE UPDATE ON {CHECKPOINT_TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE on {CHECKPOINT_TABLE}'); END""",
    f"""CREATE TRIGGER hub_checkpoint_no_delete BEFORE DELETE ON {CHECKPOINT_TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE on {CHECKPOINT_TABLE}'); END""",
]
_SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS hub_ledger_entry_no_update",
    "DROP TRIGGER IF EXISTS hub_ledger_entry_no_delete",
    "DROP TRIGGER IF EXISTS hub_checkpoint_no_update",
    "DROP TRIGGER IF EXISTS hub_checkpoint_no_delete",
]


def _statements(vendor: str, install: bool) -> list[str]:
    if vendor == "postgresql":
        return [_POSTGRES_INSTALL if install else _POSTGRES_UNINSTALL]
    if vendor == "sqlite":
        return _SQLITE_INSTALL if install else _SQLITE_UNINSTALL
    raise RuntimeError(f"No append-only triggers for database vendor {vendor!r}")


def install(connection) -> None:
    """Create the guards on a Django database connection."""
    with connection.cursor() as cursor:
        for statement in _statements(connection.vendor, install=True):
            cursor.execute(statement)


def uninstall(connection) -> None:
    with connection.cursor() as cursor:
        for statement in _statements(connection.vendor, install=False):
            cursor.execute(statement)


@contextmanager
def dropped(connection):
    """Test-only: lift the guard (as a table owner could) for the duration."""
    uninstall(connection)
    try:
        yield
    finally:
        install(connection)
