"""`manage.py rotate_ledger_key`, the operator's keys (LEDGER_SIGNING_KEY,
LEDGER_NEXT_SIGNING_KEY), `GET ledger/public-key` listing every key with its
validity, and migration 0009 recording the key of every existing checkpoint
(issue 12, item 5; consent_ledger/keys.py)."""

import base64
import json
from datetime import datetime, timedelta
from io import StringIO

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.conf import settings
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.utils import timezone

from consent_ledger.checkpoint import checkpoint_body, key_id, open_note, parse_verifier_key, sign_note
from consent_ledger.keys import SigningKeyUnavailable, signing_key
from consent_ledger.merkle import EMPTY_ROOT
from consent_ledger.models import Checkpoint, LedgerPending, SigningKey
from consent_ledger.sequencer import ledger_key_rotate, ledger_sequence
from consent_ledger.services import consent_grant
from consent_ledger.verify import verify_ledger
from tests.consent_ledger.conftest import TRIGGERS, installed_triggers, terms
from tests.consent_ledger.test_key_rotation import grant_and_sequence


def b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def kid(key: Ed25519PrivateKey, name: str | None = None) -> str:
    return key_id(name or settings.LEDGER_KEY_NAME, key.public_key()).hex()


def rotate(*args) -> str:
    out = StringIO()
    call_command("rotate_ledger_key", *args, stdout=out)
    return out.getvalue()


# -- The command, keys generated into the database ---------------------------------------


def test_the_command_rotates_and_prints_json(ledger_log):
    old = signing_key()

    printed = json.loads(rotate("--json"))

    switch = Checkpoint.objects.order_by("-pk").first()
    new = SigningKey.objects.get(retired_at__isnull=True)
    at = switch.created_at.isoformat()
    assert printed == {
        "retired": {"key_name": old.name, "key_id": old.key_id, "retired_at": at},
        "current": {"key_name": new.key_name, "key_id": new.key_id, "valid_from": at,
                    "verifier_key": printed["current"]["verifier_key"]},
        "checkpoint": {"id": switch.pk, "tree_size": 5},
    }
    name, public = parse_verifier_key(printed["current"]["verifier_key"])
    assert open_note(switch.note, name, public).tree_size == 5
    assert new.private_key is not None  # generated, and kept: no operator key is configured
    assert verify_ledger().ok


def test_the_command_says_what_it_did(ledger_log):
    old = signing_key()

    sentence = rotate()

    new = signing_key()
    assert sentence.startswith("Checkpoint key rotated at ")
    assert f": {old.label} retired, {new.label} current; the checkpoint at tree size 5 " in sentence
    assert "LEDGER_SIGNING_KEY" not in sentence  # nothing for the operator to move


def test_an_empty_log_rotates_with_a_checkpoint_of_the_empty_tree(db):
    rotation = ledger_key_rotate()

    assert (rotation.checkpoint.tree_size, rotation.checkpoint.root_hash) == (0, EMPTY_ROOT.hex())
    assert verify_ledger().ok


# -- The operator's keys ---------------------------------------------------------------------


def test_an_operators_key_is_recorded_by_its_public_part_only(db):
    operator = Ed25519PrivateKey.generate()

    with override_settings(LEDGER_SIGNING_KEY=b64(operator)):
        key = signing_key()

    row = SigningKey.objects.get()
    assert (row.key_id, bytes(row.public_key), row.private_key) == (kid(operator), raw_public(operator), None)
    assert key.public_key_b64 == base64.b64encode(raw_public(operator)).decode()


def test_the_operator_rotates_onto_the_next_key_and_signing_follows_it(ledger_caller, ledger_subject):
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with override_settings(LEDGER_SIGNING_KEY=b64(old)):
        grant_and_sequence(ledger_caller, ledger_subject, 2)
        with pytest.raises(CommandError, match="put the new key in LEDGER_NEXT_SIGNING_KEY"):
            rotate()
        assert list(SigningKey.objects.values_list("key_id", "retired_at")) == [(kid(old), None)]
    with override_settings(LEDGER_SIGNING_KEY=b64(old), LEDGER_NEXT_SIGNING_KEY=b64(new)):
        sentence = rotate()
        grant_and_sequence(ledger_caller, ledger_subject)  # signed by the next key, the current one now
    with override_settings(LEDGER_SIGNING_KEY=b64(new)):  # the operator moved it
        grant_and_sequence(ledger_caller, ledger_subject)

    assert "Now give every process LEDGER_SIGNING_KEY=LEDGER_NEXT_SIGNING_KEY's value" in sentence
    recorded = list(Checkpoint.objects.order_by("tree_size", "pk").values_list("tree_size", "key_id"))
    assert recorded == [(1, kid(old)), (2, kid(old)), (2, kid(new)), (3, kid(new)), (4, kid(new))]
    assert list(SigningKey.objects.values_list("private_key", flat=True)) == [None, None]  # never stored
    assert verify_ledger().ok


