"""verify_ledger: an untampered log verifies; changing, removing or reordering
entries, or forging a checkpoint, behind the triggers' back (as a superuser
could) is found and the entry named (DESIGN.md 2, principle 4; 4.4).

Every tampering test runs twice: with the log in one chunk, and cut into
chunks of two leaves (the five entries make two full chunks and a partial
one), so that the fast path, the precise path and the combination of chunk
roots at the frontier all take part.
"""

import base64
import hashlib
import json
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from io import StringIO

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import connection

from consent_ledger import triggers
from consent_ledger.checkpoint import sign_note
from consent_ledger.merkle import canonical_bytes, leaf_hash
from consent_ledger.models import (
    Checkpoint,
    LedgerEntry,
    LedgerLeaf,
    LedgerPending,
    Provision,
    SigningKey,
)
from consent_ledger.services import consent_grant, subject_create
from consent_ledger.verify import verify_ledger
from tests.consent_ledger.conftest import TRIGGERS, installed_triggers, terms

pytestmark = pytest.mark.usefixtures("triggers_restored", "whole_and_small_chunks")


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


def rewrite(entry: LedgerEntry, *, rehash: bool = False, **content) -> bytes:
    """Store new canonical bytes for the entry (its content with `content`
    changed), with a matching leaf hash if `rehash`; returns the bytes."""
    changed = canonical_bytes({**entry.content, **content})
    fields = {"canonical": changed, **({"leaf_hash": leaf_hash(changed).hex()} if rehash else {})}
    with tampered():
        LedgerEntry.objects.filter(pk=entry.pk).update(**fields)
    return changed


def test_an_untampered_log_verifies(ledger_log):
    report = verify_ledger()

    assert (report.ok, report.tree_size, report.checkpoints_checked) == (True, 5, 5)
    assert (report.problems, report.first_problem) == ([], None)
    assert report.root_hash == Checkpoint.objects.get(tree_size=5).root_hash


def test_the_command_prints_a_summary_and_json_and_exits_0(ledger_log):
    root = Checkpoint.objects.get(tree_size=5).root_hash
    out = StringIO()
    call_command("verify_ledger", stdout=out)

    assert out.getvalue().strip() == f"Ledger verified: 5 sequenced entries, 5 checkpoints checked; root {root}."
    assert run_json() == {"ok": True, "tree_size": 5, "checkpoints_checked": 5, "problems": [], "root_hash": root}


def test_an_empty_log_verifies_and_verifying_writes_no_signing_key(db):
    assert run_json() == {"ok": True, "tree_size": 0, "checkpoints_checked": 0, "problems": [], "root_hash": ""}
    assert not SigningKey.objects.exists()


def test_unsequenced_entries_are_checked_but_not_required(ledger_log, ledger_caller, ledger_subject):
    consent = consent_grant(caller=ledger_caller, subject_id=ledger_subject.id, terms=terms(ledger_caller),
                            form="verbal_witnessed", grantor="subject")
    entry = consent.granted_entry
    assert verify_ledger().ok
    with tampered():
        LedgerEntry.objects.filter(pk=entry.pk).update(actor="client:someone-else")

    report = verify_ledger()

    assert report.problems == [
        (f"entry {entry.id} (seq {entry.seq}, not yet sequenced): its columns do not match its content (actor): "
         "the entry was changed")
    ]


def other_value(column: str, caller, make_agency):
    """A value for the column other than the entry's."""
    if column == "recorded_by":
        return make_agency(name="PCPR Inny", kind="pcpr").pk
    if column == "subject":
        return subject_create(caller=caller, external_ref="OPS/8/2025", profile={"person": {"given_name": "Ewa"}}).pk
    return {"id": uuid.uuid4(), "kind": "disclosure", "actor": "client:someone-else",
            "recorded_at": datetime(2020, 1, 1, tzinfo=UTC)}[column]


@pytest.mark.parametrize("column", ["id", "kind", "subject", "recorded_by", "actor", "recorded_at"])
def test_a_changed_column_names_the_entry_and_the_column(ledger_log, ledger_caller, make_agency, column):
    # The bytes and their leaf hash still agree: only holding the columns to
    # the bytes can tell (and the fast path must not pass the chunk).
    changed = ledger_log[2]
    field = {"recorded_by": "recorded_by_id", "subject": "subject_id"}.get(column, column)
    value = other_value(column, ledger_caller, make_agency)
    with tampered():
        LedgerEntry.objects.filter(pk=changed.pk).update(**{field: value})
    seen_id = value if column == "id" else changed.id

    report = verify_ledger()
    with tampered():  # the provision's foreign key to the entry's id must hold again when the test ends
        LedgerEntry.objects.filter(pk=changed.pk).update(**{field: getattr(changed, field)})

    assert report.problems == [
        (f"entry {seen_id} (seq {changed.seq}, leaf index 2): its columns do not match its content "
         f"({column}): the entry was changed")
    ]
    assert not report.root_hash


