"""Inclusion and consistency proofs from the stored log (RFC 9162 §2.1.3-2.1.4).

The proofs are the RFC's recursions (merkle._path, merkle._subproof) over a
range hash MTH(D[lo:hi]) read from storage instead of a rebuilt tree. Every
range that recursion visits is a run of complete subtrees, largest first
(RFC 9162 §2.1.1: the left child is always the largest complete subtree):
one of height LEDGER_NODE_MIN_HEIGHT or more is a MerkleNode row the
sequencer wrote when it completed; a smaller one is hashed here from its leaf
hashes, fewer than 2**LEDGER_NODE_MIN_HEIGHT of them per range. A proof first
runs the recursion dry to list the nodes and leaf ranges it needs, reads them
in one query each, then runs it again over what it read: O(log n) node rows
and a few hundred leaf hashes whatever the size of the log.

The nodes are derived data: a changed node yields a proof that fails to
verify against the signed root, as a lying log's would; a missing one, or a
missing leaf, is refused with ProofUnavailable (503), never a wrong proof or
a server error.
"""

import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import status

from hub.api.errors import ApplicationError, ValidationFailed

from .merkle import HASH_SIZE, _fold, _path, _subproof, node_hash
from .models import LedgerEntry, LedgerLeaf, MerkleNode, SequencerState

logger = logging.getLogger(__name__)

BAD_TREE_SIZE = "bad_tree_size"
PROOF_UNAVAILABLE = "proof_unavailable"

# A complete subtree: (height, index) covers leaves [index << height, (index + 1) << height).
_Subtree = tuple[int, int]


class ProofUnavailable(ApplicationError):
    """The stored hashes a proof needs are missing: the node table (derived,
    rebuildable from the leaves) or the log itself was damaged."""

    code = PROOF_UNAVAILABLE
    status = status.HTTP_503_SERVICE_UNAVAILABLE
    title = gettext_lazy("The proof cannot be served.")


def current_tree_size() -> int:
    return SequencerState.objects.filter(pk=1).values_list("tree_size", flat=True).first() or 0


def _size_problem(parameter: str, detail: str) -> ValidationFailed:
    return ValidationFailed(detail, code=BAD_TREE_SIZE, errors=[{"parameter": parameter, "detail": detail}])


def inclusion_proof_for(entry: LedgerEntry, tree_size: int | None) -> dict:
    """PATH(leaf_index, D[tree_size]) of a sequenced entry (default: the current tree)."""
    size_now = current_tree_size()
    tree_size = size_now if tree_size is None else tree_size
    leaf_index = entry.leaf_index
    if leaf_index is None:
        raise _size_problem("tree_size", _("The entry is not sequenced yet; retry shortly."))
    if not leaf_index < tree_size <= size_now:
        raise _size_problem(
            "tree_size",
            _("Must be greater than the entry's leaf index %(leaf_index)s and at most %(size)s.")
            % {"leaf_index": leaf_index, "size": size_now},
        )
    proof = _stored_proof(tree_size, lambda mth: _path(leaf_index, 0, tree_size, mth))
    return {
        "leaf_index": leaf_index,
        "tree_size": tree_size,
        "leaf_hash": entry.leaf_hash,
        "audit_path": [node.hex() for node in proof],
    }


def consistency_proof_for(first: int, second: int) -> dict:
    """PROOF(first, D[second]); empty when first == second (nothing to prove)."""
    size_now = current_tree_size()
    if not 0 < first <= second <= size_now:
        raise _size_problem("first", _("Need 0 < first <= second <= %(size)s (the current tree size).") % {"size": size_now})
    proof = [] if first == second else _stored_proof(second, lambda mth: _subproof(first, 0, second, True, mth))
    return {"first": first, "second": second, "proof": [node.hex() for node in proof]}


def _stored_proof(tree_size: int, recursion) -> list[bytes]:
    """Run `recursion(mth)` twice: dry, to learn which ranges it hashes, then
    over the nodes and leaves those ranges need, read in one query each."""
    ranges = []
    recursion(lambda lo, hi: ranges.append((lo, hi)) or b"")
    store = _Store(settings.LEDGER_NODE_MIN_HEIGHT, tree_size)
    store.read(ranges)
    return recursion(store.mth)


