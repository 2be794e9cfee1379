"""The Merkle log of the consent ledger: RFC 9162 section 2.1, SHA-256.

Pure Python, no Django. Leaves are 32-byte leaf hashes (``leaf_hash`` of an
entry's RFC 8785 canonical bytes); indexes count from zero, as in RFC 9162.

The module-level ``root_hash``, ``inclusion_proof`` and ``consistency_proof``
are the RFC's recursive definitions, read literally (O(n) per call): the
reference the tests hold ``MerkleTree`` to. ``MerkleTree`` caches every
complete subtree so that a root at any size and any proof cost O(log n) hashes.
A frontier (``frontier_extend``, ``frontier_root``) carries the log's state
from one batch to the next without its leaves. The verifiers are the RFC's
iterative algorithms and never raise.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
import rfc8785

HASH_SIZE = 32
# RFC 9162 section 2.1.1: MTH({}) = HASH().
EMPTY_ROOT = hashlib.sha256(b"").digest()
# Tree sizes are uint64 on the wire (RFC 9162 section 4.1), so no valid proof
# has more than 64 nodes (inclusion) or 2 * 64 (consistency, generously).
MAX_TREE_SIZE = 2**64 - 1
_MAX_PROOF_NODES = 128

# MTH(D[lo:hi]) for the leaf range [lo, hi).
_RangeHash = Callable[[int, int], bytes]


def canonical_bytes(obj: Any) -> bytes:
    """The RFC 8785 (JCS) serialisation of a JSON-compatible object.

    For JSON without floats, without integers beyond the IEEE 754 safe range
    and with ASCII object keys (every ledger entry: ids, codes, times and
    hashes), orjson with sorted keys writes exactly the RFC's bytes (its
    string escaping is the RFC's; ASCII keys sort the same by code point as by
    UTF-16 unit), about forty times faster than rfc8785, which is pure
    Python. Anything else goes through rfc8785 itself. tests/consent_ledger/
    test_canonical.py holds the two to the same bytes.
    """
    if _plain(obj):
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    return rfc8785.dumps(obj)


_SAFE_INTEGER = 2**53 - 1  # RFC 8785 section 3.2.2.3: numbers are IEEE 754 doubles


def _plain(obj: Any) -> bool:
    """Whether orjson writes `obj` as RFC 8785 would: strings, None, booleans,
    safe integers, lists and ASCII-keyed objects of them. Exact types only
    (a subclass goes the slow, sure way); a loop, not recursion: it runs on
    every document a read releases (issue 11)."""
    pending = [obj]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if -_SAFE_INTEGER <= item <= _SAFE_INTEGER:
                continue
            return False
        if kind is list:
            pending.extend(item)
        elif kind is dict:
            if not all(type(key) is str and key.isascii() for key in item):
                return False
            pending.extend(item.values())
        else:
            return False
    return True


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 section 2.1.1: MTH({d(0)}) = HASH(0x00 || d(0))."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 section 2.1.1: HASH(0x01 || MTH(left) || MTH(right))."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1), RFC 9162 section 2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


# -- Reference forms: the recursive definitions of RFC 9162 section 2.1 ------


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes, RFC 9162 section 2.1.1."""
    return _reference_mth(leaves, 0, len(leaves)) if leaves else EMPTY_ROOT


def _reference_mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 1:
        return leaves[lo]
    k = _split(hi - lo)
    return node_hash(_reference_mth(leaves, lo, lo + k), _reference_mth(leaves, lo + k, hi))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) for n = len(leaves), RFC 9162 section 2.1.3.1."""
    _check_range(0 <= index < len(leaves), "leaf index out of range")
    return _path(index, 0, len(leaves), lambda lo, hi: _reference_mth(leaves, lo, hi))


def consistency_proof(leaves: Sequence[bytes], first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]) over leaves[:second], RFC 9162 section 2.1.4.1.

    Empty when first is 0 or equal to second: nothing needs proving then.
    """
    _check_range(0 <= first <= second <= len(leaves), "tree sizes out of range")
    if first in (0, second):
        return []
    return _subproof(first, 0, second, True, lambda lo, hi: _reference_mth(leaves, lo, hi))


def _path(m: int, lo: int, hi: int, mth: _RangeHash) -> list[bytes]:
    # PATH(m, D[n]): the sibling of each subtree on the way to leaf m, leaf first.
    if hi - lo == 1:
        return []
    k = _split(hi - lo)
    if m < k:
        return _path(m, lo, lo + k, mth) + [mth(lo + k, hi)]
    return _path(m - k, lo + k, hi, mth) + [mth(lo, lo + k)]


def _subproof(m: int, lo: int, hi: int, b: bool, mth: _RangeHash) -> list[bytes]:
    # SUBPROOF(m, D[n], b); b says whether D[lo:hi] is a subtree of the first tree's.
    if m == hi - lo:
        return [] if b else [mth(lo, hi)]
    k = _split(hi - lo)
    if m <= k:
        return _subproof(m, lo, lo + k, b, mth) + [mth(lo + k, hi)]
    return _subproof(m - k, lo + k, hi, False, mth) + [mth(lo, lo + k)]


