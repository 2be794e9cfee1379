"""Verify the consent ledger from what is stored (DESIGN.md 2, principle 4; 4.4).

Every entry's leaf is recomputed by hashing its stored canonical bytes (RFC
9162 §2.1.1: the leaf commits to exactly those bytes), the Merkle tree is
rebuilt from those leaves in leaf-index order, and every signed checkpoint is
checked against it, and against the key that was valid when it was signed
(consent_ledger/keys.py: keys rotate). A checkpoint whose root no longer matches proves that an
entry between the last matching checkpoint and it was changed, removed or
reordered (a root commits to every leaf and its position).

Verifying is hashing, not ORM work. The log is cut into aligned chunks of
2**CHUNK_HEIGHT leaves. The fast path proves an intact chunk in bulk: one
query reads which entry each of its leaves names, another reads those
entries by a range of their keys (not a join: a look-up per leaf costs the
database more than the range), the verifier hashes the canonical bytes
itself, compares all the stored leaf hashes at once and builds the chunk's
subtree level by level; a chunk is clean when its leaves are contiguous,
every stored leaf hash is the hash of the stored bytes, and the columns the
application reads spell the frame of those bytes. Only a chunk the fast path
flags goes through the precise path, entry by entry, which names what is
wrong. Chunks are aligned and equal, so their roots combine like leaves
(merkle.frontier_extend) and the root at any checkpoint inside a chunk is the
log's frontier before the chunk plus the chunk's own complete subtrees up to
that size: the verifier holds O(log n) hashes, never the leaves of the log.
The ranges of keys read also count the entries, so the check that every
entry is in the log or queued need not scan all of them again.

On PostgreSQL, worker processes verify chunks in parallel, each on its own
connection joined to the main process's REPEATABLE READ, READ ONLY snapshot
(pg_export_snapshot, as pg_dump -j does), so the whole run reads one state of
the database and a sequencer committing meanwhile cannot make a sound log
look broken. On SQLite (the demo) every chunk takes the precise path.

Only reads: nothing is sequenced, signed or generated.
"""

import gc
import hashlib
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from itertools import islice
from multiprocessing import util as multiprocessing_util
from operator import attrgetter

import orjson
import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from psycopg import sql

from .checkpoint import UNVERIFIED_NOTE, CheckpointError, parse_checkpoint_of, verify_signatures
from .checkpoint import Checkpoint as SignedCheckpoint
from .keys import KeyRecord, published_keys
from .ledger import entry_columns
from .merkle import EMPTY_ROOT, HASH_SIZE, frontier_extend, frontier_root
from .models import (
    Checkpoint,
    LedgerEntry,
    LedgerLeaf,
    LedgerPending,
    SequencerState,
    VerificationRun,
)

# Chunks of 2**14 leaves: a chunk's rows are a few megabytes, its result a few
# hashes, and a million entries make 62 chunks to share between the workers.
CHUNK_HEIGHT = 14
# Rows per fetch when the ORM reads entries or checkpoints one by one.
ORM_CHUNK = 2000
# A systematically broken log would otherwise list one problem per entry.
MAX_PROBLEMS = 100
# How many entry ids a failing checkpoint's range names.
MAX_RANGE_IDS = 10
# The leaf of a position no entry holds: no checkpoint's root can cover it.
_MISSING = bytes(HASH_SIZE)


@dataclass
class VerifyReport:
    ok: bool
    tree_size: int  # sequenced entries found (the recomputed tree's size)
    checkpoints_checked: int
    problems: list[str]
    first_problem: str | None
    root_hash: str = ""  # hex root proven at tree_size; "" unless ok


class VerificationRefused(Exception):
    """Incremental verification cannot start from the checkpoint asked for;
    the message says why. Nothing was verified."""


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


def verify_ledger(
    *, from_checkpoint: int | None = None, trusted_root: str | None = None, jobs: int | None = None
) -> VerifyReport:
    """Recompute the log from the stored entries and check every checkpoint.

    With ``from_checkpoint=N``, verify incrementally: only the leaves from N
    on and the checkpoints after N, in time proportional to the new entries.
    This is a consistency check (RFC 9162 §2.1.4). The trusted root at N is
    ``trusted_root`` (hex), else the root a successful run proved at tree
    size N. The checkpoint at N must be signed by the key of its time and
    carry that root, and its stored frontier, the complete subtrees of the
    tree of size N, must fold to it: the trusted root then authenticates the
    frontier. The frontier extended by the leaves read from N on yields the
    roots of trees whose first N leaves are the trusted tree, so every later
    checkpoint that matches is proven to extend it, as a consistency proof
    would. (The nodes of such a proof on the old tree's side are exactly that
    frontier.) What the first N rows hold now is not read: a full run checks
    them, and that every key took over from the one before it.

    ``jobs`` worker processes (default: one per CPU) verify chunks in
    parallel on PostgreSQL. Raises VerificationRefused when the incremental
    start is not consistent with the trusted root.
    """
    findings = _Findings()
    with _snapshot() as owned:
        keys = _Keys()
        start = _Start() if from_checkpoint is None else _trusted_start(from_checkpoint, trusted_root, keys)
        walk = _walk_log(start, keys, findings, jobs if owned else 1)
        if not start.size:  # an incremental run may not see a key's first checkpoint: a full run checks
            keys.check_handovers(findings)
        _check_queue(start, walk, findings)
        _check_sequencer_state(walk.found, walk.root(), findings)
    problems = findings.all()
    return VerifyReport(
        ok=not problems,
        tree_size=walk.found,
        checkpoints_checked=walk.checkpoints.checked,
        problems=problems,
        first_problem=problems[0] if problems else None,
        root_hash="" if problems or not walk.found else walk.root().hex(),
    )