def test_a_changed_body_names_the_entry_by_id(ledger_log):
    widened = ledger_log[1]
    changed = rewrite(widened, body={**widened.body, "purposes": ["referral", "statistics"]})

    report = verify_ledger()

    assert not report.ok
    assert report.first_problem == (
        f"entry {widened.id} (seq {widened.seq}, leaf index 1): stored leaf hash {widened.leaf_hash} but its "
        f"bytes hash to {leaf_hash(changed).hex()}: the entry was changed"
    )
    # The recomputed tree no longer matches the checkpoints from size 2 on.
    assert sum("changed, removed or reordered" in p for p in report.problems) == 4


def test_bytes_that_cannot_be_decoded_name_the_entry(ledger_log):
    # Bytes no JSON parser reads, with a leaf hash to match: the verifier reports, not crashes.
    changed = ledger_log[0]
    garbage = b'{"actor":' + bytes(changed.canonical)[9:-3] + b"\xff}"
    with tampered():
        LedgerEntry.objects.filter(pk=changed.pk).update(canonical=garbage, leaf_hash=leaf_hash(garbage).hex())

    report = verify_ledger()

    assert report.first_problem.startswith(
        f"entry {changed.id} (seq {changed.seq}, leaf index 0): its content cannot be decoded ("
    )
    assert report.first_problem.endswith("): the entry was changed")
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
    assert result["problems"][0].startswith(f"entry {widened.id} ") and result["root_hash"] == ""


def test_a_removed_entry_is_named_by_its_missing_leaf_index(ledger_log):
    # Hide a revocation: un-end the consent and delete the revocation entry.
    revocation = ledger_log[2]
    with tampered():
        Provision.objects.filter(ended_entry=revocation.id).update(ended_entry=None, ended_at=None)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {triggers.LEAF_TABLE} WHERE entry_id = %s", [revocation.seq])
            cursor.execute(f"DELETE FROM {triggers.ENTRY_TABLE} WHERE seq = %s", [revocation.seq])

    report = verify_ledger()

    assert not report.ok and report.tree_size == 4
    assert report.first_problem == (
        f"leaf index 2 missing: an entry was removed (after entry {ledger_log[1].id} (seq {ledger_log[1].seq}, "
        f"leaf index 1), before entry {ledger_log[3].id} (seq {ledger_log[3].seq}, leaf index 3))"
    )
    with pytest.raises(CommandError, match="leaf index 2 missing"):
        call_command("verify_ledger", stdout=StringIO())


def test_a_removed_leaf_row_leaves_its_entry_neither_in_the_log_nor_queued(ledger_log):
    removed = ledger_log[3]
    with tampered():
        LedgerLeaf.objects.filter(entry_id=removed.seq).delete()

    report = verify_ledger()

    assert report.first_problem.startswith("leaf index 3 missing: an entry was removed")
    assert (
        f"entry {removed.id} (seq {removed.seq}): neither in the log nor queued for the sequencer: "
        "its leaf or its queue row was removed"
    ) in report.problems


def test_a_removed_last_entry_is_found_by_the_checkpoints_and_the_sequencer_state(ledger_log):
    last = ledger_log[4]
    with tampered():
        Provision.objects.filter(granted_entry=last.id).delete()
        last.note.delete()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {triggers.LEAF_TABLE} WHERE entry_id = %s", [last.seq])
            cursor.execute(f"DELETE FROM {triggers.ENTRY_TABLE} WHERE seq = %s", [last.seq])

    report = verify_ledger()

    assert report.problems == [
        (f"checkpoint at tree size 5 (id {Checkpoint.objects.get(tree_size=5).pk}): "
         "only 4 sequenced entries are stored: entries were removed"),
        "sequencer state says tree size 5, but 4 sequenced entries are stored",
    ]


def swap_leaves(first: LedgerEntry, second: LedgerEntry) -> None:
    with tampered():
        leaves = {leaf.entry_id: leaf.leaf_index for leaf in LedgerLeaf.objects.filter(entry__in=[first, second])}
        LedgerLeaf.objects.filter(entry__in=[first, second]).delete()
        LedgerLeaf.objects.bulk_create([
            LedgerLeaf(leaf_index=leaves[first.seq], entry_id=second.seq),
            LedgerLeaf(leaf_index=leaves[second.seq], entry_id=first.seq),
        ])