def _check_range(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


# -- The efficient tree ------------------------------------------------------


class MerkleTree:
    """An append-only RFC 9162 tree over leaf hashes.

    ``_levels[h]`` holds, concatenated, the hash of every complete subtree of
    2**h leaves that starts at a multiple of 2**h (``_levels[0]`` are the
    leaves). Every range the RFC's recursion visits is such a subtree or a
    short run of them, so any root or proof costs O(log n) hashes; building
    costs one hash per interior node, O(n), at about 64 bytes per leaf.
    """

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self.extend(leaves)

    def __len__(self) -> int:
        return len(self._levels[0]) // HASH_SIZE

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash; return its index."""
        if not _is_hash(leaf):
            raise ValueError("a leaf must be a 32-byte leaf hash")
        index = len(self)
        self._levels[0] += leaf
        node, height, i = leaf, 0, index
        while i % 2 == 1:  # a right child completes its parent subtree
            node = node_hash(self._subtree(height, i - 1), node)
            height, i = height + 1, i // 2
            if height == len(self._levels):
                self._levels.append(bytearray())
            self._levels[height] += node
        return index

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def leaf(self, index: int) -> bytes:
        _check_range(0 <= index < len(self), "leaf index out of range")
        return self._subtree(0, index)

    def root(self, size: int | None = None) -> bytes:
        """MTH(D[size]), the root of the first ``size`` leaves (default: all)."""
        size = len(self) if size is None else size
        _check_range(0 <= size <= len(self), "tree size out of range")
        return self._mth(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]), RFC 9162 section 2.1.3.1."""
        size = len(self) if size is None else size
        _check_range(0 <= index < size <= len(self), "leaf index or tree size out of range")
        return _path(index, 0, size, self._mth)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """PROOF(first, D[second]), RFC 9162 section 2.1.4.1; empty if first is 0 or second."""
        second = len(self) if second is None else second
        _check_range(0 <= first <= second <= len(self), "tree sizes out of range")
        if first in (0, second):
            return []
        return _subproof(first, 0, second, True, self._mth)

    def frontier(self, size: int | None = None) -> list[bytes]:
        """The roots of the complete subtrees making up the first ``size`` leaves, left first.

        With ``frontier_extend`` this lets a sequencer grow the log without the old leaves.
        """
        size = len(self) if size is None else size
        _check_range(0 <= size <= len(self), "tree size out of range")
        return self._subtrees(0, size)

    def _subtree(self, height: int, i: int) -> bytes:
        start = i * HASH_SIZE
        return bytes(self._levels[height][start : start + HASH_SIZE])

    def _subtrees(self, lo: int, hi: int) -> list[bytes]:
        # The complete subtrees of the range's binary decomposition, largest
        # first: by section 2.1.1 the left child is always the largest complete
        # subtree. lo must be a multiple of the smallest power of two >= hi - lo
        # (true of every range in the RFC's recursion), so each is cached.
        subtrees = []
        while lo < hi:
            height = (hi - lo).bit_length() - 1
            subtrees.append(self._subtree(height, lo >> height))
            lo += 1 << height
        return subtrees

    def _mth(self, lo: int, hi: int) -> bytes:
        return _fold(self._subtrees(lo, hi))


def _fold(subtrees: list[bytes]) -> bytes:
    # MTH of a range from its complete subtrees, left first: fold from the right.
    node = subtrees[-1]
    for left in reversed(subtrees[:-1]):
        node = node_hash(left, node)
    return node


# -- The frontier: the log's state without its leaves --------------------------


def frontier_extend(
    frontier: Sequence[bytes], tree_size: int, leaves: Iterable[bytes]
) -> list[bytes]:
    """The frontier of a tree of ``tree_size`` leaves after appending ``leaves``.

    A frontier holds one complete subtree root per 1 bit of the tree size,
    largest (leftmost) first, as ``MerkleTree.frontier`` gives it.
    """
    return frontier_extend_nodes(frontier, tree_size, leaves, min_height=MAX_TREE_SIZE)[0]


def frontier_extend_nodes(
    frontier: Sequence[bytes], tree_size: int, leaves: Iterable[bytes], min_height: int
) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """``frontier_extend``, also returning every complete subtree of height
    ``min_height`` or more completed on the way, as (height, index, hash):
    the subtree of leaves [index * 2**height, (index + 1) * 2**height)."""
    _check_range(len(frontier) == tree_size.bit_count(), "frontier does not fit the tree size")
    frontier, nodes = list(frontier), []
    for leaf in leaves:
        if not _is_hash(leaf):
            raise ValueError("a leaf must be a 32-byte leaf hash")
        node, size, height = leaf, tree_size, 0
        while size & 1:  # merge equal subtrees, like a binary carry
            node = node_hash(frontier.pop(), node)
            size, height = size >> 1, height + 1
            if height >= min_height:
                nodes.append((height, tree_size >> height, node))
        frontier.append(node)
        tree_size += 1
    return frontier, nodes


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """MTH of the tree a frontier describes (RFC 9162 section 2.1.1)."""
    return _fold(list(frontier)) if frontier else EMPTY_ROOT


# -- Verification: the iterative algorithms of RFC 9162 ----------------------


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2. False for any malformed input; never raises."""
    if not (_is_size(index) and _is_size(tree_size) and index < tree_size):
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_proof(proof)):
        return False
    fn, sn, r = index, tree_size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and hmac.compare_digest(r, root)


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2. False for any malformed input; never raises.

    Outside the RFC's 0 < first < second: size 0 is consistent with any tree
    (its root must be EMPTY_ROOT), and equal sizes need equal roots; both
    with an empty proof.
    """
    if not (_is_size(first) and _is_size(second) and first <= second):
        return False
    if not (_is_hash(first_root) and _is_hash(second_root) and _is_proof(proof)):
        return False
    if first == 0:
        return not proof and hmac.compare_digest(first_root, EMPTY_ROOT)
    if first == second:
        return not proof and hmac.compare_digest(first_root, second_root)
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # first is an exact power of 2
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return (
        sn == 0 and hmac.compare_digest(fr, first_root) and hmac.compare_digest(sr, second_root)
    )


def _is_size(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_TREE_SIZE


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_proof(value: object) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) <= _MAX_PROOF_NODES
        and all(_is_hash(node) for node in value)
    )
