"""The sequencer and verify_ledger, unchanged, on a ledger range-partitioned
by time (issue 13, item 8; deploy/SCALING.md, deploy/sql/partition_ledger.sql).

A throwaway copy of the test databases (the main one and the key store) is
partitioned the way the plan says, by the plan's own SQL file, in the middle
of the hub's life: in a process of its own (this module run as a script, the
hub configured with the copy, its connections open throughout), people's
histories are written through the real services and sequenced, the log is
verified (which keeps its root), the entries table is converted with psql
(the old table becomes the partition of everything before the cutover, one
partition per month after it), and more histories follow, into the new
partition. Then, unchanged: the sequencer signs checkpoints spanning both
partitions; verify_ledger passes in full, and from the checkpoint before the
conversion trusting the root proven then (the conversion changed no entry);
`manage.py verify_ledger` passes in a process of its own. The append-only
guards hold on the partitioned table and on each partition (UPDATE, DELETE,
TRUNCATE refused), a second entry with an existing seq or id is refused
across partitions, and a note naming no entry is refused (the foreign keys
moved to the key table). Only what is asked is run in the script; every
database made here is dropped, on failure too.

The module imports nothing of Django's apps at the top: `python -m
tests.deploy.test_partitioned_ledger` imports it before django.setup()."""

import json
import os
import random
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
PARTITION_SQL = ROOT / "deploy" / "sql" / "partition_ledger.sql"
BEFORE, AFTER = 100, 100  # entries written before and after the conversion
TIMEOUT = 600  # seconds: only turns a hang into a failure
ENTRIES = "consent_ledger_ledgerentry"


# --- in the hub's process ------------------------------------------------------------


def _histories(world, first: int, count: int) -> None:
    """`count` people, each with bench/ledger.py's ten-step history through the services."""
    from bench import ledger as bench

    rng = random.Random(first)
    for index in range(first, first + count):
        bench._play(bench.ServiceWriter(), bench._plan(rng, world, index), bench.ENTRIES_PER_SUBJECT)


