"""consent_ledger.proofs: proofs served from the stored MerkleNode rows and
leaf hashes are exactly the RFC 9162 proofs merkle.MerkleTree computes over
every leaf, for every leaf index, tree size and pair of sizes; they cost a
fixed number of queries whatever the log's size; and a damaged node table
yields a proof that fails to verify or a clear 503, never a wrong answer
dressed as right, never a 500."""

from itertools import cycle

import pytest
from django.db import connection
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent_ledger import triggers
from consent_ledger.ledger import ledger_append
from consent_ledger.merkle import MerkleTree, verify_consistency, verify_inclusion
from consent_ledger.models import (
    Checkpoint,
    EntryKind,
    LedgerEntry,
    LedgerLeaf,
    MerkleNode,
)
from consent_ledger.proofs import (
    PROOF_UNAVAILABLE,
    ProofUnavailable,
    consistency_proof_for,
    inclusion_proof_for,
)
from consent_ledger.sequencer import ledger_sequence
from consent_ledger.services import subject_create
from tests.conftest import example_rolled_back

pytestmark = pytest.mark.usefixtures("triggers_restored")

_FAST = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}


def log_grow(caller, subject, count: int, batches=(1,)) -> None:
    """Append `count` entries through ledger_append, then sequence them in
    batches of the sizes given, in turn: subtrees complete inside a batch
    and across batch boundaries alike."""
    for n in range(count):
        ledger_append(kind=EntryKind.DISCLOSURE, subject=subject, caller=caller, body={"n": n})
    for size in cycle(batches):
        if ledger_sequence(batch_size=size) is None:
            return


def reference() -> MerkleTree:
    """The whole tree rebuilt from every leaf hash, as proofs.py once did."""
    rows = LedgerLeaf.objects.order_by("leaf_index").values_list("entry__leaf_hash", flat=True)
    return MerkleTree(bytes.fromhex(h) for h in rows)


def entries_by_leaf() -> list[LedgerEntry]:
    return list(LedgerEntry.objects.select_related("leaf").order_by("leaf__leaf_index"))


def hexes(nodes) -> list[str]:
    return [node.hex() for node in nodes]


def root_at(size: int) -> bytes:
    return bytes.fromhex(Checkpoint.objects.get(tree_size=size).root_hash)


@pytest.fixture
def subject(ledger_caller):
    return subject_create(caller=ledger_caller, external_ref="P/1", profile={})


@pytest.fixture
def small_nodes():
    """Nodes from height 2: four-leaf subtrees are rows, so a small log has
    stored nodes of several heights and partial subtrees hashed from leaves."""
    with override_settings(LEDGER_NODE_MIN_HEIGHT=2):
        yield


def test_every_proof_of_a_small_log_is_the_whole_trees(small_nodes, ledger_caller, subject):
    log_grow(ledger_caller, subject, 37, batches=(1, 3, 5, 2, 8))
    tree, entries = reference(), entries_by_leaf()
    assert {h for (h,) in MerkleNode.objects.values_list("height")} == {2, 3, 4, 5}

    for size in range(1, 38):
        for index in range(size):
            proof = inclusion_proof_for(entries[index], size)
            assert proof["audit_path"] == hexes(tree.inclusion_proof(index, size)), (index, size)
        for first in range(1, size + 1):
            proof = consistency_proof_for(first, size)["proof"]
            assert proof == hexes(tree.consistency_proof(first, size)), (first, size)


@pytest.fixture
def log_past_one_full_node(ledger_caller, subject):
    """300 entries at the default minimum height (8): one stored node, the rest from leaves."""
    log_grow(ledger_caller, subject, 300, batches=(97,))
    return reference(), entries_by_leaf()


