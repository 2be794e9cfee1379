"""The Merkle log against RFC 9162: published vectors, pymerkle, tampering.

pymerkle 7 (``InmemoryTree`` with its defaults: SHA-256, ``security`` on,
i.e. the 0x00/0x01 prefixes of RFC 9162 section 2.1.1) is an independent
implementation. Its inclusion proofs carry the same nodes as RFC 9162's,
prefixed by the leaf hash and with a "rule" of left/right bits, so proofs
convert both ways. Its consistency proofs use a different decomposition of
the tree, so for those we check our proofs against pymerkle's roots and
against the published vectors instead.
"""

import hashlib
import random

import pymerkle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent_ledger import merkle
from consent_ledger.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    canonical_bytes,
    consistency_proof,
    frontier_extend,
    frontier_root,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

# -- Published vectors ---------------------------------------------------------
# The RFC 6962 reference vectors (certificate-transparency), as kept in
# github.com/transparency-dev/merkle proof/verify_test.go. RFC 9162 keeps
# RFC 6962's hashing, so they hold unchanged. Indexes here count from zero.


def h(hexdigest: str) -> bytes:
    return bytes.fromhex(hexdigest)


LEAF_DATA = [
    h(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
LEAVES = [leaf_hash(data) for data in LEAF_DATA]
ROOTS = [  # ROOTS[m - 1] is the root of the first m leaves
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]
INCLUSION_VECTORS = [  # (index, tree size, proof)
    (0, 1, []),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]
CONSISTENCY_VECTORS = [  # (first size, second size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def flip_bit(proof: list[bytes], node: int, bit: int) -> list[bytes]:
    tampered = list(proof)
    changed = bytearray(tampered[node])
    changed[bit // 8] ^= 1 << (bit % 8)
    tampered[node] = bytes(changed)
    return tampered


def test_hashing_is_rfc9162_with_domain_separation():
    assert EMPTY_ROOT == h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert leaf_hash(b"") == ROOTS[0] == hashlib.sha256(b"\x00").digest()
    assert node_hash(LEAVES[0], LEAVES[1]) == ROOTS[1]
    assert node_hash(LEAVES[0], LEAVES[1]) != hashlib.sha256(LEAVES[0] + LEAVES[1]).digest()


def test_canonical_bytes_is_rfc8785():
    entry = {"kind": "consent_granted", "categories": ["zdrowie", "ż"], "n": 1.0, "a": None}
    assert canonical_bytes(entry) == (
        b'{"a":null,"categories":["zdrowie","\xc5\xbc"],"kind":"consent_granted","n":1}'
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_published_vectors(size):
    assert root_hash(LEAVES[:size]) == ROOTS[size - 1]
    assert MerkleTree(LEAVES[:size]).root() == ROOTS[size - 1]
    assert MerkleTree(LEAVES).root(size) == ROOTS[size - 1]


def test_empty_tree_root_is_hash_of_nothing():
    assert root_hash([]) == EMPTY_ROOT
    assert MerkleTree().root() == EMPTY_ROOT
    assert MerkleTree(LEAVES).root(0) == EMPTY_ROOT


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_published_vectors(index, size, proof):
    assert inclusion_proof(LEAVES[:size], index) == proof
    assert MerkleTree(LEAVES).inclusion_proof(index, size) == proof
    assert verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_published_vectors(first, second, proof):
    assert consistency_proof(LEAVES, first, second) == proof
    assert MerkleTree(LEAVES).consistency_proof(first, second) == proof
    assert verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], proof)


def inclusion_probes(index, size, proof, root, leaf):
    # The corruptions of transparency-dev/merkle's corruptInclusionProof.
    probes = {
        "index - 1": (leaf, index - 1, size, proof, root),
        "index + 1": (leaf, index + 1, size, proof, root),
        "index ^ 2": (leaf, index ^ 2, size, proof, root),
        "size * 2": (leaf, index, size * 2, proof, root),
        "size // 2": (leaf, index, size // 2, proof, root),
        "wrong leaf": (b"WrongLeaf", index, size, proof, root),
        "other leaf": (SOME_HASH, index, size, proof, root),
        "empty root": (leaf, index, size, proof, EMPTY_ROOT),
        "random root": (leaf, index, size, proof, SOME_HASH),
        "trailing garbage": (leaf, index, size, [*proof, b""], root),
        "trailing root": (leaf, index, size, [*proof, root], root),
        "preceding garbage": (leaf, index, size, [b"", *proof], root),
        "preceding root": (leaf, index, size, [root, *proof], root),
    }
    for i in range(len(proof)):
        probes[f"proof[{i}] bit 3"] = (leaf, index, size, flip_bit(proof, i, 3), root)
    if proof:
        probes["removed node"] = (leaf, index, size, proof[:-1], root)
    if len(proof) > 1:
        probes["inserted node"] = (leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root)
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_corrupted_published_inclusion_proofs_are_refused(index, size, proof):
    probes = inclusion_probes(index, size, proof, ROOTS[size - 1], LEAVES[index])
    accepted = [name for name, args in probes.items() if verify_inclusion(*args)]
    assert accepted == []


def consistency_probes(first, second, root1, root2, proof):
    # The corruptions of transparency-dev/merkle's corruptConsistencyProof.
    probes = {
        "first - 1": (first - 1, second, root1, root2, proof),
        "first + 1": (first + 1, second, root1, root2, proof),
        "first ^ 2": (first ^ 2, second, root1, root2, proof),
        "second * 2": (first, second * 2, root1, root2, proof),
        "second // 2": (first, second // 2, root1, root2, proof),
        "wrong root1": (first, second, b"WrongRoot", root2, proof),
        "wrong root2": (first, second, root1, b"WrongRoot", proof),
        "other root1": (first, second, SOME_HASH, root2, proof),
        "swapped roots": (first, second, root2, root1, proof),
        "empty proof": (first, second, root1, root2, []),
        "trailing garbage": (first, second, root1, root2, [*proof, b""]),
        "trailing root1": (first, second, root1, root2, [*proof, root1]),
        "trailing root2": (first, second, root1, root2, [*proof, root2]),
        "preceding garbage": (first, second, root1, root2, [b"", *proof]),
        "preceding root1": (first, second, root1, root2, [root1, *proof]),
        "preceding root2": (first, second, root1, root2, [root2, *proof]),
        "preceding proof[0]": (first, second, root1, root2, [proof[0], *proof]),
        "truncated proof": (first, second, root1, root2, proof[:-1]),
    }
    for i in range(len(proof)):
        probes[f"proof[{i}] bit 4"] = (first, second, root1, root2, flip_bit(proof, i, 4))
    return probes


@pytest.mark.parametrize(("first", "second", "proof"), [v for v in CONSISTENCY_VECTORS if v[2]])
def test_corrupted_published_consistency_proofs_are_refused(first, second, proof):
    probes = consistency_probes(first, second, ROOTS[first - 1], ROOTS[second - 1], proof)
    accepted = [name for name, args in probes.items() if verify_consistency(*args)]
    assert accepted == []


@pytest.mark.parametrize(
    ("index", "size", "leaf", "root"),
    [
        (0, 0, SOME_HASH, EMPTY_ROOT),  # no leaf is in the empty tree
        (0, 1, SOME_HASH, EMPTY_ROOT),
        (1, 1, SOME_HASH, SOME_HASH),  # index past the end
        (2, 1, SOME_HASH, SOME_HASH),
        (0, 1, SOME_HASH, b""),
        (0, 1, b"", b""),
    ],
)
def test_inclusion_edge_cases_are_refused(index, size, leaf, root):
    assert not verify_inclusion(leaf, index, size, [], root)


def test_single_leaf_tree_proves_inclusion_with_an_empty_proof():
    assert verify_inclusion(SOME_HASH, 0, 1, [], SOME_HASH)


@pytest.mark.parametrize(
    ("first", "second", "root1", "root2", "proof", "expected"),
    [
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [], True),
        (0, 5, EMPTY_ROOT, SOME_HASH, [], True),  # the empty tree precedes every tree
        (0, 5, SOME_HASH, SOME_HASH, [], False),  # but its root is fixed
        (0, 5, EMPTY_ROOT, SOME_HASH, [EMPTY_ROOT], False),
        (3, 3, SOME_HASH, SOME_HASH, [], True),
        (3, 3, SOME_HASH, EMPTY_ROOT, [], False),
        (3, 3, SOME_HASH, SOME_HASH, [SOME_HASH], False),
        (2, 1, SOME_HASH, SOME_HASH, [], False),  # time travel
        (1, 0, EMPTY_ROOT, EMPTY_ROOT, [], False),
        (1, 2, ROOTS[0], ROOTS[1], [], False),  # growth needs a proof
    ],
)
def test_consistency_edge_cases(first, second, root1, root2, proof, expected):
    assert verify_consistency(first, second, root1, root2, proof) is expected


def test_consistency_proofs_do_not_run_backwards():
    for first, second, proof in CONSISTENCY_VECTORS[1:]:
        assert not verify_consistency(second, first, ROOTS[second - 1], ROOTS[first - 1], proof)
        assert not verify_consistency(second, 0, ROOTS[second - 1], EMPTY_ROOT, proof)


def test_producers_refuse_out_of_range_requests():
    tree = MerkleTree(LEAVES)
    for call in (
        lambda: tree.root(9),
        lambda: tree.root(-1),
        lambda: tree.inclusion_proof(8),
        lambda: tree.inclusion_proof(3, 3),
        lambda: tree.consistency_proof(5, 4),
        lambda: tree.consistency_proof(1, 9),
        lambda: tree.append(b"short"),
        lambda: inclusion_proof(LEAVES, 8),
        lambda: consistency_proof(LEAVES, 3, 9),
    ):
        with pytest.raises(ValueError):
            call()


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=5),
    st.binary(max_size=40),
    st.lists(st.one_of(st.binary(max_size=40), st.integers(), st.none()), max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(junk, junk, junk, junk, junk)
def test_verifiers_never_raise_on_malformed_input(a, b, c, d, e):
    assert verify_inclusion(a, b, c, d, e) in (True, False)
    assert verify_consistency(a, b, c, d, e) in (True, False)


def test_verifiers_refuse_absurd_sizes_and_proofs():
    assert not verify_inclusion(SOME_HASH, 0, 2**64, [SOME_HASH] * 64, SOME_HASH)
    assert not verify_inclusion(SOME_HASH, True, 2, [SOME_HASH], SOME_HASH)
    assert not verify_consistency(1, 2**200, SOME_HASH, SOME_HASH, [SOME_HASH] * 3)
    assert not verify_consistency(1, 2, SOME_HASH, SOME_HASH, [SOME_HASH] * 10_000)


# -- Against pymerkle, on random trees ---------------------------------------


@st.composite
def entries(draw, min_size=1, max_size=3000):
    """The data of a random tree: n distinct entries (cheap to draw at any n)."""
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    seed = draw(st.binary(min_size=1, max_size=8))
    return [seed + i.to_bytes(4, "big") for i in range(n)]


def build(data):
    return MerkleTree(leaf_hash(d) for d in data), pymerkle.InmemoryTree.init_from_entries(data)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=80))
def test_roots_of_arbitrary_entries_match_pymerkle(data):
    tree, reference = build(data)
    assert tree.root() == reference.get_root() == root_hash([leaf_hash(d) for d in data])


@settings(max_examples=40, deadline=None)
@given(entries(), st.data())
def test_roots_at_every_earlier_size_match_pymerkle(data, draw):
    tree, reference = build(data)
    sizes = draw.draw(st.lists(st.integers(0, len(data)), min_size=1, max_size=5))
    for size in [*sizes, len(data)]:
        assert tree.root(size) == reference.get_root(size)
    size = sizes[0]
    assert tree.root(size) == root_hash([tree.leaf(i) for i in range(size)])


def as_pymerkle(proof, leaf, index, size, rule):
    """Our RFC 9162 path as a pymerkle proof: the leaf first, then the same nodes."""
    return pymerkle.InclusionProof("sha256", True, size, index + 1, rule, [leaf, *proof])


def pymerkle_accepts(leaf, root, proof, index, size):
    try:
        pymerkle.verify_inclusion(leaf, root, proof, index=index + 1, size=size)
    except pymerkle.InvalidProof:
        return False
    return True


@settings(max_examples=60, deadline=None)
@given(entries(), st.data())
def test_inclusion_proofs_agree_with_pymerkle_both_ways(data, draw):
    tree, reference = build(data)
    size = draw.draw(st.integers(1, len(data)))
    index = draw.draw(st.integers(0, size - 1))
    leaf, root = tree.leaf(index), tree.root(size)
    ours = tree.inclusion_proof(index, size)
    theirs = reference.prove_inclusion(index + 1, size)

    assert ours == inclusion_proof([tree.leaf(i) for i in range(size)], index)
    assert pymerkle_accepts(leaf, root, as_pymerkle(ours, leaf, index, size, theirs.rule), index, size)
    assert theirs.path[0] == leaf
    assert verify_inclusion(leaf, index, size, theirs.path[1:], root)
    assert verify_inclusion(leaf, index, size, ours, root)


@settings(max_examples=80, deadline=None)
@given(entries(min_size=2), st.data())
def test_tampered_inclusion_proofs_are_refused(data, draw):
    tree, reference = build(data)
    size = draw.draw(st.integers(2, len(data)))
    index = draw.draw(st.integers(0, size - 1))
    leaf, root = tree.leaf(index), tree.root(size)
    proof = tree.inclusion_proof(index, size)
    rule = reference.prove_inclusion(index + 1, size).rule

    kind = draw.draw(st.sampled_from(["flip", "drop", "insert"]))
    if kind == "flip":
        node = draw.draw(st.integers(0, len(proof) - 1))
        tampered = flip_bit(proof, node, draw.draw(st.integers(0, 255)))
    elif kind == "drop":
        tampered = proof[:]
        del tampered[draw.draw(st.integers(0, len(proof) - 1))]
    else:
        tampered = proof[:]
        tampered.insert(draw.draw(st.integers(0, len(proof))), draw.draw(st.binary(min_size=32, max_size=32)))
    assert not verify_inclusion(leaf, index, size, tampered, root)
    assert not pymerkle_accepts(leaf, root, as_pymerkle(tampered, leaf, index, size, rule), index, size)


@settings(max_examples=60, deadline=None)
@given(entries(), st.data())
def test_inclusion_proofs_bind_index_and_size(data, draw):
    tree, _ = build(data)
    size = draw.draw(st.integers(1, len(data)))
    index = draw.draw(st.integers(0, size - 1))
    leaf, proof = tree.leaf(index), tree.inclusion_proof(index, size)

    other_index = draw.draw(st.integers(0, size).filter(lambda i: i != index))
    assert not verify_inclusion(leaf, other_index, size, proof, tree.root(size))
    for other_size in (size * 2, size // 2):
        assert not verify_inclusion(leaf, index, other_size, proof, tree.root(size))
    # Against the genuine root of another size, only that size's own proof verifies.
    other_size = draw.draw(st.integers(index + 1, len(data)).filter(lambda s: s != size))
    accepted = verify_inclusion(leaf, index, other_size, proof, tree.root(other_size))
    assert accepted is (proof == tree.inclusion_proof(index, other_size))


@settings(max_examples=60, deadline=None)
@given(entries(), st.data())
def test_consistency_proofs_verify_against_pymerkle_roots(data, draw):
    tree, reference = build(data)
    second = draw.draw(st.integers(1, len(data)))
    first = draw.draw(st.integers(0, second))
    proof = tree.consistency_proof(first, second)

    assert proof == consistency_proof([tree.leaf(i) for i in range(second)], first, second)
    assert verify_consistency(first, second, reference.get_root(first), reference.get_root(second), proof)
    if first:  # pymerkle, in its own proof format, agrees that these roots are consistent
        pymerkle.verify_consistency(tree.root(first), tree.root(second), reference.prove_consistency(first, second))


@settings(max_examples=80, deadline=None)
@given(entries(min_size=2), st.data())
def test_tampered_consistency_proofs_are_refused(data, draw):
    tree, _ = build(data)
    second = draw.draw(st.integers(2, len(data)))
    first = draw.draw(st.integers(1, second - 1))
    root1, root2 = tree.root(first), tree.root(second)
    proof = tree.consistency_proof(first, second)

    kind = draw.draw(st.sampled_from(["flip", "drop", "insert", "swap roots"]))
    tampered = proof[:]
    if kind == "flip":
        node = draw.draw(st.integers(0, len(proof) - 1))
        tampered = flip_bit(proof, node, draw.draw(st.integers(0, 255)))
    elif kind == "drop":
        del tampered[draw.draw(st.integers(0, len(proof) - 1))]
    elif kind == "insert":
        tampered.insert(draw.draw(st.integers(0, len(proof))), draw.draw(st.binary(min_size=32, max_size=32)))
    else:
        root1, root2 = root2, root1
    assert not verify_consistency(first, second, root1, root2, tampered)


@settings(max_examples=60, deadline=None)
@given(entries(min_size=2), st.data())
def test_consistency_proofs_bind_both_sizes(data, draw):
    tree, _ = build(data)
    second = draw.draw(st.integers(2, len(data)))
    first = draw.draw(st.integers(1, second - 1))
    proof = tree.consistency_proof(first, second)

    # Claimed against the genuine roots of other sizes, the proof verifies only
    # where it is also the genuine proof for those sizes.
    other_first = draw.draw(st.integers(1, second).filter(lambda m: m != first))
    accepted = verify_consistency(other_first, second, tree.root(other_first), tree.root(second), proof)
    assert accepted is (proof == tree.consistency_proof(other_first, second))
    other_second = draw.draw(st.integers(first, len(data)).filter(lambda n: n != second))
    accepted = verify_consistency(first, other_second, tree.root(first), tree.root(other_second), proof)
    assert accepted is (proof == tree.consistency_proof(first, other_second))


@settings(max_examples=40, deadline=None)
@given(entries(min_size=2, max_size=600), st.data())
def test_consistency_proof_fails_once_an_old_entry_changes(data, draw):
    second = draw.draw(st.integers(2, len(data)))
    first = draw.draw(st.integers(1, second - 1))
    changed = draw.draw(st.integers(0, first - 1))
    old, _ = build(data)
    rewritten = data[:changed] + [b"rewritten"] + data[changed + 1 :]
    new, _ = build(rewritten)
    # The log rewrote entry `changed` after signing the first checkpoint.
    proof = new.consistency_proof(first, second)
    assert not verify_consistency(first, second, old.root(first), new.root(second), proof)


def test_appending_in_batches_gives_the_same_tree():
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(1000)]
    whole = MerkleTree(leaves)
    batched = MerkleTree()
    rng = random.Random(9162)
    while len(batched) < len(leaves):
        batched.extend(leaves[len(batched) : len(batched) + rng.randint(1, 100)])
        size = len(batched)
        assert batched.root() == whole.root(size)
    assert [batched.leaf(i) for i in range(1000)] == leaves


def test_frontier_of_the_published_tree():
    frontier = frontier_extend([], 0, LEAVES[:7])
    # 7 = 4 + 2 + 1: the roots of leaves 0-3, 4-5 and 6.
    assert frontier == [ROOTS[3], node_hash(LEAVES[4], LEAVES[5]), LEAVES[6]]
    assert frontier_root(frontier) == ROOTS[6]
    assert frontier_root(frontier_extend(frontier, 7, LEAVES[7:])) == ROOTS[7]
    assert frontier_root([]) == EMPTY_ROOT


@settings(max_examples=40, deadline=None)
@given(entries(), st.lists(st.integers(0, 300), max_size=12))
def test_frontier_grown_in_batches_matches_the_tree_and_pymerkle(data, batch_sizes):
    tree, reference = build(data)
    frontier, size = [], 0
    for batch in [*batch_sizes, len(data)]:
        end = min(size + batch, len(data))
        frontier = frontier_extend(frontier, size, (tree.leaf(i) for i in range(size, end)))
        size = end
        assert frontier == tree.frontier(size)
        assert frontier_root(frontier) == reference.get_root(size)


def test_frontier_extend_refuses_a_frontier_of_another_size():
    with pytest.raises(ValueError):
        frontier_extend(LEAVES[:2], 4, [LEAVES[4]])
    with pytest.raises(ValueError):
        frontier_extend([], 0, [b"not a hash"])


def test_roots_and_proofs_cost_logarithmic_hashing(monkeypatch):
    n = 5000
    tree = MerkleTree(leaf_hash(i.to_bytes(4, "big")) for i in range(n))
    calls = []
    counted = merkle.node_hash
    monkeypatch.setattr(merkle, "node_hash", lambda left, right: calls.append(1) or counted(left, right))
    budget = 2 * n.bit_length()  # a few hashes per level; a linear walk would be thousands

    rng = random.Random(6962)
    for _ in range(50):
        size = rng.randint(1, n)
        for work in (
            lambda: tree.root(size),
            lambda: tree.inclusion_proof(rng.randrange(size), size),
            lambda: tree.consistency_proof(rng.randint(0, size), size),
        ):
            calls.clear()
            work()
            assert len(calls) <= budget
