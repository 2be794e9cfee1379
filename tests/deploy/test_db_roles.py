"""The migration owner and the runtime role (issue 13, item 5; DESIGN.md
principle 4; `manage.py db_roles`, deploy/DATABASE.md "Roles").

A throwaway main database and key store on the test's PostgreSQL server, set
up as a deployment would be: the roles made by a superuser, both databases
migrated as the owner, the grants applied again by the owner after the
migration. Then, as the runtime role: the hub's own writes work (agencies,
a subject and her consent, the sequencer, an erasure that deletes her key,
verify_ledger), and rewriting the ledger, emptying it or lifting its triggers
is refused by PostgreSQL's privileges, before any trigger is asked.

`Cluster` is shared with the production smoke test (test_production_smoke.py)."""

import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from psycopg import errors, sql

from consent_ledger.triggers import GUARDED
from hub.management.commands.db_roles import role_statements

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = "hub.settings.production"
# A migrate on a loaded CI machine takes a while; this only turns a hang into a failure.
COMMAND_TIMEOUT = 600
# Only what a process needs to run, so that nothing of the test's own settings
# (DATABASE_URL, DJANGO_SETTINGS_MODULE, ...) leaks into "production".
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")

KEY_TABLES = ("consent_ledger_subjectkey", "consent_ledger_erasedsubject")


def _read(file) -> str:
    file.seek(0)
    text = file.read().decode(errors="replace")
    file.close()
    return text


class Cluster:
    """A main database and a key store of their own, with an owner and a
    runtime role, on the server the tests use (its user must be a superuser,
    as the operator who creates roles is). Everything is dropped by drop()."""

    def __init__(self, prefix: str):
        run = uuid.uuid4().hex[:10]
        self.main, self.keys = f"{prefix}_{run}", f"{prefix}_{run}_keys"
        self.owner, self.runtime = f"{prefix}_owner_{run}", f"{prefix}_app_{run}"
        self.passwords = {self.owner: secrets.token_urlsafe(18), self.runtime: secrets.token_urlsafe(18)}
        self.secret_key = secrets.token_urlsafe(50)
        self.keks = f"smoke-1={base64.b64encode(os.urandom(32)).decode()}"
        admin = settings.DATABASES["default"]
        self.host, self.port = admin.get("HOST") or "127.0.0.1", str(admin.get("PORT") or 5432)
        self.admin_user, self.admin_password = admin["USER"], admin.get("PASSWORD") or ""

    # --- connections --------------------------------------------------------------

    def url(self, role: str | None, database: str) -> str:
        """A DATABASE_URL; role None is the administrator the tests connect as."""
        user = role or self.admin_user
        password = self.passwords[role] if role else self.admin_password
        credentials = f"{user}:{password}" if password else user
        return f"postgres://{credentials}@{self.host}:{self.port}/{database}"

    def connect(self, role: str | None, database: str) -> psycopg.Connection:
        return psycopg.connect(self.url(role, database), autocommit=True)

    # --- processes ----------------------------------------------------------------

    def env(self, role: str | None, **extra) -> dict:
        """The environment of a production process connecting as `role`."""
        inherited = {name: os.environ[name] for name in _INHERITED if name in os.environ}
        return {
            **inherited,
            "DJANGO_SETTINGS_MODULE": PRODUCTION,
            "DJANGO_SECRET_KEY": self.secret_key,
            "DJANGO_ALLOWED_HOSTS": "hub.smoke.test",
            "DATABASE_URL": self.url(role, self.main),
            "KEYS_DATABASE_URL": self.url(role, self.keys),
            "SEALING_KEKS": self.keks,
            # Few connections per process: the suite runs beside this on the same server.
            "DATABASE_POOL_MIN": "1",
            "DATABASE_POOL_MAX": "4",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            **extra,
        }

    def manage(self, role: str | None, *args: str, env: dict | None = None) -> str:
        """`manage.py *args` as `role` with production settings; its stdout."""
        return self.manage_each(role, [list(args)], env=env)[0]

    def manage_each(self, role: str | None, commands: list[list[str]], env: dict | None = None) -> list[str]:
        """Several `manage.py` commands side by side (the main database's and
        the key store's: each migrate spends most of its time in Python); their stdouts."""
        running = []
        for args in commands:
            # Files, not pipes: a full pipe would stall one command while the other is read.
            out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
            process = subprocess.Popen(
                [sys.executable, "manage.py", *args], cwd=ROOT, env=env or self.env(role), stdout=out, stderr=err
            )
            running.append((args, process, out, err))
        outputs = []
        for args, process, out, err in running:
            try:
                process.wait(COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            stdout, stderr = (_read(file) for file in (out, err))
            assert process.returncode == 0, f"manage.py {' '.join(args)} as {role}:\n{stdout}\n{stderr}"
            outputs.append(stdout)
        return outputs

    def db_roles(self, role: str | None) -> None:
        self.manage_each(role, [
            ["db_roles", "--owner", self.owner, "--runtime", self.runtime, "--apply", "--database", alias]
            for alias in ("default", "keys")
        ])

    # --- life cycle -----------------------------------------------------------------

    def set_up(self, *, bootstrap: bool = True) -> None:
        """What an operator does once, then what the migrate job does each
        release. bootstrap: the superuser runs db_roles first (making the
        roles); else the roles are made by hand and own the databases, as
        deploy/postgres/init-roles.sh does, and only the owner runs db_roles."""
        with self.connect(None, "postgres") as admin:
            if not bootstrap:
                for role, password in self.passwords.items():
                    admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(password)))
            for database in (self.main, self.keys):
                admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(database), sql.Identifier(self.admin_user if bootstrap else self.owner)))
        if bootstrap:
            self.db_roles(None)  # the superuser: makes the roles, gives the owner the schema
            with self.connect(None, "postgres") as admin:
                for role, password in self.passwords.items():
                    admin.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
        self.manage_each(self.owner, [["migrate", "--noinput"], ["migrate", "--database", "keys", "--noinput"]])
        self.db_roles(self.owner)  # after every migrate, as the owner

    def drop(self) -> None:
        with self.connect(None, "postgres") as admin:
            for database in (self.main, self.keys):
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
            for role in (self.runtime, self.owner):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture(scope="module")
