"""The sequencer: gives committed ledger entries consecutive leaf indexes, in
the order it sees them committed, and signs a checkpoint of each new tree size
(DESIGN.md 4.4). Appends never wait for it: only concurrent sequencers
serialise, on the SequencerState row.

The tree is kept as its frontier, the roots of the perfect subtrees that make
it up (largest first): appending a leaf and computing the root read no old
leaves (RFC 9162 §2.1.1: MTH splits at the largest power of two below n).
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from .checkpoint import checkpoint_body, sign_note_with
from .keys import LedgerKey, key_rotate, signing_key
from .merkle import frontier_extend_nodes, frontier_root
from .models import (
    Checkpoint,
    LedgerLeaf,
    LedgerPending,
    MerkleNode,
    SequencerState,
)


@transaction.atomic
def ledger_sequence(*, batch_size: int | None = None) -> Checkpoint | None:
    """Sequence up to one batch of committed, unsequenced entries and sign a
    checkpoint of the new tree. Returns the checkpoint, or None when idle.

    Set-based: one DELETE takes the batch off the queue, one INSERT gives the
    entries their leaf indexes, one INSERT keeps the subtrees completed, one
    checkpoint signs the batch; the entries themselves are never rewritten.
    """
    batch_size = batch_size or settings.LEDGER_SEQUENCER_BATCH
    state = _locked_state()
    batch = _take_pending(batch_size)
    if not batch:
        return None
    size = state.tree_size
    frontier, nodes = frontier_extend_nodes(
        [bytes.fromhex(h) for h in state.frontier], size, (bytes.fromhex(h) for _, h in batch),
        min_height=settings.LEDGER_NODE_MIN_HEIGHT,
    )
    _insert_leaves(size, [seq for seq, _ in batch])
    _insert_nodes(nodes)
    size += len(batch)
    state.tree_size, state.frontier = size, [h.hex() for h in frontier]
    state.save(update_fields=["tree_size", "frontier"])
    return _checkpoint_sign(size, frontier)


# On PostgreSQL each step is one statement over arrays, whatever the batch
# size: building a model instance per row would cost more than the database
# spends on it. SQLite (the demo's few entries) goes through the ORM, in
# statements small enough for its limit on bound parameters (32766).
_SQLITE_BATCH = 10_000

# The batch is every pending row below the (batch_size + 1)-th smallest: one
# range DELETE, no join. A row of a transaction that commits while this runs
# is not in the statement's snapshot, so it stays queued for the next batch.
_TAKE_PENDING = f"""
DELETE FROM {LedgerPending._meta.db_table}
WHERE entry_id < COALESCE(
  (SELECT entry_id FROM {LedgerPending._meta.db_table} ORDER BY entry_id OFFSET %s LIMIT 1), {2**63 - 1})
RETURNING entry_id, leaf_hash
"""
_INSERT_LEAVES = f"""
INSERT INTO {LedgerLeaf._meta.db_table} (leaf_index, entry_id)
SELECT %s + position - 1, seq FROM unnest(%s::bigint[]) WITH ORDINALITY AS batch(seq, position)
"""
_INSERT_NODES = f"""
INSERT INTO {MerkleNode._meta.db_table} (height, index, hash)
SELECT * FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[])
"""


def _take_pending(batch_size: int) -> list[tuple[int, str]]:
    """Take the oldest committed entries off the queue: (seq, leaf_hash) in
    seq order. Under the SequencerState lock only one sequencer runs; an
    entry whose transaction commits later joins a later batch (DESIGN.md 4.4:
    leaves are ordered as the sequencer sees them committed)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_TAKE_PENDING, [batch_size])
            return sorted(cursor.fetchall())
    batch = list(LedgerPending.objects.order_by("entry_id").values_list("entry_id", "leaf_hash")[:batch_size])
    for start in range(0, len(batch), _SQLITE_BATCH):
        LedgerPending.objects.filter(entry_id__in=[seq for seq, _ in batch[start : start + _SQLITE_BATCH]]).delete()
    return batch


def _insert_leaves(first_index: int, seqs: list[int]) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_LEAVES, [first_index, seqs])
        return
    leaves = [LedgerLeaf(leaf_index=first_index + offset, entry_id=seq) for offset, seq in enumerate(seqs)]
    LedgerLeaf.objects.bulk_create(leaves, batch_size=_SQLITE_BATCH)


def _insert_nodes(nodes: list[tuple[int, int, bytes]]) -> None:
    if not nodes:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_NODES, [list(column) for column in zip(*nodes)])
        return
    rows = [MerkleNode(height=height, index=index, hash=node) for height, index, node in nodes]
    MerkleNode.objects.bulk_create(rows, batch_size=_SQLITE_BATCH)


def _checkpoint_sign(tree_size: int, frontier: list[bytes]) -> Checkpoint:
    key = signing_key()
    # A key signs nothing before it is valid, whatever this host's clock says
    # (verify_ledger holds each checkpoint to its key's validity).
    return _checkpoint_create(tree_size, frontier, [key], at=max(timezone.now(), key.valid_from))


def _checkpoint_create(tree_size: int, frontier: list[bytes], keys: list[LedgerKey], *, at: datetime) -> Checkpoint:
    """Sign the tree with every key given, in order (C2SP signed-note: one
    signature line each); the checkpoint records the last one's key ID."""
    root, recorded = frontier_root(frontier), keys[-1]
    body = checkpoint_body(settings.LEDGER_ORIGIN, tree_size, root)
    note = sign_note_with(body, [(key.name, key.private_key) for key in keys])
    return Checkpoint.objects.create(
        tree_size=tree_size, root_hash=root.hex(), key_name=recorded.name, key_id=recorded.key_id, note=note,
        created_at=at, frontier=[h.hex() for h in frontier],
    )


def _locked_state() -> SequencerState:
    """The sequencer's state row, locked: one sequencer or key change at a time."""
    SequencerState.objects.get_or_create(pk=1)
    return SequencerState.objects.select_for_update().get(pk=1)


@dataclass(frozen=True)
class KeyRotation:
    retired: LedgerKey
    current: LedgerKey
    checkpoint: Checkpoint


@transaction.atomic
def ledger_key_rotate() -> KeyRotation:
    """Retire the current checkpoint key for the next one (keys.key_rotate)
    and sign the tree as it stands with both, at the instant of the switch.

    A verifier holding only the old key verifies the switch checkpoint with
    it and finds the same tree signed by the new key; every later checkpoint
    is signed by the new key alone and must extend that tree (RFC 9162
    §2.1.4). Entries still queued are signed later, by the new key. Raises
    keys.KeyRotationRefused, keys.SigningKeyUnavailable.
    """
    state = _locked_state()
    old = signing_key()
    # Not before any checkpoint the old key signed (another host's clock may
    # run ahead of this one's), nor before it became valid.
    signed = Checkpoint.objects.aggregate(last=Max("created_at"))["last"]
    at = max(filter(None, [timezone.now(), signed, old.valid_from]))
    new = key_rotate(current=old, at=at)
    frontier = [bytes.fromhex(h) for h in state.frontier]
    return KeyRotation(old, new, _checkpoint_create(state.tree_size, frontier, [old, new], at=at))


def ledger_sequence_all() -> int:
    """Run batches until nothing is left; returns the tree size."""
    while ledger_sequence() is not None:
        pass
    return SequencerState.objects.get_or_create(pk=1)[0].tree_size