def verify_ledger_and_record(
    *, trigger: str, from_checkpoint: int | None = None, trusted_root: str | None = None, jobs: int | None = None
) -> VerifyReport:
    """Verify, then keep the result for the DPO's status page (written after
    the read-only snapshot has ended, so verification itself still only
    reads). A successful run keeps the root it proved: the trusted root of the
    next incremental run from that size."""
    report = verify_ledger(from_checkpoint=from_checkpoint, trusted_root=trusted_root, jobs=jobs)
    VerificationRun.objects.create(
        finished_at=timezone.now(), ok=report.ok, tree_size=report.tree_size, root_hash=report.root_hash,
        checkpoints_checked=report.checkpoints_checked, problems=report.problems, trigger=trigger,
    )
    return report


# Every join of a run reads a range of the log through primary keys: stale
# statistics must never turn one into a hash or merge join over the whole
# entries table, once per chunk. (SET LOCAL: for this transaction only.)
_PLAN_BY_KEYS = ("SET LOCAL enable_hashjoin = off", "SET LOCAL enable_mergejoin = off")


@contextmanager
def _snapshot() -> Iterator[bool]:
    """One transaction for the whole run; yields whether it is ours (only
    then can worker processes share its snapshot: a caller's transaction may
    hold writes no other session sees)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        # SET TRANSACTION must come first in a transaction: only when we own it.
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                for statement in _PLAN_BY_KEYS:
                    cursor.execute(statement)
        yield outermost


# -- Where the walk starts -------------------------------------------------------


@dataclass(frozen=True)
class _Start:
    """The verified prefix the walk extends: nothing, or a trusted checkpoint's tree."""

    size: int = 0
    frontier: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class _Bounds:
    start: int  # where this run's walk starts (0, or the trusted checkpoint's size)
    end: int  # where it ends (_log_end)


def _trusted_start(size: int, trusted_root: str | None, keys: "_Keys") -> _Start:
    if size < 0:
        raise VerificationRefused(f"no checkpoint at tree size {size}")
    root = _trusted_root(size, trusted_root)
    # Two at one size when a key rotation signed the tree again: either serves.
    row = Checkpoint.objects.filter(tree_size=size).order_by("pk").first()
    if row is None:
        raise VerificationRefused(f"no checkpoint at tree size {size}")
    refused = f"checkpoint {size} is not consistent with the trusted root {root.hex()}"
    try:
        signed = keys.open(row)
    except CheckpointError as exc:
        raise VerificationRefused(f"{refused}: its signed note does not verify ({exc.code}: {exc})") from None
    except _KeyNotValid as exc:
        raise VerificationRefused(f"{refused}: {exc}") from None
    if (signed.tree_size, signed.root_hash, row.root_hash) != (size, root, root.hex()):
        raise VerificationRefused(f"{refused}: it is signed for root {signed.root_hash.hex()}")
    if not row.frontier:
        raise VerificationRefused(f"{refused}: it carries no frontier (signed before frontiers were kept); "
                                  "verify in full")
    frontier = _decoded_frontier(row.frontier, size)
    if frontier is None or frontier_root(frontier) != root:
        raise VerificationRefused(f"{refused}: its stored frontier does not fold to that root")
    return _Start(size, tuple(frontier))


def _trusted_root(size: int, given: str | None) -> bytes:
    if given is None:
        given = (
            VerificationRun.objects.filter(ok=True, tree_size=size).exclude(root_hash="")
            .order_by("-finished_at").values_list("root_hash", flat=True).first()
        )
        if given is None:
            raise VerificationRefused(
                f"no trusted root at tree size {size}: give one (--root), or verify in full first "
                "(a successful run keeps the root it proved)"
            )
    try:
        root = bytes.fromhex(given)
    except ValueError:
        root = b""
    if len(root) != HASH_SIZE:
        raise VerificationRefused(f"the trusted root must be {2 * HASH_SIZE} hex digits, not {given!r}")
    return root


def _decoded_frontier(frontier, size: int) -> list[bytes] | None:
    """A stored frontier as hashes, or None unless it is one hash per complete
    subtree of a tree of that size (RFC 9162 §2.1.1 decomposition)."""
    try:
        nodes = [bytes.fromhex(node) for node in frontier]
    except (TypeError, ValueError):
        return None
    if len(nodes) != size.bit_count() or any(len(node) != HASH_SIZE for node in nodes):
        return None
    return nodes


# -- The walk over the log ---------------------------------------------------------


@dataclass(frozen=True)
class _KeyRange:
    """Every entry whose key is in [first, last] was read: `entries` of them."""

    first: int
    last: int
    entries: int


@dataclass
class _Chunk:
    """One chunk's verified summary: for each size s it covers (the checkpoint
    sizes inside it and its end), the complete subtrees of leaves [lo, s),
    largest first. `nodes` is None when the fast path flagged the chunk.
    `keys`: the entries the fast path read, when it read a range of keys."""

    lo: int
    hi: int
    found: int
    nodes: dict[int, list[bytes]] | None
    keys: _KeyRange | None = None


class _Tree:
    """The recomputed tree as the walk passes it: its size and frontier."""

    def __init__(self, start: _Start) -> None:
        self.size, self.frontier = start.size, list(start.frontier)

    def root(self) -> bytes:
        return frontier_root(self.frontier)

    def root_in(self, chunk: _Chunk, size: int) -> bytes:
        """The root at a size inside the next aligned chunk: this tree's
        frontier followed by the chunk's complete subtrees up to that size."""
        return frontier_root(self.frontier + chunk.nodes[size])

    def pass_chunk(self, chunk: _Chunk) -> None:
        nodes = chunk.nodes[chunk.hi]
        if chunk.hi - chunk.lo == 1 << CHUNK_HEIGHT:
            # Aligned equal chunks are the leaves of a tree of chunks.
            self.frontier = frontier_extend(self.frontier, chunk.lo >> CHUNK_HEIGHT, nodes)
        else:  # the last, partial chunk: its subtrees are all smaller than the frontier's
            self.frontier += nodes
        self.size = chunk.hi

    def pass_leaves(self, leaves: list[bytes]) -> None:
        """Extend leaf by leaf (for a start that is not aligned to a chunk)."""
        self.frontier = frontier_extend(self.frontier, self.size, leaves)
        self.size += len(leaves)