def test_swapped_entries_are_named_by_the_checkpoint_range(ledger_log):
    revocation, refusal = ledger_log[2], ledger_log[3]
    swap_leaves(revocation, refusal)

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
    rewrite(refusal, rehash=True, body={**refusal.body, "categories": ["identity"]})

    report = verify_ledger()

    assert not report.ok
    assert report.first_problem.startswith("checkpoint at tree size 4 ")
    assert report.first_problem.endswith(f"leaf index 3 (entry {refusal.id}) changed, removed or reordered")
    with pytest.raises(CommandError, match=str(refusal.id)):
        call_command("verify_ledger", stdout=StringIO())


def test_a_leaf_far_beyond_the_log_is_named_without_walking_to_it(ledger_log):
    last = ledger_log[4]
    with tampered():
        LedgerLeaf.objects.filter(entry_id=last.seq).update(leaf_index=10**15)

    report = verify_ledger()

    assert report.problems[0] == (
        f"entry {last.id} (seq {last.seq}, leaf index {10**15}): leaf index outside the log "
        "(its 5 leaves are numbered from 0)"
    )
    assert report.problems[1] == (
        f"leaf index 4 missing: an entry was removed (after entry {ledger_log[3].id} (seq {ledger_log[3].seq}, "
        f"leaf index 3), at the end of the log)"
    )
    assert report.tree_size == 4


def test_an_entry_in_the_log_and_still_queued_is_named(ledger_log):
    queued = ledger_log[1]
    LedgerPending.objects.create(entry=queued, leaf_hash=queued.leaf_hash)

    report = verify_ledger()

    assert report.problems == [
        f"entry {queued.id} (seq {queued.seq}, leaf index 1): in the log and still queued for the sequencer"
    ]


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
        (f"checkpoint at tree size 3 (id {checkpoint.pk}): the signed note does not verify "
         f"(invalid_signature: bad signature by {checkpoint.key_name})")
    ]


def test_a_checkpoint_signed_by_another_key_under_the_same_name_fails(ledger_log):
    checkpoint = Checkpoint.objects.get(tree_size=5)
    body = checkpoint.note[: checkpoint.note.index("\n\n") + 1]
    note = sign_note(body, checkpoint.key_name, Ed25519PrivateKey.generate())
    with tampered():
        Checkpoint.objects.filter(pk=checkpoint.pk).update(note=note)

    report = verify_ledger()

    assert report.problems == [
        (f"checkpoint at tree size 5 (id {checkpoint.pk}): the signed note does not verify "
         f"(unverified_note: no signature by {checkpoint.key_name})")
    ]


def test_a_checkpoint_row_that_disagrees_with_its_note_fails(ledger_log):
    checkpoint = Checkpoint.objects.get(tree_size=2)
    with tampered():
        Checkpoint.objects.filter(pk=checkpoint.pk).update(root_hash="00" * 32)

    report = verify_ledger()

    assert len(report.problems) == 1
    assert report.first_problem.startswith(f"checkpoint at tree size 2 (id {checkpoint.pk}): the signed note says")


@pytest.mark.parametrize("frontier", [["00" * 32, "11" * 32], ["not hex"], ["00" * 32]])
def test_a_checkpoint_whose_frontier_does_not_fold_to_its_root_fails(ledger_log, frontier):
    checkpoint = Checkpoint.objects.get(tree_size=3)
    with tampered():
        Checkpoint.objects.filter(pk=checkpoint.pk).update(frontier=frontier)

    report = verify_ledger()

    assert report.problems == [
        f"checkpoint at tree size 3 (id {checkpoint.pk}): its stored frontier does not fold to the signed root"
    ]


def test_checkpoints_signed_before_frontiers_were_kept_still_verify(ledger_log):
    with tampered():
        Checkpoint.objects.update(frontier=[])

    assert verify_ledger().ok


def test_outside_a_transaction_verifying_reads_one_snapshot(ledger_transactional_db, ledger_log):
    # Every other test runs inside the test's transaction; this one takes the
    # path a real run takes (its own REPEATABLE READ, READ ONLY transaction on
    # PostgreSQL).
    assert not connection.in_atomic_block

    report = verify_ledger()

    assert (report.ok, report.tree_size, report.checkpoints_checked) == (True, 5, 5)
    assert not connection.in_atomic_block



def test_a_queue_row_with_another_leaf_hash_is_named(ledger_log, ledger_caller, ledger_subject):
    # The sequencer signs the leaf hash the queue row holds.
    consent = consent_grant(caller=ledger_caller, subject_id=ledger_subject.id, terms=terms(ledger_caller),
                            form="verbal_witnessed", grantor="subject")
    entry = consent.granted_entry
    LedgerPending.objects.filter(entry=entry).update(leaf_hash="0" * 64)

    report = verify_ledger()

    assert report.problems == [
        (f"entry {entry.id} (seq {entry.seq}, not yet sequenced): its queue row holds leaf hash {'0' * 64} "
         f"but its bytes hash to {entry.leaf_hash}: the queue row was changed")
    ]
