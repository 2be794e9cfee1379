"""Inclusion and consistency proofs from the stored log (RFC 9162 §2.1.3-2.1.4).

The tree is rebuilt from the stored leaf hashes up to the requested size: one
indexed read of 32-byte hashes. (Persisting subtree tiles would make this
O(log n) reads; not needed at today's sizes.)
"""

from django.utils.translation import gettext as _

from hub.api.errors import ValidationFailed

from .merkle import MerkleTree
from .models import LedgerEntry, SequencerState

BAD_TREE_SIZE = "bad_tree_size"


def current_tree_size() -> int:
    state = SequencerState.objects.filter(pk=1).first()
    return state.tree_size if state else 0


def tree_of_size(size: int) -> MerkleTree:
    hashes = (
        LedgerEntry.objects.filter(leaf_index__lt=size).order_by("leaf_index").values_list("leaf_hash", flat=True)
    )
    return MerkleTree(bytes.fromhex(h) for h in hashes.iterator(chunk_size=10_000))


def _size_problem(parameter: str, detail: str) -> ValidationFailed:
    return ValidationFailed(detail, code=BAD_TREE_SIZE, errors=[{"parameter": parameter, "detail": detail}])


def inclusion_proof_for(entry: LedgerEntry, tree_size: int | None) -> dict:
    size_now = current_tree_size()
    tree_size = size_now if tree_size is None else tree_size
    if entry.leaf_index is None:
        raise _size_problem("tree_size", _("The entry is not sequenced yet; retry shortly."))
    if not entry.leaf_index < tree_size <= size_now:
        raise _size_problem(
            "tree_size",
            _("Must be greater than the entry's leaf index %(leaf_index)s and at most %(size)s.")
            % {"leaf_index": entry.leaf_index, "size": size_now},
        )
    proof = tree_of_size(tree_size).inclusion_proof(entry.leaf_index, tree_size)
    return {
        "leaf_index": entry.leaf_index,
        "tree_size": tree_size,
        "leaf_hash": entry.leaf_hash,
        "audit_path": [node.hex() for node in proof],
    }


def consistency_proof_for(first: int, second: int) -> dict:
    size_now = current_tree_size()
    if not 0 < first <= second <= size_now:
        raise _size_problem("first", _("Need 0 < first <= second <= %(size)s (the current tree size).") % {"size": size_now})
    proof = tree_of_size(second).consistency_proof(first, second)
    return {"first": first, "second": second, "proof": [node.hex() for node in proof]}