def test_a_process_holding_only_the_retired_key_signs_nothing(ledger_caller, ledger_subject):
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with override_settings(LEDGER_SIGNING_KEY=b64(old), LEDGER_NEXT_SIGNING_KEY=b64(new)):
        grant_and_sequence(ledger_caller, ledger_subject)
        rotate()
    consent_grant(caller=ledger_caller, subject_id=ledger_subject.id, terms=terms(ledger_caller),
                  form="verbal_witnessed", grantor="subject")

    with override_settings(LEDGER_SIGNING_KEY=b64(old)), pytest.raises(SigningKeyUnavailable) as unavailable:
        ledger_sequence()

    assert str(unavailable.value) == (
        f"the current checkpoint key {settings.LEDGER_KEY_NAME}+{kid(new)} is the operator's, and neither "
        "LEDGER_SIGNING_KEY nor LEDGER_NEXT_SIGNING_KEY holds it: no checkpoint is signed until one does"
    )
    assert LedgerPending.objects.count() == 1  # the entry waits in the queue
    assert not Checkpoint.objects.filter(tree_size=2).exists()


@pytest.mark.parametrize("which", ["current", "retired"])
def test_rotating_onto_a_key_the_log_already_had_is_refused(ledger_caller, ledger_subject, which):
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with override_settings(LEDGER_SIGNING_KEY=b64(first), LEDGER_NEXT_SIGNING_KEY=b64(second)):
        grant_and_sequence(ledger_caller, ledger_subject)
        rotate()
    again = second if which == "current" else first
    before = list(SigningKey.objects.values())

    with override_settings(LEDGER_SIGNING_KEY=b64(second), LEDGER_NEXT_SIGNING_KEY=b64(again)):
        with pytest.raises(CommandError) as refused:
            rotate()

    state = "the current key" if which == "current" else "retired at "
    assert str(refused.value).startswith(f"Not rotated: the new key is {settings.LEDGER_KEY_NAME}+{kid(again)}, "
                                         f"which the log already has ({state}")
    assert str(refused.value).endswith("a key serves one period only")
    assert list(SigningKey.objects.values()) == before
    assert Checkpoint.objects.count() == 2


def test_the_database_holds_at_most_one_current_key(db):
    current = signing_key()
    other = Ed25519PrivateKey.generate()

    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.create(key_name=current.name, key_id=kid(other), public_key=raw_public(other),
                                  valid_from=timezone.now())

    assert SigningKey.objects.count() == 1


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(bytes(31)).decode()])
def test_a_malformed_operator_key_stops_the_hub_at_start(value):
    with override_settings(LEDGER_NEXT_SIGNING_KEY=value):
        with pytest.raises(SystemCheckError) as failed:
            call_command("check")
    assert "consent_ledger.E001" in str(failed.value) and value not in str(failed.value)


# -- GET ledger/public-key ---------------------------------------------------------------


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_public_key_endpoint_lists_current_and_retired_keys_with_validity(party, ledger_log):
    ops = party("MOPS Oława", "ops")
    before = ops.get("/api/v1/ledger/public-key").json()
    old = signing_key()
    rotation = ledger_key_rotate()

    answer = ops.get("/api/v1/ledger/public-key")

    body, new, switch = answer.json(), rotation.current, rotation.checkpoint
    assert answer.status_code == 200
    # The members of v1 name the current key.
    assert (body["key_name"], body["public_key"], body["key_id"]) == (new.name, new.public_key_b64, new.key_id)
    assert (before["key_name"], before["public_key"]) == (old.name, old.public_key_b64)
    assert [(k["key_id"], k["public_key"]) for k in before["keys"]] == [(old.key_id, old.public_key_b64)]
    assert [k["key_id"] for k in body["keys"]] == [old.key_id, new.key_id]
    retired, current = body["keys"]
    assert when(retired["retired_at"]) == when(current["valid_from"]) == switch.created_at
    assert when(retired["valid_from"]) <= Checkpoint.objects.get(tree_size=1).created_at
    assert current["retired_at"] is None
    for key in body["keys"]:  # each verifier key opens the switch checkpoint
        name, public = parse_verifier_key(key["verifier_key"])
        assert (name, base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()) == (
            key["key_name"], key["public_key"]
        )
        assert open_note(switch.note, name, public, origin=settings.LEDGER_ORIGIN).tree_size == 5