def cluster():
    """One deployment for the module: set up (and migrated) once."""
    made = Cluster("hub_roles")
    try:
        made.set_up()
        yield made
    finally:
        made.drop()


class _RolledBack(Exception):
    pass


def error_of(connection: psycopg.Connection, statement: str) -> psycopg.Error | None:
    """Run `statement` in a transaction that is always rolled back: the
    database's error, or None when it was allowed."""
    try:
        with connection.transaction():
            connection.execute(statement)
            raise _RolledBack
    except _RolledBack:
        return None
    except psycopg.Error as exc:
        return exc


def _first_column(connection, table: str) -> str:
    return connection.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum = 1", [table]
    ).fetchone()[0]


def _owned_by_me(connection) -> int:
    return connection.execute("SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole").fetchone()[0]


# Through the services, as the hub's processes write: two agencies, a
# person and her consent (ledger appends), a DPO who erases her (notes and
# references deleted, her key deleted from the key store), the sequencer
# (takes its queue with DELETE, inserts leaves, nodes and a checkpoint).
APP_WRITES = """
import hashlib
from agencies.callers import Caller
from agencies.services import agency_create, client_create, user_create
from consent_ledger.erasure import subject_erase
from consent_ledger.sequencer import ledger_sequence_all
from consent_ledger.services import Terms, consent_grant, subject_create

ops = agency_create(name="MOPS Rolowo", kind="ops")
shelter = agency_create(name="Schronisko Rolowo", kind="shelter")
client = client_create(agency=ops, scopes=["subjects:write", "consents:write"])
caller = Caller(agency=ops, application=client.application)
person = {"person": {"given_name": "Anna", "family_name": "Nowak", "birth_date": "1970-01-01"}}
subject = subject_create(caller=caller, external_ref="ROLE/1", profile=person)
consent_grant(
    caller=caller, subject_id=subject.id, form="written", grantor="subject",
    terms=Terms(categories=["identity"], purposes=["referral"], agencies=[str(shelter.id)]),
    evidence_sha256=hashlib.sha256(b"signed consent form").hexdigest(),
)
dpo = user_create(agency=ops, username="iod-rolowo", password="a long passphrase of the DPO", role="dpo")
subject_erase(caller=Caller(agency=ops, user=dpo), subject_id=subject.id, reason="subject_request")
print(ledger_sequence_all())
"""


