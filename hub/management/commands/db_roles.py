"""The hub's two PostgreSQL roles (deploy/DATABASE.md, "Roles"; DESIGN.md principle 4).

    manage.py db_roles --owner hub_owner --runtime hub_app                       # print the SQL
    manage.py db_roles --owner hub_owner --runtime hub_app --apply [--database keys]

The owner role owns every table and runs the migrations; the runtime role,
which web, worker and beat connect as, owns nothing. A table owner can disable
the ledger's append-only triggers and truncate it; the runtime role can do
neither, and has no UPDATE or DELETE on the ledger and checkpoint tables (nor
on any other table the append-only triggers guard, nor on their partitions),
so the log stays append-only even against the hub's own code.

The same idempotent SQL serves every database of the hub (the main one and the
key store) and both moments it is needed:
- once, as a superuser (or the role that created the database): creates the
  roles when missing, gives the owner the schema, hands anything the runtime
  role owns to the owner;
- after every `migrate`, as the owner (the migrate job): grants on the tables
  that exist, takes UPDATE and DELETE on the ledger back, and sets the default
  privileges that tables of later migrations get. Each step that needs more
  than the owner has is skipped when it is already in place.
"""

import re

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from consent_ledger.triggers import GUARDED

# Lower-case PostgreSQL identifiers only: the names go into the SQL as they are.
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SCHEMA = "public"
# The Merkle log and its checkpoints: SELECT and INSERT, nothing else. The
# sequencer's queue (LedgerPending) is not among them: it takes entries off it
# with DELETE.
APPEND_ONLY_TABLES = tuple(GUARDED)
# The schema's history is the owner's to write.
READ_ONLY_TABLES = ("django_migrations",)


def _named(tables) -> str:
    """The oids of those of `tables` that exist in the schema."""
    names = ", ".join(f"'{table}'" for table in tables)
    return f"""SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = '{SCHEMA}' AND c.relname IN ({names})"""


# Whatever the append-only guards protect is append-only for the runtime role
# too, by name or not (a table the partitioning adds, deploy/sql/partition_ledger.sql).
_GUARDED_BY_TRIGGER = f"""SELECT tg.tgrelid FROM pg_trigger tg
        JOIN pg_proc p ON p.oid = tg.tgfoid
        JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = '{SCHEMA}' AND p.proname IN ('hub_ledger_refuse', 'hub_ledger_refuse_truncate')"""


def _revoke_loop(seeds: str, privileges: str, runtime: str) -> str:
    """REVOKE on each table `seeds` selects, and on their partitions (a
    partition is a table of its own, which can be written directly)."""
    return f"""DO $$
DECLARE relation regclass;
BEGIN
  FOR relation IN
    WITH RECURSIVE tables(oid) AS (
      SELECT oid FROM ({seeds}) AS seeds(oid)
      UNION SELECT i.inhrelid FROM pg_inherits i JOIN tables ON i.inhparent = tables.oid)
    SELECT oid::regclass FROM tables
  LOOP
    EXECUTE 'REVOKE {privileges} ON ' || relation::text || ' FROM "{runtime}"';
  END LOOP;
END $$"""