def test_the_public_key_endpoint_needs_the_ledger_scope(party):
    reader = party("PCPR Oława", "pcpr", scopes=("agencies:read",))

    answer = reader.get("/api/v1/ledger/public-key")

    assert answer.status_code == 403


# -- Migration 0009: the checkpoints signed before keys had a validity --------------------

BEFORE = [("consent_ledger", "0008_ledger_entry_fewer_indexes")]
AFTER = [("consent_ledger", "0009_checkpoint_key_rotation")]


@pytest.fixture
def migrator(triggers_restored, ledger_transactional_db):
    """migrate(targets) -> the apps of that state; the schema is back at its latest afterwards."""
    def migrate(targets):
        executor = MigrationExecutor(connection)
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    yield migrate
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def legacy_checkpoint(apps, key: Ed25519PrivateKey, name: str, size: int, at) -> None:
    root = EMPTY_ROOT if size == 0 else bytes([size]) * 32
    note = sign_note(checkpoint_body(settings.LEDGER_ORIGIN, size, root), name, key)
    apps.get_model("consent_ledger", "Checkpoint").objects.create(
        tree_size=size, root_hash=root.hex(), key_name=name, note=note, created_at=at, frontier=[],
    )


def legacy_key(apps, key: Ed25519PrivateKey, name: str) -> None:
    apps.get_model("consent_ledger", "SigningKey").objects.create(
        key_name=name, private_key=key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()),
        public_key=raw_public(key),
    )


def test_migration_records_the_key_of_every_checkpoint_and_the_log_still_verifies(migrator):
    key, name, signed_at = Ed25519PrivateKey.generate(), settings.LEDGER_KEY_NAME, timezone.now() - timedelta(days=1)
    apps = migrator(BEFORE)
    legacy_key(apps, key, name)
    legacy_checkpoint(apps, key, name, 0, signed_at)

    migrator(AFTER)

    row = SigningKey.objects.get()
    assert (row.key_id, row.valid_from, row.retired_at) == (kid(key), signed_at, None)
    assert bytes(row.private_key) == key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    assert Checkpoint.objects.get().key_id == kid(key)
    assert installed_triggers() == TRIGGERS[connection.vendor]
    assert verify_ledger().ok
    ledger_key_rotate()  # the migrated key hands over like any other
    assert verify_ledger().ok


def test_migration_keeps_the_operators_key_current_and_retires_the_stored_one(migrator):
    stored, operator = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    name, first = settings.LEDGER_KEY_NAME, timezone.now() - timedelta(days=2)
    apps = migrator(BEFORE)
    legacy_key(apps, stored, name)  # generated first; the operator set LEDGER_SIGNING_KEY later
    legacy_checkpoint(apps, stored, name, 1, first)
    legacy_checkpoint(apps, stored, name, 2, first + timedelta(hours=1))
    legacy_checkpoint(apps, operator, name, 3, first + timedelta(hours=2))

    with override_settings(LEDGER_SIGNING_KEY=b64(operator)):
        migrator(AFTER)

    keys = {row.key_id: row for row in SigningKey.objects.all()}
    assert (keys[kid(stored)].valid_from, keys[kid(stored)].retired_at) == (first, first + timedelta(hours=1))
    assert keys[kid(stored)].private_key is None
    assert (keys[kid(operator)].valid_from, keys[kid(operator)].retired_at) == (first + timedelta(hours=2), None)
    assert keys[kid(operator)].private_key is None
    recorded = dict(Checkpoint.objects.values_list("tree_size", "key_id"))
    assert recorded == {1: kid(stored), 2: kid(stored), 3: kid(operator)}