@pytest.fixture(scope="module")
def written(cluster) -> int:
    """APP_WRITES run as the runtime role: the tree size it left."""
    return int(cluster.manage(cluster.runtime, "shell", "-c", APP_WRITES).split()[-1])


@pytest.mark.postgres
def test_the_runtime_role_writes_the_hub_and_verifies_the_ledger(cluster, written):
    tree_size = written
    report = json.loads(cluster.manage(cluster.runtime, "verify_ledger", "--json"))

    assert tree_size >= 2  # consent granted, subject erased
    assert report["ok"] and report["tree_size"] == tree_size, report
    with cluster.connect(cluster.runtime, cluster.keys) as keys:
        assert keys.execute("SELECT count(*) FROM consent_ledger_subjectkey").fetchone() == (0,)  # deleted
        assert keys.execute("SELECT count(*) FROM consent_ledger_erasedsubject").fetchone() == (1,)


@pytest.mark.postgres
def test_the_runtime_role_cannot_rewrite_empty_or_unguard_the_ledger(cluster, written):
    refused = {}
    with cluster.connect(cluster.runtime, cluster.main) as app:
        for table, trigger in GUARDED.items():
            column = _first_column(app, table)
            for statement in (
                f"UPDATE {table} SET {column} = {column}",
                f"DELETE FROM {table}",
                f"TRUNCATE {table}",
                f"ALTER TABLE {table} DISABLE TRIGGER ALL",
                f"ALTER TABLE {table} DISABLE TRIGGER {trigger}_guard",
                f"DROP TRIGGER {trigger}_guard ON {table}",
                f"ALTER TABLE {table} OWNER TO {cluster.runtime}",
            ):
                refused[statement] = type(error_of(app, statement))
        allowed = {
            statement: error_of(app, statement)
            for statement in (
                "UPDATE agencies_agency SET name = name",
                "DELETE FROM consent_ledger_ledgernote",
                "DELETE FROM consent_ledger_ledgerpending",  # the sequencer's queue
                "UPDATE consent_ledger_sequencerstate SET tree_size = tree_size",
            )
        }
        owned = _owned_by_me(app)
        create = error_of(app, "CREATE TABLE smuggled (id int)")
        history = error_of(app, "DELETE FROM django_migrations")

    assert {statement: kind for statement, kind in refused.items() if kind is not errors.InsufficientPrivilege} == {}
    assert allowed == dict.fromkeys(allowed)
    assert owned == 0
    assert isinstance(create, errors.InsufficientPrivilege)
    assert isinstance(history, errors.InsufficientPrivilege)


@pytest.mark.postgres
def test_the_key_store_lets_the_runtime_role_delete_keys_but_not_truncate(cluster, written):
    with cluster.connect(cluster.runtime, cluster.keys) as keys:
        answers = {
            table: [error_of(keys, f"{verb} {table}") for verb in ("DELETE FROM", "SELECT * FROM")]
            for table in KEY_TABLES
        }
        truncated = {table: type(error_of(keys, f"TRUNCATE {table}")) for table in KEY_TABLES}
        owned = _owned_by_me(keys)

    assert answers == {table: [None, None] for table in KEY_TABLES}
    assert truncated == dict.fromkeys(KEY_TABLES, errors.InsufficientPrivilege)
    assert owned == 0


