"""Database-enforced append-only ledger (PostgreSQL and SQLite).

The entries, their leaf positions, the Merkle nodes and the checkpoints are
INSERT only: UPDATE and DELETE are refused always; on PostgreSQL TRUNCATE too.
(Sequencing inserts LedgerLeaf rows and never rewrites an entry; only the
sequencer's queue, LedgerPending, is deleted from.) The app's database role
must not own these tables: an owner can disable triggers (see deploy/README.md).

Transactional tests (which flush the database after each test) clear the ledger
under `dropped()` first; nothing in the application calls it. A TRUNCATE of an
empty table is allowed, so the flush that follows succeeds.
"""

from contextlib import contextmanager

ENTRY_TABLE = "consent_ledger_ledgerentry"
LEAF_TABLE = "consent_ledger_ledgerleaf"
NODE_TABLE = "consent_ledger_merklenode"
CHECKPOINT_TABLE = "consent_ledger_checkpoint"
MESSAGE = "ledger is append-only"

# Table -> the prefix of its triggers' names.
GUARDED = {
    ENTRY_TABLE: "hub_ledger_entry",
    LEAF_TABLE: "hub_ledger_leaf",
    NODE_TABLE: "hub_merkle_node",
    CHECKPOINT_TABLE: "hub_checkpoint",
}

_POSTGRES_FUNCTIONS = f"""
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
"""


def _postgres_install(tables) -> list[str]:
    return [_POSTGRES_FUNCTIONS] + [
        f"""CREATE TRIGGER {name}_guard BEFORE UPDATE OR DELETE ON {table}
          FOR EACH ROW EXECUTE FUNCTION hub_ledger_refuse();
        CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {table}
          FOR EACH STATEMENT EXECUTE FUNCTION hub_ledger_refuse_truncate();"""
        for table, name in tables.items()
    ]


def _postgres_uninstall(tables) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {name}_guard ON {table}; DROP TRIGGER IF EXISTS {name}_no_truncate ON {table};"
        for table, name in tables.items()
    ]


def _sqlite_install(tables) -> list[str]:
    return [
        f"""CREATE TRIGGER {name}_no_{op.lower()} BEFORE {op} ON {table}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}: {op} on {table}'); END"""
        for table, name in tables.items()
        for op in ("UPDATE", "DELETE")
    ]


def _sqlite_uninstall(tables) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name}_no_{op}" for name in tables.values() for op in ("update", "delete")]


_STATEMENTS = {
    ("postgresql", True): _postgres_install,
    ("postgresql", False): _postgres_uninstall,
    ("sqlite", True): _sqlite_install,
    ("sqlite", False): _sqlite_uninstall,
}


def _run(connection, install: bool, tables) -> None:
    statements = _STATEMENTS.get((connection.vendor, install))
    if statements is None:
        raise RuntimeError(f"No append-only triggers for database vendor {connection.vendor!r}")
    with connection.cursor() as cursor:
        for statement in statements({table: GUARDED[table] for table in tables}):
            cursor.execute(statement)


def install(connection, tables=tuple(GUARDED)) -> None:
    """Create the guards on a Django database connection (migrations name the
    tables that exist at their point in history)."""
    _run(connection, True, tables)


def uninstall(connection, tables=tuple(GUARDED)) -> None:
    _run(connection, False, tables)


@contextmanager
def dropped(connection):
    """Test-only: lift the guard (as a table owner could) for the duration."""
    uninstall(connection)
    try:
        yield
    finally:
        install(connection)