@dataclass
class _Walk:
    end: int
    outside: int | None  # leaves outside [0, end) that name a stored entry, None if more than were listed
    found: int
    tree: _Tree
    checkpoints: "_Checkpoints"
    # The ranges of keys the walk read all entries of, adjacent ones merged
    # (most are: a few ranges, not one per chunk); None once a part of the
    # log was read otherwise.
    key_ranges: list[_KeyRange] | None = field(default_factory=list)

    def root(self) -> bytes:
        return self.tree.root()

    def read_keys(self, keys: _KeyRange | None) -> None:
        """Note how a part of the log was read (None: not by a range of keys)."""
        ranges = self.key_ranges
        if keys is None or ranges is None:
            self.key_ranges = None
        elif ranges and ranges[-1].last + 1 == keys.first:
            ranges[-1] = _KeyRange(ranges[-1].first, keys.last, ranges[-1].entries + keys.entries)
        else:
            ranges.append(keys)


def _walk_log(start: _Start, keys: "_Keys", findings: _Findings, jobs: int | None) -> _Walk:
    """Verify the leaves [start, end) chunk by chunk, checking each checkpoint
    as its size is passed; then the checkpoints beyond the stored leaves."""
    end, outside = _log_end(start.size, findings)
    checkpoints = _Checkpoints(start.size, keys, findings)
    walk = _Walk(end=end, outside=outside, found=start.size, tree=_Tree(start), checkpoints=checkpoints)
    checkpoints.check_upto(0, lambda row: EMPTY_ROOT)  # a checkpoint of the empty tree, if any
    bounds = _Bounds(start.size, end)
    head_end = min(end, _chunk_boundary_from(start.size))
    if head_end > start.size:
        _walk_head(walk, bounds, head_end, findings)
    for chunk in _chunks(head_end, end, jobs):
        walk.read_keys(chunk.keys)  # a range read counts its entries, clean chunk or not
        if chunk.nodes is None:
            chunk = _precise_chunk(chunk.lo, chunk.hi, bounds, findings)
        walk.found += chunk.found
        checkpoints.check_upto(chunk.hi, lambda row, chunk=chunk: walk.tree.root_in(chunk, row.tree_size))
        walk.tree.pass_chunk(chunk)
    checkpoints.check_rest(walk.found)
    return walk


def _chunk_boundary_from(size: int) -> int:
    """The first multiple of the chunk size at or after `size`."""
    return -(-size >> CHUNK_HEIGHT) << CHUNK_HEIGHT


def _walk_head(walk: _Walk, bounds: _Bounds, hi: int, findings: _Findings) -> None:
    """The leaves from an unaligned start to the next chunk boundary, in process."""
    lo = walk.tree.size
    read = _Read(0, None)
    if connection.vendor == "postgresql":
        with _raw_cursor() as cursor, _gc_paused():
            read = _fast_leaves(cursor, lo, hi)
    walk.read_keys(read.keys)
    found, leaves = read.found, read.leaves
    if leaves is None:
        found, leaves = _precise_leaves(lo, hi, bounds, findings)
    walk.found += found
    for row in walk.checkpoints.upto(hi):
        walk.tree.pass_leaves(leaves[walk.tree.size - lo : row.tree_size - lo])
        walk.checkpoints.check(row, walk.tree.root())
    walk.tree.pass_leaves(leaves[walk.tree.size - lo :])


def _log_end(start: int, findings: _Findings) -> tuple[int, int | None]:
    """Where the walk ends: after the last leaf, but never beyond the largest
    size the log states (its sequencer state, its latest checkpoint), so one
    leaf given a huge index cannot make the walk hash a billion missing
    leaves. Leaves outside [0, end) are reported; also returned: how many of
    them name a stored entry, None when there were more than are listed."""
    last = (
        LedgerLeaf.objects.filter(leaf_index__gte=start).order_by("-leaf_index")
        .values_list("leaf_index", flat=True).first()
    )
    stated = max(
        SequencerState.objects.filter(pk=1).values_list("tree_size", flat=True).first() or 0,
        Checkpoint.objects.order_by("-tree_size").values_list("tree_size", flat=True).first() or 0,
        start,
    )
    end = start if last is None else max(start, min(last + 1, stated))
    sides = [_leaves_outside(Q(leaf_index__lt=0)), _leaves_outside(Q(leaf_index__gte=end))]
    for leaf in [*sides[0], *sides[1]][: MAX_PROBLEMS + 1]:
        findings.add(f"{_describe(leaf.entry, leaf.leaf_index)}: leaf index outside the log "
                     f"(its {end} leaves are numbered from 0)")
    listed_all = all(len(side) <= MAX_PROBLEMS for side in sides)
    return end, sum(map(len, sides)) if listed_all else None


def _leaves_outside(where: Q) -> list[LedgerLeaf]:
    """The leaves on one side of the log that name a stored entry (the join
    is inner), in order. A query per side: each is then a range of the
    primary key, where an OR of both is a walk over all of it for a planner
    without statistics of a freshly sequenced table."""
    return list(LedgerLeaf.objects.filter(where).select_related("entry").order_by("leaf_index")[: MAX_PROBLEMS + 1])


def _chunks(lo: int, end: int, jobs: int | None) -> Iterator[_Chunk]:
    """The aligned chunks of [lo, end), in order, verified where they best can be."""
    spans = [(start, min(start + (1 << CHUNK_HEIGHT), end)) for start in range(lo, end, 1 << CHUNK_HEIGHT)]
    if connection.vendor != "postgresql":
        for start, stop in spans:
            yield _Chunk(start, stop, 0, None)  # SQLite: the precise path only
    elif (workers := _worker_count(jobs, len(spans))) > 1:
        yield from _parallel_chunks(spans, workers)
    else:
        with _raw_cursor() as cursor:
            for start, stop in spans:
                yield _fast_chunk(cursor, start, stop)


