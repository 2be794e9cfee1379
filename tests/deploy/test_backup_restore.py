"""The backup and restore drill (issue 13, item 6; deploy/backup.sh,
deploy/restore.sh, deploy/DATABASE.md "Backups" and "Restore drill").

The test database and its key store are filled through the real services
(bench/ledger.py's ServiceWriter: subjects, consents, refusals, revocations
and disclosures, a few hundred entries, each commit sequenced and signed),
committed (ledger_transactional_db), so that pg_dump sees them; then
backup.sh dumps both, the hub goes on writing, and restore.sh restores each
dump into a new database of its own. On the restore, in a process of its own
as the hub would be: `verify_ledger` passes, in full and from the checkpoint
the backup's manifest names (its root trusted from the manifest, not from the
restored rows); the restored latest checkpoint is the one the original had
when it was backed up, and the original's log since is consistent with it
(an RFC 9162 consistency proof from the original, checked against both
roots); a person's sealed profile opens (her key came back from the key
store's dump); a person erased before the backup stays erased; and a person
erased after it stays erased when the key store is restored from a later dump
than the main database, which is what keeping the key store's dumps for a
short time buys (DATABASE.md). Every database made here is dropped, on
failure too."""

import json
import os
import random
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.db import connections, transaction
from psycopg import sql

from bench import ledger as bench
from consent_ledger.erasure import subject_shred
from consent_ledger.merkle import verify_consistency
from consent_ledger.models import Checkpoint, EntryKind, Subject
from consent_ledger.proofs import consistency_proof_for
from consent_ledger.sequencer import ledger_sequence_all

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
BACKUP, RESTORE = str(ROOT / "deploy" / "backup.sh"), str(ROOT / "deploy" / "restore.sh")
ENTRIES = 300  # 30 people, ten steps each, every one through the services
TIMEOUT = 300  # seconds: only turns a hang into a failure
DAY = 24 * 3600

# Run in the restored hub: each person's profile, opened, or "erased".
OPEN_PROFILES = """
import json, os
from consent_ledger.models import Subject
from consent_ledger.sealing import SubjectErased, unsealed
opened = {}
for subject in Subject.objects.filter(pk__in=os.environ["SUBJECT_IDS"].split(",")):
    try:
        opened[str(subject.pk)] = unsealed(subject.profile)
    except SubjectErased:
        opened[str(subject.pk)] = "erased"
print(json.dumps(opened))
"""


# --- databases on the test's servers -----------------------------------------------


def database_url(alias: str, name: str) -> str:
    """A postgres:// URL for database `name` on the server of Django alias `alias`."""
    server = connections[alias].settings_dict
    user, password = quote(server["USER"] or "", safe=""), quote(server.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}" if password else user
    return f"postgres://{credentials}@{server.get('HOST') or '127.0.0.1'}:{server.get('PORT') or 5432}/{name}"


def url_of_test_database(alias: str) -> str:
    return database_url(alias, connections[alias].settings_dict["NAME"])