@pytest.mark.postgres
def test_tables_of_a_later_migration_get_the_same_grants(cluster):
    with cluster.connect(cluster.owner, cluster.main) as owner:
        owner.execute("CREATE TABLE later_migration (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text)")
    with cluster.connect(cluster.runtime, cluster.main) as app:
        app.execute("INSERT INTO later_migration (note) VALUES ('a')")
        app.execute("UPDATE later_migration SET note = 'b'")
        app.execute("DELETE FROM later_migration")
        truncate = error_of(app, "TRUNCATE later_migration")

    assert isinstance(truncate, errors.InsufficientPrivilege)


@pytest.mark.postgres
def test_a_table_the_append_only_triggers_guard_is_append_only_for_the_runtime_role(cluster):
    with cluster.connect(cluster.owner, cluster.main) as owner:  # a later migration, or the partitioning
        owner.execute("CREATE TABLE later_ledger (id bigint PRIMARY KEY)")
        owner.execute("CREATE TRIGGER later_ledger_guard BEFORE UPDATE OR DELETE ON later_ledger "
                      "FOR EACH ROW EXECUTE FUNCTION hub_ledger_refuse()")
    cluster.db_roles(cluster.owner)  # the migrate job, after the migration
    with cluster.connect(cluster.runtime, cluster.main) as app:
        insert = error_of(app, "INSERT INTO later_ledger VALUES (1)")
        refused = [type(error_of(app, statement)) for statement in (
            "UPDATE later_ledger SET id = id", "DELETE FROM later_ledger", "TRUNCATE later_ledger",
        )]

    assert insert is None
    assert refused == [errors.InsufficientPrivilege] * 3


def test_the_sql_names_the_roles_and_revokes_rewriting_the_ledger():
    out = StringIO()
    call_command("db_roles", "--owner", "hub_owner", "--runtime", "hub_app", stdout=out)
    printed = out.getvalue()

    assert "REVOKE UPDATE, DELETE ON ' || relation::text || ' FROM \"hub_app\"" in printed
    assert all(f"'{table}'" in printed for table in GUARDED)
    assert 'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "hub_app"' in printed
    assert "TRUNCATE" not in printed.replace("REVOKE TRUNCATE", "")


@pytest.mark.postgres
def test_making_the_roles_survives_another_run_making_them_at_the_same_moment():
    """Roles belong to the server: db_roles run for the main database and the
    key store at once both find a role missing. One session creates it and
    holds its transaction open until the other's CREATE ROLE is seen waiting
    on it (pg_stat_activity); the other then finds the role made and goes on."""
    owner, runtime = (f"hub_race_{kind}_{secrets.token_hex(4)}" for kind in ("owner", "app"))
    make_roles = role_statements(owner, runtime)[0]
    cluster = Cluster("hub_race")
    with (cluster.connect(None, "postgres") as first, cluster.connect(None, "postgres") as second,
          ThreadPoolExecutor(1) as pool):
        try:
            with first.transaction():
                first.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(owner)))
                racing = pool.submit(second.execute, make_roles)
                for _ in range(600):  # a limit that only turns a hang into a failure
                    waiting = first.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                        [second.info.backend_pid],
                    ).fetchone()[0]
                    if waiting or racing.done():
                        break
                    time.sleep(0.05)
                assert waiting, "the second CREATE ROLE never waited on the first"
            racing.result(timeout=60)  # raises UniqueViolation without the guard
            made = second.execute("SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s)", [owner, runtime])
            assert made.fetchone()[0] == 2
        finally:
            for role in (owner, runtime):
                first.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.mark.parametrize("owner, runtime", [("hub", "hub"), ("hub_owner", 'app"; DROP TABLE x; --'), ("Hub", "app")])
def test_unsafe_or_identical_role_names_are_refused(owner, runtime):
    with pytest.raises(CommandError):
        call_command("db_roles", "--owner", owner, "--runtime", runtime, stdout=StringIO())