def _worker_count(jobs: int | None, chunks: int) -> int:
    if chunks < 2 or multiprocessing.current_process().daemon:
        return 1
    # A Celery prefork child is daemonic in billiard's bookkeeping, not multiprocessing's.
    billiard = sys.modules.get("billiard.process")
    if billiard is not None and billiard.current_process().daemon:
        return 1
    return max(1, min(jobs or os.cpu_count() or 1, chunks))


# -- Fast path: a chunk proven in bulk -----------------------------------------------

_LEAF_TABLE, _ENTRY_TABLE = LedgerLeaf._meta.db_table, LedgerEntry._meta.db_table
_CHECKPOINT_TABLE = Checkpoint._meta.db_table

# Which entry each position of a chunk names: two arrays, the positions and
# the entries, in one row (a row per leaf cost more than the arrays). Both
# aggregates take the rows in the same order: the order they were written in,
# leaf order, which the caller checks. (ORDER BY would have a planner without
# statistics of a freshly sequenced table sort them.)
_POSITIONS_SQL = f"""SELECT array_agg(leaf_index), array_agg(entry_id) FROM {_LEAF_TABLE}
WHERE leaf_index >= %s AND leaf_index < %s"""

# The columns against the canonical bytes, in SQL on bytea, parsing no JSON and
# with no expression that can raise on tampered bytes. RFC 8785 sorts the
# content's keys (actor, body, id, kind, recorded_at, recorded_by, subject),
# so intact bytes are exactly HEAD + the body + TAIL, spelt from the columns
# as ledger.entry_columns spells them. This check may run in the database: the
# columns are what the application itself reads from this database, so a
# database that lied here would lie to the application too. The hashing may
# not: it is what makes the signed roots bind the stored bytes, and a
# database that lied about hashes could hide changed rows, so the verifier
# hashes the bytes itself.
#
# actor and kind are quoted as they are, not through to_json (a third of the
# check's cost), and only when `plain`: free of '"' and '\'. Then the match is
# exact: in JSON bytes a run without quote or backslash between the opening
# '"' and a '"' that follows it is the whole string, unescaped. A value with
# either (never one the hub writes) fails the check and takes the precise path.
_PLAIN = """strpos(e.actor || e.kind, '"') = 0 AND strpos(e.actor || e.kind, '\\') = 0"""
_HEAD = """'{"actor":"' || e.actor || '","body":'"""
_TAIL = """',"id":"' || e.id::text || '","kind":"' || e.kind
    || '","recorded_at":"' || to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    || '","recorded_by":"' || e.recorded_by_id::text || '","subject":"' || e.subject_id::text || '"}'"""
# HEAD and TAIL are these many bytes plus the actor's, and the kind's: a uuid
# as text is 36 bytes, recorded_at 27 (ledger.iso: four-digit years, six
# digits of microseconds, 'Z'). A value spelt longer cannot match at these
# offsets, so it fails the check. Knowing the lengths, each side is built once
# and compared where it must stand; the body between them is at least a byte.
_HEAD_BYTES = len('{"actor":"","body":')
_TAIL_BYTES = len(',"id":"","kind":"","recorded_at":"","recorded_by":"","subject":""}') + 3 * 36 + 27
# textsend spells a text in the client encoding, which Django sets to UTF8 on
# its connections (the workers connect with its parameters): the bytes
# convert_to(..., 'UTF8') would give, without its look-up of an encoding by
# name on every call (about a tenth of the check).
_FRAMED = f"""{_PLAIN}
    AND octet_length(e.canonical) > {_HEAD_BYTES + _TAIL_BYTES} + octet_length(e.actor) + octet_length(e.kind)
    AND substring(e.canonical FOR {_HEAD_BYTES} + octet_length(e.actor)) = textsend({_HEAD})
    AND substring(e.canonical FROM octet_length(e.canonical) - {_TAIL_BYTES - 1} - octet_length(e.kind))
        = textsend({_TAIL})"""
# A chunk's entries, read by their keys. The sequencer gives leaves to queued
# entries in key order, so a chunk's entries are a range of keys or nearly
# (an entry that committed late goes to a later batch): one index range scan
# reads them at a third of the cost of a look-up per leaf, which is
# what a join does. Rows come in any order; the caller puts them in leaf order.
_ENTRIES_SQL = f"SELECT e.seq, e.leaf_hash, e.canonical, {_FRAMED} FROM {_ENTRY_TABLE} e"
_ENTRY_RANGE_SQL = f"{_ENTRIES_SQL} WHERE e.seq >= %s AND e.seq <= %s"
_ENTRY_KEYS_SQL = f"{_ENTRIES_SQL} WHERE e.seq = ANY(%s::bigint[])"
_SIZES_SQL = f"SELECT tree_size FROM {_CHECKPOINT_TABLE} WHERE tree_size > %s AND tree_size < %s"


@dataclass
class _Read:
    """What the fast path read of the leaves [lo, hi): how many it found,
    their hashes if the range is clean (else None), and the range of keys
    whose entries it read, if it read them so."""

    found: int
    leaves: list[bytes] | None
    keys: _KeyRange | None = None


def _fast_leaves(cursor, lo: int, hi: int) -> _Read:
    """The leaves [lo, hi), whose hashes are None unless the chunk is clean:
    every position held, every stored leaf hash the hash of the stored bytes,
    every entry's columns spelling the frame of its bytes, so that the
    precise path would find nothing wrong in those terms. The body inside the
    frame is not parsed here: bytes changed there change the leaf, which
    then no longer matches the stored leaf hash (the chunk is flagged) or,
    re-hashed too, the signed roots (the checkpoints name it)."""
    cursor.execute(_POSITIONS_SQL, (lo, hi))
    indexes, entry_ids = cursor.fetchone()
    if indexes is None:
        return _Read(0, None)
    found, expected = len(indexes), list(range(lo, hi))
    if indexes != expected:
        indexes, entry_ids = zip(*sorted(zip(indexes, entry_ids)))
        # Every position once (not taken from the primary key: a table owner can drop it).
        if list(indexes) != expected:
            return _Read(found, None)
    entry_ids = tuple(entry_ids)
    keys, rows = _entries_named(cursor, entry_ids)
    entries = _in_leaf_order(rows, entry_ids)
    if entries is None:
        return _Read(found, None, keys)
    hashes, canonicals, framed = entries
    leaves = _leaf_hashes(canonicals)
    clean = all(framed) and b"".join(leaves).hex() == "".join(hashes)
    return _Read(found, leaves if clean else None, keys)


