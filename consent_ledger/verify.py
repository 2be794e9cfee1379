"""Verify the consent ledger from what is stored (DESIGN.md 2, principle 4; 4.4).

Everything is recomputed: each entry's leaf hash from its content, the Merkle
tree from those recomputed hashes in leaf-index order, and every signed
checkpoint is checked against that tree. A checkpoint whose root no longer
matches proves that some entry between the last matching checkpoint and it
was changed, removed or reordered (RFC 9162 §2.1.1: a root commits to every
leaf and its position).

Only reads: nothing is sequenced, signed or generated. On PostgreSQL the whole
check reads one REPEATABLE READ, READ ONLY snapshot, so a sequencer committing
meanwhile cannot make a sound log look broken.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .checkpoint import CheckpointError, open_note
from .ledger import entry_leaf_hash
from .merkle import HASH_SIZE, MerkleTree, frontier_root
from .models import Checkpoint, LedgerEntry, SequencerState, SigningKey, VerificationRun
from .sequencer import signing_key

CHUNK_SIZE = 2000
# A systematically broken log would otherwise list one problem per entry.
MAX_PROBLEMS = 100
# How many entry ids a failing checkpoint's range names.
MAX_RANGE_IDS = 10


@dataclass
class VerifyReport:
    ok: bool
    tree_size: int  # sequenced entries found (the recomputed tree's size)
    checkpoints_checked: int
    problems: list[str]
    first_problem: str | None


@dataclass
class _Findings:
    problems: list[str] = field(default_factory=list)
    unlisted: int = 0

    def add(self, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.unlisted += 1

    def all(self) -> list[str]:
        more = [f"... and {self.unlisted} more problems"] if self.unlisted else []
        return self.problems + more


def verify_ledger() -> VerifyReport:
    """Recompute the log from the stored entries and check every checkpoint."""
    findings = _Findings()
    with _snapshot():
        tree = _tree_of_entries(findings)
        _check_unsequenced(findings)
        checked = _check_checkpoints(tree, findings)
        _check_sequencer_state(tree, findings)
    problems = findings.all()
    return VerifyReport(
        ok=not problems,
        tree_size=len(tree),
        checkpoints_checked=checked,
        problems=problems,
        first_problem=problems[0] if problems else None,
    )


def verify_ledger_and_record(*, trigger: str) -> VerifyReport:
    """Verify, then keep the result for the DPO's status page (written after
    the read-only snapshot has ended, so verification itself still only reads)."""
    report = verify_ledger()
    VerificationRun.objects.create(
        finished_at=timezone.now(), ok=report.ok, tree_size=report.tree_size,
        checkpoints_checked=report.checkpoints_checked, problems=report.problems, trigger=trigger,
    )
    return report


@contextmanager
def _snapshot() -> Iterator[None]:
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        # SET TRANSACTION must come first in a transaction: only when we own it.
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


# -- Entries -------------------------------------------------------------------


def _describe(entry: LedgerEntry) -> str:
    where = "not yet sequenced" if entry.leaf_index is None else f"leaf index {entry.leaf_index}"
    return f"entry {entry.id} (seq {entry.seq}, {where})"


def _recomputed_leaf(entry: LedgerEntry, findings: _Findings) -> bytes:
    try:
        recomputed = entry_leaf_hash(entry)
    except ValueError as exc:  # RFC 8785 refuses, e.g., integers beyond 2**53
        findings.add(f"{_describe(entry)}: its content cannot be canonicalised ({exc}): the entry was changed")
        return bytes(HASH_SIZE)  # a leaf no checkpoint's root can cover
    if recomputed != entry.leaf_hash:
        findings.add(
            f"{_describe(entry)}: stored leaf hash {entry.leaf_hash} but its content hashes to "
            f"{recomputed}: the entry was changed"
        )
    return bytes.fromhex(recomputed)


def _tree_of_entries(findings: _Findings) -> MerkleTree:
    """The tree of the recomputed leaf hashes of the sequenced entries, in leaf order."""
    tree, previous = MerkleTree(), None
    entries = LedgerEntry.objects.filter(leaf_index__isnull=False).order_by("leaf_index")
    for entry in entries.iterator(chunk_size=CHUNK_SIZE):
        if entry.leaf_index != len(tree):
            findings.add(_gap_problem(len(tree), entry, previous))
        tree.append(_recomputed_leaf(entry, findings))
        previous = entry
    return tree


def _gap_problem(expected: int, entry: LedgerEntry, previous: LedgerEntry | None) -> str:
    if entry.leaf_index < expected:
        return f"{_describe(entry)}: leaf index out of order (expected {expected})"
    after = f"after {_describe(previous)}" if previous else "at the start of the log"
    return (
        f"{_leaf_range(expected, entry.leaf_index)} missing: an entry was removed "
        f"({after}, before {_describe(entry)})"
    )


def _check_unsequenced(findings: _Findings) -> None:
    entries = LedgerEntry.objects.filter(leaf_index__isnull=True).order_by("seq")
    for entry in entries.iterator(chunk_size=CHUNK_SIZE):
        _recomputed_leaf(entry, findings)


def _leaf_range(lo: int, hi: int) -> str:
    """Leaf indexes lo..hi-1 in words."""
    return f"leaf index {lo}" if hi - lo == 1 else f"leaf indexes {lo}-{hi - 1}"


# -- Checkpoints -----------------------------------------------------------------


def _check_checkpoints(tree: MerkleTree, findings: _Findings) -> int:
    """Check every checkpoint in tree-size order; returns how many were checked."""
    checked, good_size = 0, 0
    key = _verification_key(findings)
    for row in Checkpoint.objects.order_by("tree_size").iterator(chunk_size=CHUNK_SIZE):
        checked += 1
        if key is not None and _checkpoint_holds(row, key, tree, good_size, findings):
            good_size = row.tree_size
    return checked


def _verification_key(findings: _Findings):
    # signing_key() would generate (and store) a key when none exists: a
    # verifier must not, and no such key could have signed the checkpoints.
    stored = SigningKey.objects.filter(key_name=settings.LEDGER_KEY_NAME).exists()
    if not (settings.LEDGER_SIGNING_KEY or stored):
        if Checkpoint.objects.exists():
            findings.add(f"no signing key {settings.LEDGER_KEY_NAME!r}: checkpoints cannot be verified")
        return None
    return signing_key()


def _checkpoint_holds(row: Checkpoint, key, tree: MerkleTree, good_size: int, findings: _Findings) -> bool:
    where = f"checkpoint at tree size {row.tree_size} (id {row.pk})"
    try:
        signed = open_note(row.note, key.name, key.public_key, origin=settings.LEDGER_ORIGIN)
    except CheckpointError as exc:
        findings.add(f"{where}: the signed note does not verify ({exc.code}: {exc})")
        return False
    if (signed.tree_size, signed.root_hash.hex()) != (row.tree_size, row.root_hash):
        findings.add(f"{where}: the signed note says size {signed.tree_size}, root "
                     f"{signed.root_hash.hex()}; the row says root {row.root_hash}")
        return False
    if row.tree_size > len(tree):
        findings.add(f"{where}: only {len(tree)} sequenced entries are stored: entries were removed")
        return False
    if tree.root(row.tree_size) != signed.root_hash:
        findings.add(f"{where}: the entries do not hash to the signed root; "
                     f"{_changed_range(good_size, row.tree_size)}")
        return False
    return True


def _changed_range(lo: int, hi: int) -> str:
    entries = LedgerEntry.objects.filter(leaf_index__gte=lo, leaf_index__lt=hi).order_by("leaf_index")
    ids = [str(i) for i in entries.values_list("id", flat=True)[:MAX_RANGE_IDS]]
    more = f" and {hi - lo - len(ids)} more" if len(ids) == MAX_RANGE_IDS < hi - lo else ""
    noun = "entry" if len(ids) == 1 and not more else "entries"
    listed = f"{noun} {', '.join(ids)}{more}" if ids else "no entries"
    return f"{_leaf_range(lo, hi)} ({listed}) changed, removed or reordered"


# -- Sequencer state ---------------------------------------------------------------


def _check_sequencer_state(tree: MerkleTree, findings: _Findings) -> None:
    state = SequencerState.objects.filter(pk=1).first() or SequencerState(tree_size=0, frontier=[])
    if state.tree_size != len(tree):
        findings.add(f"sequencer state says tree size {state.tree_size}, "
                     f"but {len(tree)} sequenced entries are stored")
        return
    try:
        root = frontier_root([bytes.fromhex(node) for node in state.frontier])
    except (TypeError, ValueError):
        root = None
    if root != tree.root():
        findings.add(f"sequencer state: its frontier root does not match the entries' root at size {len(tree)}")
