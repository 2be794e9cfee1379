"""verify_ledger: an untampered log verifies; changing, removing or reordering
entries, or forging a checkpoint, behind the triggers' back (as a superuser
could) is found and the entry named (DESIGN.md 2, principle 4; 4.4)."""

import base64
import hashlib
import json
from contextlib import contextmanager
from io import StringIO

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import connection

from consent_ledger import triggers
from consent_ledger.checkpoint import sign_note
from consent_ledger.ledger import entry_leaf_hash
from consent_ledger.models import Checkpoint, LedgerEntry, Provision, SigningKey
from consent_ledger.services import consent_grant
from consent_ledger.verify import verify_ledger
from tests.consent_ledger.conftest import TRIGGERS, installed_triggers, terms

pytestmark = pytest.mark.usefixtures("triggers_restored")


def run_json(*args) -> dict:
    out = StringIO()
    call_command("verify_ledger", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


@contextmanager
def tampered():
    """Lift the append-only guard for a block (as a table owner could); then it is back."""
    with triggers.dropped(connection):
        yield
    assert installed_triggers() == TRIGGERS[connection.vendor]


def test_an_untampered_log_verifies(ledger_log):
    report = verify_ledger()

    assert (report.ok, report.tree_size, report.checkpoints_checked) == (True, 5, 5)
    assert (report.problems, report.first_problem) == ([], None)


def test_the_command_prints_a_summary_and_json_and_exits_0(ledger_log):
    out = StringIO()
    call_command("verify_ledger", stdout=out)

    assert out.getvalue().strip() == "Ledger verified: 5 sequenced entries, 5 checkpoints checked."
    assert run_json() == {"ok": True, "tree_size": 5, "checkpoints_checked": 5, "problems": []}


def test_an_empty_log_verifies_and_verifying_writes_no_signing_key(db):
    assert run_json() == {"ok": True, "tree_size": 0, "checkpoints_checked": 0, "problems": []}
    assert not SigningKey.objects.exists()


def test_unsequenced_entries_are_checked_but_not_required(ledger_log, ledger_caller, ledger_subject):
    consent = consent_grant(caller=ledger_caller, subject_id=ledger_subject.id, terms=terms(ledger_caller),
                            form="verbal_witnessed", grantor="subject")
    entry = consent.granted_entry
    assert verify_ledger().ok
    with tampered():
        LedgerEntry.objects.filter(pk=entry.pk).update(actor="client:someone-else")

    report = verify_ledger()

    assert not report.ok
    assert report.first_problem.startswith(f"entry {entry.id} (seq {entry.seq}, not yet sequenced): ")


def test_a_changed_body_names_the_entry_by_id(ledger_log):
    widened = ledger_log[1]
    with tampered():
        LedgerEntry.objects.filter(pk=widened.pk).update(body={**widened.body, "purposes": ["referral", "statistics"]})

    report = verify_ledger()

    assert not report.ok
    assert report.first_problem.startswith(f"entry {widened.id} (seq {widened.seq}, leaf index 1)")
    assert "was changed" in report.first_problem
    # The recomputed tree no longer matches the checkpoints from size 2 on.
    assert sum("changed, removed or reordered" in p for p in report.problems) == 4


def test_a_body_that_cannot_be_canonicalised_names_the_entry(ledger_log):
    # RFC 8785 has no spelling for integers beyond 2**53: the verifier reports, not crashes.
    changed = ledger_log[0]
    with tampered():
        LedgerEntry.objects.filter(pk=changed.pk).update(body={**changed.body, "count": 2**60})

    report = verify_ledger()

    assert report.first_problem.startswith(f"entry {changed.id} (seq {changed.seq}, leaf index 0): its content cannot")
    assert report.problems[1].endswith(f"leaf index 0 (entry {changed.id}) changed, removed or reordered")


def test_the_command_exits_1_naming_the_changed_entry(ledger_log):
    widened = ledger_log[1]
    with tampered():
        LedgerEntry.objects.filter(pk=widened.pk).update(actor="user:999")
    out = StringIO()

    with pytest.raises(CommandError, match=f"^entry {widened.id} ") as raised:
        call_command("verify_ledger", "--json", stdout=out)

    assert raised.value.returncode == 1
    result = json.loads(out.getvalue())
    assert result["ok"] is False and result["tree_size"] == 5 and result["checkpoints_checked"] == 5
    assert result["problems"][0].startswith(f"entry {widened.id} ")


def test_a_removed_entry_is_named_by_its_missing_leaf_index(ledger_log):
    # Hide a revocation: un-end the consent and delete the revocation entry.
    revocation = ledger_log[2]
    with tampered():
        Provision.objects.filter(ended_entry=revocation.id).update(ended_entry=None, ended_at=None)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {triggers.ENTRY_TABLE} WHERE seq = %s", [revocation.seq])

    report = verify_ledger()

    assert not report.ok and report.tree_size == 4
    assert report.first_problem.startswith("leaf index 2 missing: an entry was removed")
    assert f"after entry {ledger_log[1].id} " in report.first_problem
    assert f"before entry {ledger_log[3].id} " in report.first_problem
    with pytest.raises(CommandError, match="leaf index 2 missing"):
        call_command("verify_ledger", stdout=StringIO())


def test_a_removed_last_entry_is_found_by_the_checkpoints_and_the_sequencer_state(ledger_log):
    last = ledger_log[4]
    with tampered():
        Provision.objects.filter(granted_entry=last.id).delete()
        last.note.delete()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {triggers.ENTRY_TABLE} WHERE seq = %s", [last.seq])

    report = verify_ledger()

    assert report.problems == [
        f"checkpoint at tree size 5 (id {Checkpoint.objects.get(tree_size=5).pk}): "
        "only 4 sequenced entries are stored: entries were removed",
        "sequencer state says tree size 5, but 4 sequenced entries are stored",
    ]


def test_swapped_entries_are_named_by_the_checkpoint_range(ledger_log):
    revocation, refusal = ledger_log[2], ledger_log[3]
    with tampered():
        LedgerEntry.objects.filter(pk=revocation.pk).update(leaf_index=None)
        LedgerEntry.objects.filter(pk=refusal.pk).update(leaf_index=2)
        LedgerEntry.objects.filter(pk=revocation.pk).update(leaf_index=3)

    report = verify_ledger()

    assert not report.ok
    # Sizes 1 and 2 still match; size 3 is the first to cover the swap.
    assert report.first_problem.endswith(f"leaf index 2 (entry {refusal.id}) changed, removed or reordered")
    assert "checkpoint at tree size 3 " in report.first_problem
    assert f"leaf indexes 2-3 (entries {refusal.id}, {revocation.id}) changed" in report.problems[1]


def test_a_changed_entry_with_a_recomputed_leaf_hash_is_named_by_the_checkpoint_range(ledger_log):
    # Narrow the refusal and make its stored leaf hash agree: only the signed
    # checkpoints can tell.
    refusal = ledger_log[3]
    refusal.body = {**refusal.body, "categories": ["identity"]}
    with tampered():
        LedgerEntry.objects.filter(pk=refusal.pk).update(body=refusal.body, leaf_hash=entry_leaf_hash(refusal))

    report = verify_ledger()

    assert not report.ok
    assert report.first_problem.startswith("checkpoint at tree size 4 ")
    assert report.first_problem.endswith(f"leaf index 3 (entry {refusal.id}) changed, removed or reordered")
    with pytest.raises(CommandError, match=str(refusal.id)):
        call_command("verify_ledger", stdout=StringIO())


def test_a_forged_checkpoint_fails_its_signature(ledger_log):
    checkpoint = Checkpoint.objects.get(tree_size=3)
    forged_root = hashlib.sha256(b"a log without that revocation").digest()
    origin, size, _, rest = checkpoint.note.split("\n", 3)
    note = "\n".join([origin, size, base64.b64encode(forged_root).decode(), rest])
    with tampered():
        Checkpoint.objects.filter(pk=checkpoint.pk).update(note=note, root_hash=forged_root.hex())

    report = verify_ledger()

    assert not report.ok and report.checkpoints_checked == 5
    assert report.problems == [
        f"checkpoint at tree size 3 (id {checkpoint.pk}): the signed note does not verify "
        f"(invalid_signature: bad signature by {checkpoint.key_name})"
    ]


def test_a_checkpoint_signed_by_another_key_under_the_same_name_fails(ledger_log):
    checkpoint = Checkpoint.objects.get(tree_size=5)
    body = checkpoint.note[: checkpoint.note.index("\n\n") + 1]
    note = sign_note(body, checkpoint.key_name, Ed25519PrivateKey.generate())
    with tampered():
        Checkpoint.objects.filter(pk=checkpoint.pk).update(note=note)

    report = verify_ledger()

    assert report.problems == [
        f"checkpoint at tree size 5 (id {checkpoint.pk}): the signed note does not verify "
        f"(unverified_note: no signature by {checkpoint.key_name})"
    ]


def test_a_checkpoint_row_that_disagrees_with_its_note_fails(ledger_log):
    checkpoint = Checkpoint.objects.get(tree_size=2)
    with tampered():
        Checkpoint.objects.filter(pk=checkpoint.pk).update(root_hash="00" * 32)

    report = verify_ledger()

    assert len(report.problems) == 1
    assert report.first_problem.startswith(f"checkpoint at tree size 2 (id {checkpoint.pk}): the signed note says")


def test_outside_a_transaction_verifying_reads_one_snapshot(ledger_transactional_db, ledger_log):
    # Every other test runs inside the test's transaction; this one takes the
    # path a real run takes (its own REPEATABLE READ, READ ONLY transaction on
    # PostgreSQL).
    assert not connection.in_atomic_block

    report = verify_ledger()

    assert (report.ok, report.tree_size, report.checkpoints_checked) == (True, 5, 5)
    assert not connection.in_atomic_block