def _entries_named(cursor, entry_ids: tuple[int, ...]) -> tuple[_KeyRange | None, list[tuple]]:
    """The rows (key, stored leaf hash, bytes, frame check) of the entries
    with these keys, maybe among others; and the range of keys read, if they
    were read by range."""
    first, last = min(entry_ids), max(entry_ids)
    if last - first >= 2 * len(entry_ids):  # spread wider: a range would read other entries than these
        cursor.execute(_ENTRY_KEYS_SQL, (list(entry_ids),))
        return None, cursor.fetchall()
    cursor.execute(_ENTRY_RANGE_SQL, (first, last))
    rows = cursor.fetchall()
    return _KeyRange(first, last, len(rows)), rows


def _in_leaf_order(rows: list[tuple], entry_ids: tuple[int, ...]) -> tuple[tuple, tuple, tuple] | None:
    """(stored leaf hashes, bytes, frame checks) of the entries with these
    keys, in this order; None when one of them is missing."""
    if not rows:
        return None
    seqs, *columns = zip(*rows)
    if seqs == entry_ids:
        return tuple(columns)
    # Out of key order, or the range held entries of other chunks (or queued).
    by_seq = {row[0]: row[1:] for row in rows}
    try:
        return tuple(zip(*(by_seq[seq] for seq in entry_ids)))
    except KeyError:  # a leaf names an entry that is not stored
        return None


def _fast_chunk(cursor, lo: int, hi: int) -> _Chunk:
    with _gc_paused():
        read = _fast_leaves(cursor, lo, hi)
        if read.leaves is None:
            return _Chunk(lo, hi, read.found, None, read.keys)
        cursor.execute(_SIZES_SQL, (lo, hi))
        nodes = _chunk_nodes(lo, read.leaves, [size for (size,) in cursor.fetchall()])
        return _Chunk(lo, hi, read.found, nodes, read.keys)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """A chunk's rows, leaves and nodes are some hundred thousand fresh
    objects and no reference cycles: the cyclic collector would only rescan
    them, at about a third of the fast path's Python time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _chunk_nodes(lo: int, leaves: list[bytes], sizes) -> dict[int, list[bytes]]:
    """For each size s in `sizes` and for the chunk's end, the complete
    subtrees of leaves [lo, s), largest first, from the chunk's subtree built
    level by level (RFC 9162 §2.1.1 interior nodes)."""
    levels = [leaves]
    while len(levels[-1]) > 1:
        levels.append(_parents(levels[-1]))
    return {size: _leading_subtrees(levels, size - lo) for size in [*sizes, lo + len(leaves)]}


# RFC 9162 §2.1.1: a leaf is SHA-256(0x00 || the entry's bytes), an interior
# node SHA-256(0x01 || left || right). Each hash starts from a copy of a
# hasher that holds the prefix: hashlib.sha256() looks its algorithm up on
# every call, and that, with prefixing every input, was a seventh of the
# hashing.
_LEAF_HASHER = hashlib.sha256(b"\x00")
_NODE_HASHER = hashlib.sha256(b"\x01")


def _leaf_hashes(canonicals) -> list[bytes]:
    new, leaves = _LEAF_HASHER.copy, []
    for canonical in canonicals:
        hasher = new()
        hasher.update(canonical)
        leaves.append(hasher.digest())
    return leaves


def _parents(level: list[bytes]) -> list[bytes]:
    """The level above: a node per pair (an odd last one has no parent yet)."""
    new, parents = _NODE_HASHER.copy, []
    for left, right in zip(level[0::2], level[1::2]):
        hasher = new()
        hasher.update(left + right)
        parents.append(hasher.digest())
    return parents


def _leading_subtrees(levels: list[list[bytes]], count: int) -> list[bytes]:
    """The binary decomposition of the first `count` leaves: one subtree per 1 bit, largest first."""
    nodes, start = [], 0
    for height in range(count.bit_length() - 1, -1, -1):
        if count >> height & 1:
            nodes.append(levels[height][start >> height])
            start += 1 << height
    return nodes


@contextmanager
def _raw_cursor() -> Iterator:
    """A binary psycopg cursor on Django's connection, in the run's snapshot."""
    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    cursor.format = psycopg.pq.Format.BINARY
    with cursor:
        yield cursor


# -- Parallel: worker processes in the same snapshot ------------------------------------

_worker_cursor = None


def _parallel_chunks(spans: list[tuple[int, int]], workers: int) -> Iterator[_Chunk]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
    params = {k: v for k, v in connection.get_connection_params().items() if k not in ("cursor_factory", "context")}
    # fork: the workers need no Django setup and start at once; they never
    # touch Django's connection (its socket is shared with this process).
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("fork"),
        initializer=_worker_start, initargs=(params, snapshot),
    )
    try:
        yield from pool.map(_worker_chunk, spans)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_start(params: dict, snapshot: str) -> None:
    """In a worker: its own connection, joined to the main process's snapshot."""
    global _worker_cursor
    conn = psycopg.connect(**params)
    conn.isolation_level, conn.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
    conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
    # The workers are the parallelism; the planner's own would only compete for the cores.
    for statement in (*_PLAN_BY_KEYS, "SET LOCAL max_parallel_workers_per_gather = 0"):
        conn.execute(statement)
    multiprocessing_util.Finalize(None, conn.close, exitpriority=10)  # run as the worker exits
    _worker_cursor = psycopg.Cursor(conn)
    _worker_cursor.format = psycopg.pq.Format.BINARY


