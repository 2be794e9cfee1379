"""verify_ledger --from-checkpoint N: from a trusted root at N, only the
entries from N on and the checkpoints after N are verified (RFC 9162 §2.1.4:
the trusted tree's frontier extended by the new leaves); a checkpoint not
consistent with the trusted root is refused."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from consent_ledger import triggers, verify
from consent_ledger.merkle import canonical_bytes, leaf_hash
from consent_ledger.models import Checkpoint, LedgerEntry, VerificationRun
from consent_ledger.sequencer import ledger_sequence
from consent_ledger.services import consent_grant
from consent_ledger.verify import (
    VerificationRefused,
    verify_ledger,
    verify_ledger_and_record,
)
from tests.consent_ledger.conftest import terms

pytestmark = pytest.mark.usefixtures("triggers_restored", "whole_and_small_chunks")


@pytest.fixture
def reads(monkeypatch) -> list[tuple[int, int]]:
    """Every range of leaves verify_ledger reads, by either path."""
    spans = []
    # Where each takes lo and hi: _fast_leaves(cursor, lo, hi), _precise_leaves(lo, hi, bounds, findings).
    for name, at in (("_fast_leaves", 1), ("_precise_leaves", 0)):
        monkeypatch.setattr(verify, name, _recording(getattr(verify, name), at, spans))
    return spans


def _recording(function, at: int, spans: list):
    def spy(*args):
        spans.append(args[at : at + 2])
        return function(*args)

    return spy


def root_at(size: int) -> str:
    return Checkpoint.objects.get(tree_size=size).root_hash


def test_from_a_trusted_checkpoint_only_the_entries_after_it_are_read(ledger_log, reads):
    report = verify_ledger(from_checkpoint=3, trusted_root=root_at(3))

    assert (report.ok, report.problems, report.tree_size, report.root_hash) == (True, [], 5, root_at(5))
    assert report.checkpoints_checked == 3  # sizes 3 (the trusted one), 4 and 5
    assert reads and min(lo for lo, _ in reads) == 3


def test_the_root_a_full_run_proved_is_trusted_by_the_next_incremental_run(ledger_log, ledger_caller,
                                                                           ledger_subject):
    full = verify_ledger_and_record(trigger="command")
    assert VerificationRun.objects.get().root_hash == full.root_hash == root_at(5)
    consent_grant(caller=ledger_caller, subject_id=ledger_subject.id, terms=terms(ledger_caller),
                  form="verbal_witnessed", grantor="subject")
    ledger_sequence()
    out = StringIO()

    call_command("verify_ledger", "--json", "--from-checkpoint", "5", stdout=out)

    assert json.loads(out.getvalue()) == {
        "ok": True, "tree_size": 6, "checkpoints_checked": 2, "problems": [], "root_hash": root_at(6)
    }
    assert VerificationRun.objects.order_by("-finished_at").first().root_hash == root_at(6)


def test_a_change_after_the_trusted_checkpoint_is_found(ledger_log):
    legal_basis = ledger_log[4]
    changed = canonical_bytes({**legal_basis.content, "body": {**legal_basis.body, "basis": "consent"}})
    with triggers.dropped(connection):
        LedgerEntry.objects.filter(pk=legal_basis.pk).update(canonical=changed, leaf_hash=leaf_hash(changed).hex())

    report = verify_ledger(from_checkpoint=3, trusted_root=root_at(3))

    assert not report.ok
    assert report.first_problem.startswith(f"checkpoint at tree size 5 (id {Checkpoint.objects.get(tree_size=5).pk})")
    assert report.first_problem.endswith(f"leaf index 4 (entry {legal_basis.id}) changed, removed or reordered")


def test_a_wrong_trusted_root_is_refused(ledger_log):
    wrong = root_at(2)

    with pytest.raises(VerificationRefused) as refused:
        verify_ledger(from_checkpoint=3, trusted_root=wrong)

    assert str(refused.value) == (
        f"checkpoint 3 is not consistent with the trusted root {wrong}: it is signed for root {root_at(3)}"
    )


def test_without_a_trusted_root_incremental_verification_is_refused(ledger_log):
    with pytest.raises(VerificationRefused, match="^no trusted root at tree size 3: give one"):
        verify_ledger(from_checkpoint=3)


def test_a_trusted_checkpoint_without_a_frontier_is_refused(ledger_log):
    with triggers.dropped(connection):
        Checkpoint.objects.filter(tree_size=3).update(frontier=[])

    with pytest.raises(VerificationRefused) as refused:
        verify_ledger(from_checkpoint=3, trusted_root=root_at(3))

    assert str(refused.value) == (
        f"checkpoint 3 is not consistent with the trusted root {root_at(3)}: it carries no frontier "
        "(signed before frontiers were kept); verify in full"
    )


@pytest.mark.parametrize("frontier", [["00" * 32, "11" * 32], ["00" * 32], ["zz"]])
def test_a_trusted_checkpoint_whose_frontier_does_not_fold_to_the_root_is_refused(ledger_log, frontier):
    with triggers.dropped(connection):
        Checkpoint.objects.filter(tree_size=3).update(frontier=frontier)

    with pytest.raises(VerificationRefused) as refused:
        verify_ledger(from_checkpoint=3, trusted_root=root_at(3))

    assert str(refused.value) == (
        f"checkpoint 3 is not consistent with the trusted root {root_at(3)}: its stored frontier does not fold "
        "to that root"
    )


def test_a_trusted_checkpoint_whose_note_does_not_verify_is_refused(ledger_log):
    checkpoint = Checkpoint.objects.get(tree_size=3)
    with triggers.dropped(connection):
        Checkpoint.objects.filter(pk=checkpoint.pk).update(note=checkpoint.note.replace("\n\n", "\n\nx", 1))

    with pytest.raises(VerificationRefused, match="^checkpoint 3 is not consistent .*: its signed note does not verify"):
        verify_ledger(from_checkpoint=3, trusted_root=root_at(3))


def test_the_command_exits_2_when_refused_and_records_nothing(ledger_log):
    with pytest.raises(CommandError, match="^Not verified: no checkpoint at tree size 9$") as refused:
        call_command("verify_ledger", "--from-checkpoint", "9", "--root", root_at(5), stdout=StringIO())

    assert refused.value.returncode == 2
    assert not VerificationRun.objects.exists()
    with pytest.raises(CommandError, match="--root is the trusted root at --from-checkpoint N"):
        call_command("verify_ledger", "--root", root_at(5), stdout=StringIO())
    with pytest.raises(CommandError, match="^Not verified: the trusted root must be 64 hex digits"):
        call_command("verify_ledger", "--from-checkpoint", "3", "--root", "abc", stdout=StringIO())
    with pytest.raises(CommandError, match="--jobs must be at least 1"):
        call_command("verify_ledger", "--jobs", "0", stdout=StringIO())