def _partition() -> str:
    """deploy/sql/partition_ledger.sql with the cutover now (after every entry so far); the cutover."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()::text")
        (cutover,) = cursor.fetchone()
    done = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"cutover={cutover}", "-d", os.environ["DATABASE_URL"],
         "-f", str(PARTITION_SQL)],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"partition_ledger.sql failed:\n{done.stdout}\n{done.stderr}")
    return cutover


def _error(statement: str, params=()) -> str | None:
    """What the database answers `statement` with, its deferred checks made at
    once; the statement is always rolled back. None when it was allowed."""
    from django.db import DatabaseError, connection, transaction

    class RolledBack(Exception):
        pass

    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(statement, params)
            raise RolledBack
    except RolledBack:
        return None
    except DatabaseError as exc:
        return str(exc).splitlines()[0]


def _refusals(cutover: str) -> dict[str, str | None]:
    from consent_ledger.models import LedgerEntry

    old = LedgerEntry.objects.filter(recorded_at__lt=cutover).order_by("seq").first()
    new = LedgerEntry.objects.filter(recorded_at__gt=cutover).order_by("seq").first()
    columns = "kind, actor, leaf_hash, recorded_by_id, subject_id, canonical"
    # The old entry's seq again, recorded after the cutover (so into another
    # partition); and its id again, with a new seq, in its own partition.
    same_seq = f"""INSERT INTO {ENTRIES} (seq, id, recorded_at, {columns})
        SELECT seq, gen_random_uuid(), now(), {columns} FROM {ENTRIES} WHERE seq = %s"""
    same_id = f"""INSERT INTO {ENTRIES} (id, recorded_at, {columns})
        SELECT id, recorded_at, {columns} FROM {ENTRIES} WHERE seq = %s"""
    refusals = {}
    for label, entry in (("old", old), ("new", new)):
        partition = _partition_of(entry.seq)
        for table in (ENTRIES, partition):
            for verb, statement in (("UPDATE", f"UPDATE {table} SET actor = 'x'"), ("DELETE", f"DELETE FROM {table}")):
                refusals[f"{verb} {label} entry in {table}"] = _error(f"{statement} WHERE seq = %s", [entry.seq])
        refusals[f"TRUNCATE {partition}"] = _error(f"TRUNCATE {partition}")
    refusals[f"TRUNCATE {ENTRIES}"] = _error(f"TRUNCATE {ENTRIES}")
    refusals["a second entry with an existing seq"] = _error(same_seq, [old.seq])
    refusals["a second entry with an existing id"] = _error(same_id, [old.seq])
    refusals["a note naming no entry"] = _error(
        "INSERT INTO consent_ledger_ledgernote (entry_id, text) VALUES (%s, 'x')", [str(uuid.uuid4())]
    )
    return refusals


def _partition_of(seq: int) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {ENTRIES} WHERE seq = %s", [seq])
        return cursor.fetchone()[0]


def _report(report) -> dict:
    return {"ok": report.ok, "tree_size": report.tree_size, "problems": report.problems, "root_hash": report.root_hash}


def main() -> None:
    """Histories, verify, partition, more histories, sequence, verify: what
    happened, as one JSON object on stdout."""
    import django

    django.setup()
    from django.db import connection

    from bench import ledger as bench
    from consent_ledger.sequencer import ledger_sequence_all
    from consent_ledger.verify import verify_ledger, verify_ledger_and_record

    world = bench.world_create()
    _histories(world, 0, BEFORE // bench.ENTRIES_PER_SUBJECT)
    ledger_sequence_all()
    before = verify_ledger_and_record(trigger="command")  # keeps the root it proves at its size
    cutover = _partition()
    _histories(world, BEFORE // bench.ENTRIES_PER_SUBJECT, AFTER // bench.ENTRIES_PER_SUBJECT)
    ledger_sequence_all()
    since = verify_ledger(from_checkpoint=before.tree_size)
    full = verify_ledger()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text, count(*) FROM {ENTRIES} GROUP BY 1")
        partitions = dict(cursor.fetchall())
        cursor.execute(
            "SELECT min(tree_size), max(tree_size), count(*) FROM consent_ledger_checkpoint "
            "WHERE created_at > %s::timestamptz", [cutover],
        )
        checkpoints_after = cursor.fetchone()
    print(json.dumps({
        "before": _report(before), "since": _report(since), "full": _report(full), "partitions": partitions,
        "checkpoints_after": checkpoints_after, "refusals": _refusals(cutover),
    }))


if __name__ == "__main__":
    main()


# --- the test -----------------------------------------------------------------------------


def _url(server: dict, name: str) -> str:
    user, password = quote(server["USER"] or "", safe=""), quote(server.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}" if password else user
    return f"postgres://{credentials}@{server.get('HOST') or '127.0.0.1'}:{server.get('PORT') or 5432}/{name}"


def _run(command: list[str], **env: str) -> str:
    done = subprocess.run(
        command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert done.returncode == 0, f"{done.args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@contextmanager
def _copies_of_the_test_databases(tmp_path: Path):
    """(main URL, key-store URL) of new databases holding what the test
    databases hold (migrated, empty between tests); dropped on the way out."""
    from django.db import connections

    made = []
    try:
        for alias in ("default", "keys"):
            server = connections[alias].settings_dict
            name = f"{server['NAME']}_partitioned_{uuid.uuid4().hex[:6]}"
            with psycopg.connect(_url(server, "postgres"), autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            made.append((server, name))
            dump = tmp_path / f"{alias}.dump"
            _run(["pg_dump", "-Fc", "-w", "-d", _url(server, server["NAME"]), "-f", str(dump)])
            _run(["pg_restore", "--no-owner", "--single-transaction", "-w", "-d", _url(server, name), str(dump)])
        yield tuple(_url(server, name) for server, name in made)
    finally:
        for server, name in made:
            with psycopg.connect(_url(server, "postgres"), autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# django_db: the test databases are set up (the copies' source); this process never writes to them.
@pytest.mark.postgres
@pytest.mark.django_db(databases=["default", "keys"])
def test_the_sequencer_and_verify_ledger_work_unchanged_on_a_partitioned_ledger(tmp_path):
    hub = {"DJANGO_SETTINGS_MODULE": "hub.settings.test", "DATABASE_POOL_MIN": "1", "DATABASE_POOL_MAX": "2"}
    with _copies_of_the_test_databases(tmp_path) as (main_url, keys_url):
        hub.update(DATABASE_URL=main_url, KEYS_DATABASE_URL=keys_url)
        printed = _run([sys.executable, "-m", "tests.deploy.test_partitioned_ledger"], **hub)
        happened = json.loads(printed.splitlines()[-1])
        command = json.loads(_run([sys.executable, "manage.py", "verify_ledger", "--json", "--jobs", "1"], **hub))
        with psycopg.connect(main_url, autocommit=True) as main:
            kind = main.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [ENTRIES]).fetchone()[0]
            again = main.execute("SELECT count(*) FROM hub_ledger_partitions_ensure(3)").fetchone()[0]
            further = main.execute("SELECT count(*) FROM hub_ledger_partitions_ensure(5)").fetchone()[0]
            guarded = {name for (name,) in main.execute(
                "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger "
                "WHERE tgname = 'hub_ledger_entry_guard' AND tgfoid = 'hub_ledger_refuse'::regproc"
            )}
            partitions = {name for (name,) in main.execute(
                "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass", [ENTRIES]
            )}

    before, since, full = happened["before"], happened["since"], happened["full"]
    assert before["ok"] and before["tree_size"] == BEFORE, before
    assert since["ok"] and full["ok"] and command["ok"], (since, full, command)
    assert full["tree_size"] == since["tree_size"] == command["tree_size"] == BEFORE + AFTER
    assert full["root_hash"] == command["root_hash"] == since["root_hash"]
    low, high, signed = happened["checkpoints_after"]
    assert signed >= 1 and low > BEFORE and high == BEFORE + AFTER  # the sequencer signed past the cutover
    assert kind == "p"
    filled = {name: count for name, count in happened["partitions"].items()}
    assert filled.pop(f"{ENTRIES}_initial") == BEFORE
    assert list(filled.values()) == [AFTER]  # one monthly partition so far, holding every later entry
    assert (again, further) == (0, 2)
    assert len(partitions) >= 2 + 3 + 2 and guarded == partitions | {ENTRIES}
    refusals = happened["refusals"]
    assert [label for label, error in refusals.items() if error is None] == []
    guards = {label: error for label, error in refusals.items() if label.split()[0] in ("UPDATE", "DELETE", "TRUNCATE")}
    assert all("append-only" in error for error in guards.values()), guards
    assert "duplicate key" in refusals["a second entry with an existing seq"]
    assert "duplicate key" in refusals["a second entry with an existing id"]
    assert "foreign key" in refusals["a note naming no entry"]