def _worker_chunk(span: tuple[int, int]) -> _Chunk:
    return _fast_chunk(_worker_cursor, *span)


# -- Precise path: entry by entry, naming what is wrong -----------------------------------


def _precise_chunk(lo: int, hi: int, bounds: _Bounds, findings: _Findings) -> _Chunk:
    found, leaves = _precise_leaves(lo, hi, bounds, findings)
    sizes = Checkpoint.objects.filter(tree_size__gt=lo, tree_size__lt=hi).values_list("tree_size", flat=True)
    return _Chunk(lo, hi, found, _chunk_nodes(lo, leaves, sizes))


def _precise_leaves(lo: int, hi: int, bounds: _Bounds, findings: _Findings) -> tuple[int, list[bytes]]:
    """(leaves found, the leaves of positions lo..hi-1): the hash of each
    entry's stored bytes, _MISSING where no entry holds the position; every
    problem found is reported."""
    leaves, previous, found = [], None, 0
    rows = LedgerLeaf.objects.filter(leaf_index__gte=lo, leaf_index__lt=hi).select_related("entry")
    for leaf in rows.order_by("leaf_index").iterator(chunk_size=ORM_CHUNK):
        position = lo + len(leaves)
        if leaf.leaf_index > position:
            _report_gap(position, leaf, previous, bounds, findings)
            leaves += [_MISSING] * (leaf.leaf_index - position)
        leaves.append(_checked_leaf(leaf.entry, leaf.leaf_index, findings))
        previous, found = leaf, found + 1
    if len(leaves) < hi - lo:
        following = LedgerLeaf.objects.filter(leaf_index__gte=hi).select_related("entry").order_by("leaf_index")
        _report_gap(lo + len(leaves), following.first(), previous, bounds, findings)
        leaves += [_MISSING] * (hi - lo - len(leaves))
    return found, leaves


def _report_gap(first: int, following: LedgerLeaf | None, previous: LedgerLeaf | None,
                bounds: _Bounds, findings: _Findings) -> None:
    """Leaves first.. are missing. Reported once, by the chunk where the gap
    starts: a chunk whose first positions are missing reports them only if
    the position before is held (or is before the walk's start)."""
    if previous is None and first > 0:
        previous = LedgerLeaf.objects.filter(leaf_index=first - 1).select_related("entry").first()
        if previous is None and first > bounds.start:
            return  # the gap started in an earlier chunk, which reported it
    if previous is not None:
        after = f"after {_describe(previous.entry, previous.leaf_index)}"
    else:
        after = "at the start of the log" if first == 0 else f"from tree size {first}, where this run starts"
    if following is None or following.leaf_index >= bounds.end:
        findings.add(f"{_leaf_range(first, bounds.end)} missing: an entry was removed ({after}, at the end of the log)")
        return
    findings.add(
        f"{_leaf_range(first, following.leaf_index)} missing: an entry was removed "
        f"({after}, before {_describe(following.entry, following.leaf_index)})"
    )


def _checked_leaf(entry: LedgerEntry, leaf_index: int | None, findings: _Findings) -> bytes:
    """The entry's leaf, always the hash of its stored bytes (RFC 9162
    §2.1.1); each way the entry disagrees with those bytes is reported."""
    canonical = bytes(entry.canonical)
    leaf = hashlib.sha256(b"\x00" + canonical).digest()
    if leaf.hex() != entry.leaf_hash:
        findings.add(f"{_describe(entry, leaf_index)}: stored leaf hash {entry.leaf_hash} but its bytes hash to "
                     f"{leaf.hex()}: the entry was changed")
    problem = _content_problem(entry, canonical)
    if problem:
        findings.add(f"{_describe(entry, leaf_index)}: {problem}: the entry was changed")
    return leaf


def _content_problem(entry: LedgerEntry, canonical: bytes) -> str | None:
    try:
        content = orjson.loads(canonical)
    except orjson.JSONDecodeError as exc:
        return f"its content cannot be decoded ({exc})"
    if not isinstance(content, dict) or "body" not in content:
        return "its content is not an object with a body"
    stated = {name: value for name, value in content.items() if name != "body"}
    columns = entry_columns(entry)
    differing = sorted(name for name in stated.keys() | columns.keys() if stated.get(name) != columns.get(name))
    if differing:
        # Names only: a problem text never carries what a field holds.
        return f"its columns do not match its content ({', '.join(differing[:len(columns)])})"
    return None


def _describe(entry: LedgerEntry, leaf_index: int | None) -> str:
    where = "not yet sequenced" if leaf_index is None else f"leaf index {leaf_index}"
    return f"entry {entry.id} (seq {entry.seq}, {where})"


def _leaf_range(lo: int, hi: int) -> str:
    """Leaf indexes lo..hi-1 in words."""
    return f"leaf index {lo}" if hi - lo == 1 else f"leaf indexes {lo}-{hi - 1}"


# -- The sequencer's queue: entries not yet in the log ----------------------------------------


@dataclass
class _Queue:
    """What the queue holds of entries with keys above `after` (None: all)."""

    after: int | None
    queued: int = 0  # queue rows naming a stored entry
    logged: int = 0  # of those, entries that have a leaf too
    logged_anywhere: int = 0  # the same, whatever the key


def _check_queue(start: _Start, walk: _Walk, findings: _Findings) -> None:
    """Queued entries are checked like the sequenced ones, but not required in
    the log; the leaf hash their queue row holds is the one the sequencer will
    sign. An entry neither in the log nor queued lost its leaf or queue row."""
    queue = _checked_queue(_entry_boundary(start), findings)
    if queue.logged_anywhere:
        both = LedgerLeaf.objects.filter(entry_id__in=LedgerPending.objects.values("entry_id")).select_related("entry")
        for leaf in both.order_by("leaf_index")[: MAX_PROBLEMS + 1]:
            findings.add(f"{_describe(leaf.entry, leaf.leaf_index)}: in the log and still queued for the sequencer")
    if _entries_accounted(start, walk, queue):
        return
    for entry in _unlogged_entries(queue.after)[: MAX_PROBLEMS + 1]:
        findings.add(f"entry {entry.id} (seq {entry.seq}): neither in the log nor queued for the sequencer: "
                     "its leaf or its queue row was removed")