def role_statements(owner: str, runtime: str) -> list[str]:
    """The statements, in order; every one can run again."""
    o, r = f'"{owner}"', f'"{runtime}"'
    return [
        # 1. The roles, when missing (needs CREATEROLE; skipped once they exist).
        # Roles belong to the server, not to a database: the command run for
        # the main database and the key store at once may both find a role
        # missing, and the second CREATE then fails; it finds what it wanted.
        f"""DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{owner}') THEN
    BEGIN CREATE ROLE {o} LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{runtime}') THEN
    BEGIN CREATE ROLE {r} LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  END IF;
END $$""",
        # 2. A runtime role with powers beyond its grants would make them moot.
        f"""DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{runtime}'
             AND (rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb OR rolreplication)) THEN
    RAISE EXCEPTION 'the runtime role {runtime} must not be a superuser nor create roles or databases';
  END IF;
  IF pg_has_role('{runtime}', '{owner}', 'MEMBER') THEN
    RAISE EXCEPTION 'the runtime role {runtime} must not be a member of the owner role {owner}';
  END IF;
END $$""",
        # 3. It owns nothing: whatever it created (an app once migrated as
        #    itself) goes to the owner. Needs a superuser; skipped when there is nothing.
        f"""DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_class WHERE relowner = '{runtime}'::regrole)
     OR EXISTS (SELECT FROM pg_namespace WHERE nspowner = '{runtime}'::regrole)
     OR EXISTS (SELECT FROM pg_proc WHERE proowner = '{runtime}'::regrole)
     OR EXISTS (SELECT FROM pg_type WHERE typowner = '{runtime}'::regrole)
     OR EXISTS (SELECT FROM pg_database WHERE datname = current_database() AND datdba = '{runtime}'::regrole) THEN
    REASSIGN OWNED BY {r} TO {o};
  END IF;
END $$""",
        # 4. Both may connect, whatever PUBLIC may.
        f"""DO $$
BEGIN
  IF NOT has_database_privilege('{owner}', current_database(), 'CONNECT') THEN
    EXECUTE 'GRANT CONNECT ON DATABASE ' || quote_ident(current_database()) || ' TO {o}';
  END IF;
  IF NOT has_database_privilege('{runtime}', current_database(), 'CONNECT') THEN
    EXECUTE 'GRANT CONNECT ON DATABASE ' || quote_ident(current_database()) || ' TO {r}';
  END IF;
END $$""",
        # 5. The owner creates in the schema, the runtime role only uses it.
        #    PostgreSQL before 15 let PUBLIC create there (CVE-2018-1058).
        f"""DO $$
BEGIN
  IF has_schema_privilege('{runtime}', '{SCHEMA}', 'CREATE') THEN
    REVOKE CREATE ON SCHEMA {SCHEMA} FROM PUBLIC;
    REVOKE CREATE ON SCHEMA {SCHEMA} FROM {r};
  END IF;
  IF NOT has_schema_privilege('{owner}', '{SCHEMA}', 'CREATE') THEN GRANT USAGE, CREATE ON SCHEMA {SCHEMA} TO {o}; END IF;
  IF NOT has_schema_privilege('{runtime}', '{SCHEMA}', 'USAGE') THEN GRANT USAGE ON SCHEMA {SCHEMA} TO {r}; END IF;
  IF has_schema_privilege('{runtime}', '{SCHEMA}', 'CREATE') THEN
    RAISE EXCEPTION 'the runtime role {runtime} may still create in schema {SCHEMA} (through another role)';
  END IF;
END $$""",
        # 6. The application's rows: read and write, never TRUNCATE (it skips
        #    row triggers) nor TRIGGER or REFERENCES.
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {SCHEMA} TO {r}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {SCHEMA} FROM {r}",
        _revoke_loop(f"{_named(APPEND_ONLY_TABLES)}\n        UNION {_GUARDED_BY_TRIGGER}", "UPDATE, DELETE", runtime),
        _revoke_loop(_named(READ_ONLY_TABLES), "INSERT, UPDATE, DELETE", runtime),
        # 7. Sequences (identity columns): nextval only; no setval.
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO {r}",
        f"REVOKE SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {SCHEMA} FROM {r}",
        # 8. Tables and sequences the owner creates later (a new migration) get
        #    the same. A later ledger table or partition gets UPDATE and DELETE
        #    from these until this runs again: the migrate job runs it after
        #    every migrate (the triggers guard the rows meanwhile).
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {SCHEMA} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {SCHEMA} GRANT USAGE ON SEQUENCES TO {r}",
    ]


class Command(BaseCommand):
    help = (
        "Print (or with --apply, run on one database) the SQL that sets up the migration owner role and "
        "the runtime role: the runtime role owns nothing and may not UPDATE, DELETE or TRUNCATE the "
        "ledger. Idempotent: run it as a superuser once per database, then as the owner after every migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument("--owner", required=True, help="The role that owns the tables and runs migrations.")
        parser.add_argument("--runtime", required=True, help="The role web, worker and beat connect as.")
        parser.add_argument("--apply", action="store_true", help="Run the SQL instead of printing it.")
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS,
            help="With --apply: the database alias to run it on (default, or keys for the key store).",
        )

    def handle(self, *args, owner, runtime, apply, database, **options):
        for name in (owner, runtime):
            if not ROLE_NAME.fullmatch(name):
                raise CommandError(f"{name!r}: use a lower-case PostgreSQL name (letters, digits, _).")
        if owner == runtime:
            raise CommandError("The runtime role must not be the owner role: an owner can disable the triggers.")
        statements = role_statements(owner, runtime)
        if not apply:
            self.stdout.write("\n\n".join(f"{statement};" for statement in statements))
            return
        self._apply(statements, database)
        self.stdout.write(f"Roles {owner} (owner) and {runtime} (runtime) set up on database alias {database!r}.")

    def _apply(self, statements: list[str], alias: str) -> None:
        if alias not in connections.settings:
            raise CommandError(f"No database alias {alias!r}.")
        connection = connections[alias]
        if connection.vendor != "postgresql":
            raise CommandError("Roles are a PostgreSQL matter: the database is " + connection.vendor)
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