@contextmanager
def dropped_afterwards():
    """Yields a function naming a new database on an alias's server; every
    database so named is dropped on the way out, whatever happened."""
    made: list[tuple[str, str]] = []

    def name(alias: str, role: str) -> str:
        made.append((alias, f"{connections[alias].settings_dict['NAME']}_{role}_{uuid.uuid4().hex[:6]}"))
        return made[-1][1]

    try:
        yield name
    finally:
        for alias, database in made:
            with psycopg.connect(database_url(alias, "postgres"), autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def run(command: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def succeeded(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, f"{done.args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def hub(main_url: str, keys_url: str, *args: str, **env: str) -> str:
    """`manage.py *args` in a process of its own, as the hub configured with these databases."""
    return succeeded(run(
        [sys.executable, "manage.py", *args], DJANGO_SETTINGS_MODULE="hub.settings.test",
        DATABASE_URL=main_url, KEYS_DATABASE_URL=keys_url, DATABASE_POOL_MIN="1", DATABASE_POOL_MAX="2", **env,
    ))


# --- the scripts ----------------------------------------------------------------------


def backup(tmp_path: Path, **env: str) -> tuple[Path, Path]:
    """deploy/backup.sh of the test databases; the main and key-store dumps it printed."""
    printed = succeeded(run(
        ["bash", BACKUP], DATABASE_URL=url_of_test_database("default"), KEYS_DATABASE_URL=url_of_test_database("keys"),
        BACKUP_DIR=str(tmp_path / "main"), KEYS_BACKUP_DIR=str(tmp_path / "keys"), **env,
    ))
    main, keys = (Path(line) for line in printed.split())
    return main, keys


def restore(dump: Path, url: str) -> subprocess.CompletedProcess:
    return run(["bash", RESTORE, str(dump), url])


def manifest(main_dump: Path) -> dict[str, str]:
    lines = main_dump.with_suffix(".manifest").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def aged(path: Path, days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"an old dump")
    os.utime(path, (time.time() - days * DAY,) * 2)
    return path


# --- the hub's state ---------------------------------------------------------------------


def erase(subject_id, caller) -> None:
    """A person's data erased (her key destroyed), as subject_erase does it."""
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject_id)
        subject_shred(subject, caller=caller, reason="subject_request", kind=EntryKind.SUBJECT_ERASED,
                      body={"reason": "subject_request"})


def latest_checkpoint() -> tuple[int, str, str]:
    row = Checkpoint.objects.order_by("-tree_size", "-id").first()
    return row.tree_size, row.root_hash, row.note


def restored_latest_checkpoint(url: str) -> tuple[int, str, str]:
    with psycopg.connect(url) as restored:
        return restored.execute(
            "SELECT tree_size, root_hash, note FROM consent_ledger_checkpoint ORDER BY tree_size DESC, id DESC LIMIT 1"
        ).fetchone()


def verified(main_url: str, keys_url: str, *args: str) -> dict:
    """`manage.py verify_ledger --json *args` on these databases: its report."""
    printed = hub(main_url, keys_url, "verify_ledger", "--json", "--jobs", "1", *args)
    return json.loads(printed.splitlines()[-1])


def profiles(main_url: str, keys_url: str, subject_ids) -> dict:
    printed = hub(main_url, keys_url, "shell", "--no-imports", "-c", OPEN_PROFILES,
                  SUBJECT_IDS=",".join(map(str, subject_ids)))
    return json.loads(printed.splitlines()[-1])


# --- the drill ----------------------------------------------------------------------------


@pytest.mark.usefixtures("ledger_transactional_db")
def test_a_restore_verifies_extends_to_the_original_and_opens_only_who_was_not_erased(tmp_path):
    world = bench.world_create()
    *_, filled = bench.ledger_fill(world, entries=ENTRIES, service_subjects=ENTRIES // 10)
    kept, erased_before, erased_after = filled.subject_ids[1], filled.subject_ids[0], filled.subject_ids[2]
    erase(erased_before, world.owners[0])
    ledger_sequence_all()
    backed_up = latest_checkpoint()
    main_kept = aged(tmp_path / "main" / "main-20000101T000000Z.dump", days=10)  # within 35 days
    keys_gone = aged(tmp_path / "keys" / "keys-20000101T000000Z.dump", days=10)  # past 7 days

    main_dump, keys_dump = backup(tmp_path)
    # The hub goes on: another person's history, and an erasure, after the backup.
    bench._play(bench.ServiceWriter(), bench._plan(random.Random(2), world, ENTRIES // 10), 10)
    erase(erased_after, world.owners[0])
    ledger_sequence_all()
    original = latest_checkpoint()
    _, later_keys_dump = backup(tmp_path / "later")

    with dropped_afterwards() as new_database:
        main_url = database_url("default", new_database("default", "restored"))
        keys_url = database_url("keys", new_database("keys", "restored"))
        later_keys_url = database_url("keys", new_database("keys", "later"))
        for dump, url in ((main_dump, main_url), (keys_dump, keys_url), (later_keys_dump, later_keys_url)):
            succeeded(restore(dump, url))

        full = verified(main_url, keys_url)
        stated = manifest(main_dump)
        from_manifest = verified(
            main_url, keys_url, "--from-checkpoint", stated["ledger_tree_size"], "--root", stated["ledger_root_hash"]
        )
        restored = restored_latest_checkpoint(main_url)
        opened = profiles(main_url, keys_url, [kept, erased_before, erased_after])
        with_later_keys = profiles(main_url, later_keys_url, [kept, erased_after])

    assert full["ok"] and from_manifest["ok"], (full, from_manifest)
    assert full["tree_size"] == from_manifest["tree_size"] == backed_up[0] > ENTRIES
    assert (int(stated["ledger_tree_size"]), stated["ledger_root_hash"]) == backed_up[:2]
    assert restored == backed_up
    proof = [bytes.fromhex(node) for node in consistency_proof_for(restored[0], original[0])["proof"]]
    assert original[0] > restored[0]
    assert verify_consistency(restored[0], original[0], bytes.fromhex(restored[1]), bytes.fromhex(original[1]), proof)
    assert opened == {str(kept): world.profiles[1], str(erased_before): "erased", str(erased_after): world.profiles[2]}
    assert with_later_keys == {str(kept): world.profiles[1], str(erased_after): "erased"}
    assert main_kept.exists() and not keys_gone.exists()
    assert main_dump.parent == tmp_path / "main" and keys_dump.parent == tmp_path / "keys"
    assert {path.name for path in (tmp_path / "main").iterdir()} >= {
        main_dump.name, f"{main_dump.name}.sha256", main_dump.with_suffix(".manifest").name
    }


@pytest.mark.django_db(databases=["default", "keys"])
def test_restore_refuses_an_existing_database_and_a_damaged_dump(tmp_path):
    main_dump, _ = backup(tmp_path)
    damaged = tmp_path / "damaged" / main_dump.name
    damaged.parent.mkdir()
    contents = bytearray(main_dump.read_bytes())
    contents[len(contents) // 2] ^= 0xFF
    damaged.write_bytes(bytes(contents))
    (damaged.parent / f"{damaged.name}.sha256").write_text(Path(f"{main_dump}.sha256").read_text())

    with dropped_afterwards() as new_database:
        target = new_database("default", "restored")
        url = database_url("default", target)
        first, again = restore(main_dump, url), restore(main_dump, url)
        refused_damaged = restore(damaged, database_url("default", new_database("default", "damaged")))
        with psycopg.connect(database_url("default", "postgres")) as admin:
            databases = {name for (name,) in admin.execute("SELECT datname FROM pg_database")}

    assert first.returncode == 0 and first.stdout.strip() == target, first.stderr
    assert again.returncode != 0 and "exists already" in again.stderr
    assert refused_damaged.returncode != 0 and "checksum" in refused_damaged.stderr
    assert target in databases and not any("_damaged_" in name for name in databases)


@pytest.mark.django_db(databases=["default", "keys"])
def test_backup_refuses_to_keep_the_key_store_with_the_main_dumps(tmp_path):
    main, keys = url_of_test_database("default"), url_of_test_database("keys")
    inside = run(["bash", BACKUP], DATABASE_URL=main, KEYS_DATABASE_URL=keys,
                 BACKUP_DIR=str(tmp_path), KEYS_BACKUP_DIR=str(tmp_path / "keys"))
    shared = run(["bash", BACKUP], DATABASE_URL=main, KEYS_DATABASE_URL=main,
                 BACKUP_DIR=str(tmp_path / "main"), KEYS_BACKUP_DIR=str(tmp_path / "keys"))

    assert inside.returncode != 0 and "must not be BACKUP_DIR or inside it" in inside.stderr
    assert shared.returncode != 0 and "KEYS_DATABASE_URL must name the key store" in shared.stderr
    assert not list(tmp_path.rglob("*.dump"))