def _entry_boundary(start: _Start) -> int | None:
    """The key of the trusted tree's last entry (None for a full run): the
    entries after it are those appended since, which an incremental run
    holds to the rule that each is in the log or queued."""
    if not start.size:
        return None
    boundary = LedgerLeaf.objects.filter(leaf_index=start.size - 1).values_list("entry_id", flat=True).first()
    return boundary or 0


def _checked_queue(after: int | None, findings: _Findings) -> _Queue:
    """Check every queue row, a batch at a time: the rows first, then their
    entries and leaves by key. (A join of the queue with the entries is
    planned from statistics taken when the queue last held a backlog: right
    after the backlog is sequenced, that is a walk over every entry.) Rows
    come in table order, which is what a scan of a queue table full of rows
    the sequencer just deleted reads fastest."""
    queue = _Queue(after)
    rows = LedgerPending.objects.values_list("entry_id", "leaf_hash").iterator(chunk_size=ORM_CHUNK)
    while batch := list(islice(rows, ORM_CHUNK)):
        entries = LedgerEntry.objects.in_bulk([entry_id for entry_id, _ in batch])
        logged = set(LedgerLeaf.objects.filter(entry_id__in=entries).values_list("entry_id", flat=True))
        for entry_id, stored in batch:
            entry = entries.get(entry_id)
            if entry is None:
                continue  # no entry to hold to the rule (a foreign key a table owner dropped)
            leaf = _checked_leaf(entry, None, findings).hex()
            if stored != leaf:
                findings.add(f"{_describe(entry, None)}: its queue row holds leaf hash {stored} "
                             f"but its bytes hash to {leaf}: the queue row was changed")
            queue.logged_anywhere += entry_id in logged
            if after is None or entry_id > after:
                queue.queued += 1
                queue.logged += entry_id in logged
    return queue


def _entries_accounted(start: _Start, walk: _Walk, queue: _Queue) -> bool:
    """Counting, not joining (leaf and queue rows each name one entry: their
    entry_id is unique). A full walk: every entry is a leaf the walk found, a
    leaf outside the log, or queued. From a trusted checkpoint: every entry
    after its last one has a leaf or is queued; a leaf naming no stored entry
    is counted there, but the walk reports it (a gap) unless it lies before
    the checkpoint, where a full run looks."""
    if not start.size:
        outside = walk.outside
        if outside is None:
            outside = sum(
                LedgerLeaf.objects.filter(where, Exists(LedgerEntry.objects.filter(seq=OuterRef("entry_id")))).count()
                for where in (Q(leaf_index__lt=0), Q(leaf_index__gte=walk.end))  # a range of the key each
            )
        return _entries_above(None, walk.key_ranges) == walk.found + outside + queue.queued - queue.logged
    appended = _entries_above(queue.after, walk.key_ranges)
    logged = LedgerLeaf.objects.filter(entry_id__gt=queue.after).count()
    return appended == logged + queue.queued - queue.logged


def _entries_above(after: int | None, ranges: list[_KeyRange] | None) -> int:
    """How many entries have a key above `after` (None: all). The walk read
    every entry of its ranges of keys, in the run's snapshot: where those
    ranges do not overlap, their counts add up, and only the keys between
    and around them are left for the database to count. (On a freshly
    filled table, a count of every entry is a scan of all of it.)"""
    entries = LedgerEntry.objects.all() if after is None else LedgerEntry.objects.filter(seq__gt=after)
    ranges = sorted(ranges or [], key=attrgetter("first"))
    lows = [after, *(keys.last for keys in ranges)]  # what each range must start above
    if not ranges or any(low is not None and keys.first <= low for keys, low in zip(ranges, lows)):
        return entries.count()
    around = Q(seq__gt=ranges[-1].last)
    for low, keys in zip(lows, ranges):
        if low is None:
            around |= Q(seq__lt=keys.first)
        elif keys.first - low > 1:
            around |= Q(seq__gt=low, seq__lt=keys.first)
    return sum(keys.entries for keys in ranges) + LedgerEntry.objects.filter(around).count()


def _unlogged_entries(after: int | None):
    entries = LedgerEntry.objects.filter(
        ~Exists(LedgerLeaf.objects.filter(entry_id=OuterRef("seq"))),
        ~Exists(LedgerPending.objects.filter(entry_id=OuterRef("seq"))),
    )
    if after is not None:
        entries = entries.filter(seq__gt=after)
    return entries.order_by("seq")


# -- Checkpoints -----------------------------------------------------------------------


