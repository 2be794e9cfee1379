"""The Merkle log over the API: signed checkpoints and RFC 9162 proofs that an
independent implementation (pymerkle, fed the entries' canonical bytes)
accepts."""

import base64

import pymerkle
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings

from consent_ledger import services
from consent_ledger.checkpoint import open_note
from consent_ledger.merkle import verify_consistency, verify_inclusion
from consent_ledger.models import Checkpoint, LedgerEntry
from consent_ledger.sequencer import ledger_sequence


@pytest.fixture
def ops(party):
    return party("MOPS", "ops")


@pytest.fixture
def log(ops, party):
    """1 subject + 23 consents, sequenced in batches of 5 (several checkpoints)."""
    shelter = party("Schronisko", "shelter")
    subject = services.subject_create(caller=ops.caller, external_ref="S/1", profile={})
    for _ in range(23):
        services.consent_grant(
            caller=ops.caller, subject_id=subject.id, form="verbal_witnessed", grantor="subject",
            terms=services.Terms(categories=["identity"], purposes=["referral"], agencies=[str(shelter.agency.id)]),
        )
    while ledger_sequence(batch_size=5):
        pass
    return list(LedgerEntry.objects.select_related("leaf").order_by("leaf__leaf_index"))


@pytest.fixture
def reference(log):
    """pymerkle's own tree over the entries' stored RFC 8785 bytes (what each leaf commits to)."""
    return pymerkle.InmemoryTree.init_from_entries([bytes(e.canonical) for e in log])


def public_key(ops) -> Ed25519PublicKey:
    body = ops.get("/api/v1/ledger/public-key").json()
    assert body["key_name"] == settings.LEDGER_KEY_NAME
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(body["public_key"]))


def test_checkpoints_are_signed_notes_whose_roots_pymerkle_recomputes(ops, log, reference):
    latest = ops.get("/api/v1/ledger/checkpoint").json()

    checkpoint = open_note(latest["note"], settings.LEDGER_KEY_NAME, public_key(ops), origin=settings.LEDGER_ORIGIN)

    assert latest["tree_size"] == checkpoint.tree_size == len(log) == 23
    assert latest["root_hash"] == checkpoint.root_hash.hex() == reference.get_root(23).hex()
    assert sorted(Checkpoint.objects.values_list("tree_size", flat=True)) == [5, 10, 15, 20, 23]
    for stored in Checkpoint.objects.all():
        assert bytes.fromhex(stored.root_hash) == reference.get_root(stored.tree_size)


@pytest.mark.parametrize("index, size", [(0, 1), (0, 23), (7, 8), (12, 15), (22, 23), (3, 10)])
def test_inclusion_proofs_verify_with_pymerkle(ops, log, reference, index, size):
    proof = ops.get(f"/api/v1/ledger/entries/{log[index].id}/proof", tree_size=size).json()

    leaf = bytes.fromhex(proof["leaf_hash"])
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    root = reference.get_root(size)
    rule = reference.prove_inclusion(index + 1, size).rule
    assert (proof["leaf_index"], proof["tree_size"], proof["leaf_hash"]) == (index, size, log[index].leaf_hash)
    pymerkle.verify_inclusion(leaf, root, pymerkle.InclusionProof("sha256", True, size, index + 1, rule, [leaf, *path]))
    assert verify_inclusion(leaf, index, size, path, root)


def test_a_wrong_inclusion_proof_is_refused(ops, log, reference):
    proof = ops.get(f"/api/v1/ledger/entries/{log[5].id}/proof", tree_size=23).json()
    leaf = bytes.fromhex(proof["leaf_hash"])
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    path[0] = bytes(32)
    rule = reference.prove_inclusion(6, 23).rule

    assert not verify_inclusion(leaf, 5, 23, path, reference.get_root(23))
    with pytest.raises(pymerkle.InvalidProof):
        pymerkle.verify_inclusion(
            leaf, reference.get_root(23), pymerkle.InclusionProof("sha256", True, 23, 6, rule, [leaf, *path])
        )


@pytest.mark.parametrize("first, second", [(1, 23), (5, 10), (8, 16), (10, 23), (7, 13)])
def test_consistency_proofs_link_roots_pymerkle_computes(ops, log, reference, first, second):
    body = ops.get("/api/v1/ledger/consistency", first=first, second=second).json()

    proof = [bytes.fromhex(h) for h in body["proof"]]
    first_root, second_root = reference.get_root(first), reference.get_root(second)
    assert (body["first"], body["second"]) == (first, second)
    assert verify_consistency(first, second, first_root, second_root, proof)
    assert not verify_consistency(first, second, reference.get_root(first - 1) or bytes(32), second_root, proof)


@pytest.mark.parametrize(
    "query", ["first=0&second=3", "first=5&second=3", "first=1&second=999", "first=x&second=3", "second=3"]
)
def test_bad_consistency_sizes_are_422(ops, log, query):
    response = ops.client.get(f"/api/v1/ledger/consistency?{query}", HTTP_AUTHORIZATION=f"Bearer {ops.token}")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"


def test_proof_beyond_the_sequenced_tree_is_422(ops, log):
    response = ops.get(f"/api/v1/ledger/entries/{log[3].id}/proof", tree_size=24)

    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "tree_size"


def test_proofs_of_another_agencys_entries_are_404(ops, log, party):
    stranger = party("Inna gmina", "ops")

    response = stranger.get(f"/api/v1/ledger/entries/{log[3].id}/proof")

    assert response.status_code == 404


def test_a_proof_of_an_entry_not_yet_sequenced_is_422_retry_shortly(ops, log):
    consent = services.consent_grant(
        caller=ops.caller, subject_id=log[0].subject_id, form="verbal_witnessed", grantor="subject",
        terms=services.Terms(categories=["identity"], purposes=["referral"], agencies=[str(ops.agency.id)]),
    )
    entry = LedgerEntry.objects.get(id=consent.granted_entry_id)  # queued for the sequencer, no leaf yet

    response = ops.get(f"/api/v1/ledger/entries/{entry.id}/proof")

    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "tree_size"
    assert entry.leaf_index is None