@settings(max_examples=150, **_FAST)
@given(data=st.data())
def test_proofs_at_the_default_node_height_are_the_whole_trees(log_past_one_full_node, data):
    tree, entries = log_past_one_full_node
    size = data.draw(st.integers(1, 300), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    first = data.draw(st.integers(1, size), label="first")

    assert inclusion_proof_for(entries[index], size)["audit_path"] == hexes(tree.inclusion_proof(index, size))
    assert consistency_proof_for(first, size)["proof"] == hexes(tree.consistency_proof(first, size))


@settings(max_examples=25, **_FAST)
@given(
    size=st.integers(1, 160),
    batches=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    min_height=st.integers(2, 4),
    data=st.data(),
)
def test_proofs_of_random_logs_are_the_whole_trees(ledger_caller, subject, size, batches, min_height, data):
    with override_settings(LEDGER_NODE_MIN_HEIGHT=min_height), example_rolled_back():
        log_grow(ledger_caller, subject, size, batches)
        tree, entries = reference(), entries_by_leaf()
        for _ in range(8):
            second = data.draw(st.integers(1, size), label="second")
            index = data.draw(st.integers(0, second - 1), label="index")
            first = data.draw(st.integers(1, second), label="first")
            assert inclusion_proof_for(entries[index], second)["audit_path"] == hexes(tree.inclusion_proof(index, second))
            assert consistency_proof_for(first, second)["proof"] == hexes(tree.consistency_proof(first, second))


def test_a_proof_reads_the_size_its_nodes_and_its_leaves_in_three_queries(
    small_nodes, ledger_caller, subject, django_assert_num_queries
):
    log_grow(ledger_caller, subject, 150, batches=(150,))
    entry = entries_by_leaf()[37]  # its leaf index loaded: the view's entry costs one query more

    # 37 and 150 are not multiples of 4: both proofs need stored nodes and leaf hashes.
    with django_assert_num_queries(3):
        consistency_proof_for(37, 150)
    with django_assert_num_queries(3):
        inclusion_proof_for(entry, 150)


def test_proofs_verify_against_the_signed_roots(small_nodes, ledger_caller, subject):
    log_grow(ledger_caller, subject, 23, batches=(5,))
    entry = entries_by_leaf()[11]

    path = [bytes.fromhex(h) for h in inclusion_proof_for(entry, 20)["audit_path"]]
    proof = [bytes.fromhex(h) for h in consistency_proof_for(15, 23)["proof"]]

    assert verify_inclusion(bytes.fromhex(entry.leaf_hash), 11, 20, path, root_at(20))
    assert verify_consistency(15, 23, root_at(15), root_at(23), proof)


# -- A damaged node table -----------------------------------------------------------------


@pytest.fixture
def log_of_40(small_nodes, ledger_caller, subject):
    """Leaf 0's audit path at size 40 holds nodes (2, 1), (3, 1), (4, 1) and (3, 4)."""
    log_grow(ledger_caller, subject, 40, batches=(8,))  # checkpoints at 8, 16, 24, 32, 40
    return entries_by_leaf()


def test_a_changed_node_gives_proofs_that_fail_to_verify(log_of_40):
    with triggers.dropped(connection):
        MerkleNode.objects.filter(height=3, index=1).update(hash=bytes(32))
    leaf = bytes.fromhex(log_of_40[0].leaf_hash)

    path = [bytes.fromhex(h) for h in inclusion_proof_for(log_of_40[0], 40)["audit_path"]]
    consistency = [bytes.fromhex(h) for h in consistency_proof_for(8, 40)["proof"]]

    assert bytes(32) in path and not verify_inclusion(leaf, 0, 40, path, root_at(40))
    assert not verify_consistency(8, 40, root_at(8), root_at(40), consistency)
    # A proof that does not need the node is unaffected.
    untouched = [bytes.fromhex(h) for h in inclusion_proof_for(log_of_40[8], 16)["audit_path"]]
    assert verify_inclusion(bytes.fromhex(log_of_40[8].leaf_hash), 8, 16, untouched, root_at(16))


def test_a_missing_node_is_refused_not_guessed(log_of_40):
    with triggers.dropped(connection):
        MerkleNode.objects.filter(height=4, index=1).delete()

    with pytest.raises(ProofUnavailable):
        inclusion_proof_for(log_of_40[0], 40)
    with pytest.raises(ProofUnavailable):
        consistency_proof_for(16, 40)
    assert consistency_proof_for(8, 16)["proof"]  # proofs that do not need it are still served


def test_a_missing_leaf_is_refused_not_guessed(log_of_40):
    with triggers.dropped(connection):
        LedgerLeaf.objects.filter(leaf_index=39).delete()

    # Leaf 38's path at size 40 holds leaf 39 itself (a subtree below the nodes' height).
    with pytest.raises(ProofUnavailable):
        inclusion_proof_for(log_of_40[38], 40)
    with pytest.raises(ProofUnavailable):
        consistency_proof_for(38, 40)
    assert consistency_proof_for(36, 40)["proof"]  # leaves 36..39 are stored node (2, 9)


@pytest.fixture
def ops(party):
    return party("MOPS", "ops")


def test_a_proof_the_node_table_cannot_serve_is_a_503_problem(small_nodes, ops):
    subject = subject_create(caller=ops.caller, external_ref="P/2", profile={})
    log_grow(ops.caller, subject, 12, batches=(12,))
    entry = entries_by_leaf()[0]
    with triggers.dropped(connection):
        MerkleNode.objects.filter(height=2, index=1).delete()

    responses = [
        ops.get(f"/api/v1/ledger/entries/{entry.id}/proof", tree_size=12),
        ops.get("/api/v1/ledger/consistency", first=4, second=12),
    ]

    for response in responses:
        assert response.status_code == 503
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == PROOF_UNAVAILABLE