def _subtrees(lo: int, hi: int) -> Iterator[_Subtree]:
    """The complete subtrees of [lo, hi), largest first. As merkle.MerkleTree
    requires, lo is a multiple of the smallest power of two >= hi - lo: true
    of every range the RFC's recursion visits."""
    while lo < hi:
        height = (hi - lo).bit_length() - 1
        yield height, lo >> height
        lo += 1 << height


class _Store:
    """The nodes and leaf hashes of the ranges a proof needs, and MTH over them."""

    def __init__(self, min_height: int, tree_size: int):
        self.min_height, self.tree_size = min_height, tree_size
        self.nodes: dict[_Subtree, bytes] = {}
        self.leaves: dict[int, bytes] = {}
        self._computed: dict[_Subtree, bytes] = {}

    def read(self, ranges: list[tuple[int, int]]) -> None:
        subtrees = {s for lo, hi in ranges for s in _subtrees(lo, hi)}
        stored = {s for s in subtrees if s[0] >= self.min_height}
        self.nodes = _nodes_read(stored)
        leaf_ranges = _merged((i << h, (i + 1) << h) for h, i in subtrees - stored)
        self.leaves = _leaf_hashes_read(leaf_ranges)
        missing = sorted(stored - self.nodes.keys())
        short = sum(hi - lo for lo, hi in leaf_ranges) - len(self.leaves)
        if missing or short:
            # Not something the client did: the operators must look (verify_ledger, then re-derive the nodes).
            logger.error(
                "proof at tree size %s: %s stored nodes missing (first: %s), %s leaf hashes missing or unreadable",
                self.tree_size, len(missing), missing[:1], short,
            )
            raise ProofUnavailable(
                _("This proof cannot be served: hashes it needs are missing from the log's storage. "
                  "The error has been logged for the operators.")
            )

    def mth(self, lo: int, hi: int) -> bytes:
        return _fold([self._subtree(h, i) for h, i in _subtrees(lo, hi)])

    def _subtree(self, height: int, index: int) -> bytes:
        if height >= self.min_height:
            return self.nodes[height, index]
        if (height, index) not in self._computed:
            level = [self.leaves[n] for n in range(index << height, (index + 1) << height)]
            while len(level) > 1:
                level = [node_hash(level[n], level[n + 1]) for n in range(0, len(level), 2)]
            self._computed[height, index] = level[0]
        return self._computed[height, index]


def _merged(ranges) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


# The two reads are SQL of our own: the ORM takes longer to compile an OR of
# a dozen (height, index) pairs (about 3 ms) than the database takes to
# answer it from the unique index. Both are plain SQL on SQLite and PostgreSQL.


def _nodes_read(subtrees: set[_Subtree]) -> dict[_Subtree, bytes]:
    if not subtrees:
        return {}
    q = connection.ops.quote_name
    pair = f"({q('height')} = %s AND {q('index')} = %s)"
    sql = (
        f"SELECT {q('height')}, {q('index')}, {q('hash')} FROM {q(MerkleNode._meta.db_table)} "
        f"WHERE {' OR '.join([pair] * len(subtrees))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for subtree in sorted(subtrees) for value in subtree])
        return {(height, index): bytes(value) for height, index, value in cursor.fetchall()}


def _leaf_hashes_read(ranges: list[tuple[int, int]]) -> dict[int, bytes]:
    """Leaf hashes by leaf index; one that is not 32 bytes of hex is left out
    (so reported missing): a tampered entry, never a server error."""
    if not ranges:
        return {}
    q = connection.ops.quote_name
    leaf, entry = q(LedgerLeaf._meta.db_table), q(LedgerEntry._meta.db_table)
    in_range = f"({leaf}.{q('leaf_index')} >= %s AND {leaf}.{q('leaf_index')} < %s)"
    sql = (
        f"SELECT {leaf}.{q('leaf_index')}, {entry}.{q('leaf_hash')} FROM {leaf} "
        f"JOIN {entry} ON {entry}.{q('seq')} = {leaf}.{q('entry_id')} WHERE {' OR '.join([in_range] * len(ranges))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [bound for pair in ranges for bound in pair])
        rows = cursor.fetchall()
    leaves = {}
    for index, hex_hash in rows:
        try:
            value = bytes.fromhex(hex_hash)
        except ValueError:
            continue
        if len(value) == HASH_SIZE:
            leaves[index] = value
    return leaves