class _Checkpoints:
    """The signed checkpoints after the walk's start, read in tree-size order
    and checked as the walk passes their sizes."""

    def __init__(self, after: int, keys: "_Keys", findings: _Findings) -> None:
        self.keys, self.findings = keys, findings
        self.checked = 1 if after else 0  # a trusted start's checkpoint was checked
        self.good_size = after  # the largest size up to which the entries matched a checkpoint
        rows = Checkpoint.objects.filter(tree_size__gt=after) if after else Checkpoint.objects.all()
        self._rows = rows.order_by("tree_size").iterator(chunk_size=ORM_CHUNK)
        self._next = next(self._rows, None)

    def upto(self, size: int) -> Iterator[Checkpoint]:
        while self._next is not None and self._next.tree_size <= size:
            row, self._next = self._next, next(self._rows, None)
            yield row

    def check_upto(self, size: int, root_of) -> None:
        for row in self.upto(size):
            self.check(row, root_of(row))

    def check_rest(self, found: int) -> None:
        """Checkpoints beyond the stored leaves."""
        for row in self.upto(sys.maxsize):
            self.check(row, None, found)

    def check(self, row: Checkpoint, root: bytes | None, found: int = 0) -> None:
        """`root`: the recomputed root at the checkpoint's size, None when the
        log holds fewer leaves (`found` sequenced entries)."""
        self.checked += 1
        if self._holds(row, root, found):
            self.good_size = row.tree_size

    def _holds(self, row: Checkpoint, root: bytes | None, found: int) -> bool:
        where = f"checkpoint at tree size {row.tree_size} (id {row.pk})"
        try:
            signed = self.keys.open(row)
        except CheckpointError as exc:
            self.findings.add(f"{where}: the signed note does not verify ({exc.code}: {exc})")
            return False
        except _KeyNotValid as exc:
            self.findings.add(f"{where}: {exc}")
            return False
        if (signed.tree_size, signed.root_hash.hex()) != (row.tree_size, row.root_hash):
            self.findings.add(f"{where}: the signed note says size {signed.tree_size}, root "
                              f"{signed.root_hash.hex()}; the row says root {row.root_hash}")
            return False
        if row.frontier:
            frontier = _decoded_frontier(row.frontier, row.tree_size)
            if frontier is None or frontier_root(frontier) != signed.root_hash:
                self.findings.add(f"{where}: its stored frontier does not fold to the signed root")
                return False
        if root is None:
            self.findings.add(f"{where}: only {found} sequenced entries are stored: entries were removed")
            return False
        if root != signed.root_hash:
            self.findings.add(f"{where}: the entries do not hash to the signed root; "
                              f"{_changed_range(self.good_size, row.tree_size)}")
            return False
        return True


class _KeyNotValid(Exception):
    """A checkpoint's key may not have signed it: unknown, or outside its validity."""


class _Keys:
    """The log's signing keys (consent_ledger/keys.py), by the key ID a
    checkpoint records and by the (name, key ID) a signature line names.

    A checkpoint must carry a good signature by the key it records; every
    signature on it by a known key must verify; and each of those keys must
    have been valid when the checkpoint was signed (its row's time: the note
    carries none). One look-up per signature line, never work per entry.
    Only reads: no key is generated or recorded.
    """

    def __init__(self) -> None:
        self.keys = published_keys()
        self.by_id = {key.key_id: key for key in self.keys}
        self.by_signature = {(key.name, bytes.fromhex(key.key_id)): key for key in self.keys}
        self.public = {signature: key.public_key for signature, key in self.by_signature.items()}
        self.handovers: set[tuple[str, str]] = set()  # (key ID, key ID) of keys that signed one checkpoint

    def open(self, row: Checkpoint) -> SignedCheckpoint:
        """The checkpoint the row's note signs; raises CheckpointError or _KeyNotValid."""
        recorded = self.by_id.get(row.key_id)
        if recorded is None:
            raise _KeyNotValid(f"it names key {row.key_name}+{row.key_id}, which is not among the log's signing keys")
        text, signatures = verify_signatures(row.note, self.public)
        signers = [self.by_signature[signature] for signature in signatures]
        if recorded.key_id not in {key.key_id for key in signers}:
            raise CheckpointError(UNVERIFIED_NOTE, f"no signature by {recorded.name}")
        signed = parse_checkpoint_of(text, settings.LEDGER_ORIGIN)
        for key in signers:
            if not key.valid_at(row.created_at):
                raise _KeyNotValid(_outside_validity(key, row.created_at))
        self.handovers.update((a.key_id, b.key_id) for a in signers for b in signers if a is not b)
        return signed

    def check_handovers(self, findings: _Findings) -> None:
        """Each key took over from the one before it on a checkpoint both
        signed (the switch checkpoint of a rotation): else a verifier that
        trusts only the older key cannot follow the log onto the newer."""
        for older, newer in zip(self.keys, self.keys[1:]):
            if (older.key_id, newer.key_id) not in self.handovers:
                findings.add(f"key {newer.label} (valid from {_iso(newer.valid_from)}) followed key {older.label}, "
                             f"but no checkpoint is signed by both: a verifier holding only {older.label} "
                             "cannot follow the log onto it")


def _outside_validity(key: KeyRecord, moment) -> str:
    signed = f"signed at {_iso(moment)} by key {key.label}"
    if moment < key.valid_from:
        return f"{signed}, which is valid only from {_iso(key.valid_from)}"
    return f"{signed}, which was retired at {_iso(key.retired_at)}: a retired key signs no more checkpoints"


def _iso(moment) -> str:
    return moment.astimezone(UTC).isoformat()


def _changed_range(lo: int, hi: int) -> str:
    leaves = LedgerLeaf.objects.filter(leaf_index__gte=lo, leaf_index__lt=hi).order_by("leaf_index")
    ids = [str(i) for i in leaves.values_list("entry__id", flat=True)[:MAX_RANGE_IDS]]
    more = f" and {hi - lo - len(ids)} more" if len(ids) == MAX_RANGE_IDS < hi - lo else ""
    noun = "entry" if len(ids) == 1 and not more else "entries"
    listed = f"{noun} {', '.join(ids)}{more}" if ids else "no entries"
    return f"{_leaf_range(lo, hi)} ({listed}) changed, removed or reordered"


# -- Sequencer state -------------------------------------------------------------------


def _check_sequencer_state(found: int, root: bytes, findings: _Findings) -> None:
    state = SequencerState.objects.filter(pk=1).first() or SequencerState(tree_size=0, frontier=[])
    if state.tree_size != found:
        findings.add(f"sequencer state says tree size {state.tree_size}, "
                     f"but {found} sequenced entries are stored")
        return
    frontier = _decoded_frontier(state.frontier, state.tree_size)
    if frontier is None or frontier_root(frontier) != root:
        findings.add(f"sequencer state: its frontier root does not match the entries' root at size {found}")
