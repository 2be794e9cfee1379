"""Checkpoints as C2SP signed notes: the Go reference vector, round trips, refusals."""

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from consent_ledger.checkpoint import (
    INVALID_KEY,
    INVALID_SIGNATURE,
    MALFORMED_CHECKPOINT,
    MALFORMED_NOTE,
    ORIGIN_MISMATCH,
    UNVERIFIED_NOTE,
    Checkpoint,
    CheckpointError,
    checkpoint_body,
    key_id,
    open_note,
    parse_verifier_key,
    sign_note,
    verifier_key,
    verify_note,
)

# -- The example of golang.org/x/mod/sumdb/note (note_test.go), the reference
# implementation of signed notes. Ed25519 signing is deterministic (RFC 8032),
# so signing the same text with the same key must give this note byte for byte.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

ORIGIN = "hub.example.pl/consent-ledger"
ROOT = hashlib.sha256(b"some root").digest()


def go_private_key() -> Ed25519PrivateKey:
    # PRIVATE+KEY+<name>+<hex id>+base64(0x01 || 32-byte seed); base64 may hold "+".
    encoded = GO_SKEY.split("+", 4)[4]
    material = base64.b64decode(encoded)
    assert material[0] == 1
    return Ed25519PrivateKey.from_private_bytes(material[1:])


def raw(public_key) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.fixture(scope="module")
def key():
    return Ed25519PrivateKey.generate()


def signed(body: str, key: Ed25519PrivateKey, name: str = ORIGIN) -> str:
    return sign_note(body, name, key)


def refusal(note: str, key: Ed25519PrivateKey, name: str = ORIGIN, **kwargs) -> str:
    with pytest.raises(CheckpointError) as caught:
        open_note(note, name, key.public_key(), **kwargs)
    return caught.value.code


# -- The reference vector ----------------------------------------------------


def test_key_id_is_the_c2sp_definition_computed_independently():
    public_key = go_private_key().public_key()
    expected = hashlib.sha256(b"PeterNeumann" + b"\x0a" + b"\x01" + raw(public_key)).digest()[:4]
    assert key_id("PeterNeumann", public_key) == expected
    assert expected.hex() == "c74f20a3"


def test_verifier_key_matches_the_go_reference():
    assert verifier_key("PeterNeumann", go_private_key().public_key()) == GO_VKEY
    name, public_key = parse_verifier_key(GO_VKEY)
    assert name == "PeterNeumann"
    assert raw(public_key) == raw(go_private_key().public_key())


def test_sign_note_reproduces_the_go_reference_note():
    assert sign_note(GO_TEXT, "PeterNeumann", go_private_key()) == GO_NOTE


def test_the_go_reference_note_verifies_and_rejects_a_changed_text():
    public_key = go_private_key().public_key()
    assert verify_note(GO_NOTE, "PeterNeumann", public_key) == GO_TEXT
    with pytest.raises(CheckpointError) as caught:
        verify_note(GO_NOTE.replace("cryptography", "cryptographY"), "PeterNeumann", public_key)
    assert caught.value.code == INVALID_SIGNATURE


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key ID
        "PeterNeumanN+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong name
        "PeterNeumann+c74f20a3+AhpcDqcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # not type 0x01
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",  # short key
        "PeterNeumann+c74f20a3",
        "",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey):
    with pytest.raises(CheckpointError) as caught:
        parse_verifier_key(vkey)
    assert caught.value.code == INVALID_KEY


# -- Checkpoints ---------------------------------------------------------------


def test_checkpoint_body_is_the_tlog_checkpoint_text():
    body = checkpoint_body(ORIGIN, 20852163, ROOT)
    assert body == f"{ORIGIN}\n20852163\n{base64.b64encode(ROOT).decode()}\n"
    assert checkpoint_body(ORIGIN, 0, ROOT).split("\n")[1] == "0"


def test_signed_checkpoint_has_the_signed_note_layout(key):
    body = checkpoint_body(ORIGIN, 42, ROOT)
    note = signed(body, key)
    text, signature_line = note[: len(body)], note[len(body) :]
    assert text == body
    assert signature_line.startswith(f"\n\u2014 {ORIGIN} ") and signature_line.endswith("\n")
    blob = base64.b64decode(signature_line.rstrip("\n").split(" ")[-1], validate=True)
    expected_id = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + raw(key.public_key())).digest()[:4]
    assert blob[:4] == expected_id
    key.public_key().verify(blob[4:], body.encode())  # raises if the signature is not over the body


origins = st.text(
    st.characters(min_codepoint=0x20, exclude_categories=("Cs",)), min_size=1, max_size=40
)


@settings(max_examples=50, deadline=None)
@given(origins, st.integers(0, 2**64 - 1), st.binary(min_size=32, max_size=32))
def test_checkpoints_round_trip(origin, tree_size, root):
    key = Ed25519PrivateKey.generate()
    note = sign_note(checkpoint_body(origin, tree_size, root), "log.example/key", key)
    opened = open_note(note, "log.example/key", key.public_key(), origin=origin)
    assert opened == Checkpoint(origin=origin, tree_size=tree_size, root_hash=root)


def test_extension_lines_are_allowed_and_ignored(key):
    note = signed(checkpoint_body(ORIGIN, 7, ROOT) + "extension one\nextension two\n", key)
    assert open_note(note, ORIGIN, key.public_key()) == Checkpoint(ORIGIN, 7, ROOT)


def test_other_signatures_are_ignored(key):
    # A witness cosignature, and a signature by another key under our name.
    note = signed(checkpoint_body(ORIGIN, 7, ROOT), key)
    witness = sign_note(checkpoint_body(ORIGIN, 7, ROOT), "witness.example", Ed25519PrivateKey.generate())
    impostor = sign_note(checkpoint_body(ORIGIN, 7, ROOT), ORIGIN, Ed25519PrivateKey.generate())
    extra = witness.split("\n\n")[1] + impostor.split("\n\n")[1]
    assert open_note(note + extra, ORIGIN, key.public_key()).tree_size == 7


def test_a_signature_under_another_name_is_ignored_even_with_our_key_id(key):
    # signed-note: unknown keys are ignored even if they share a name or an ID.
    note = signed(checkpoint_body(ORIGIN, 7, ROOT), key)
    blob = key_id(ORIGIN, key.public_key()) + bytes(64)
    other = f"\u2014 witness.example {base64.b64encode(blob).decode()}\n"
    assert open_note(note + other, ORIGIN, key.public_key()).tree_size == 7


def test_sixteen_signatures_are_accepted_but_not_a_flood(key):
    note = signed(checkpoint_body(ORIGIN, 7, ROOT), key)
    other = sign_note(checkpoint_body(ORIGIN, 7, ROOT), "w.example", Ed25519PrivateKey.generate())
    other_line = other.split("\n\n")[1]
    assert open_note(note + other_line * 15, ORIGIN, key.public_key()).tree_size == 7
    assert refusal(note + other_line * 100, key) == MALFORMED_NOTE


# -- Refusals ------------------------------------------------------------------


def test_a_note_signed_by_another_key_is_refused(key):
    note = signed(checkpoint_body(ORIGIN, 7, ROOT), Ed25519PrivateKey.generate())
    assert refusal(note, key) == UNVERIFIED_NOTE


def test_another_keys_signature_under_our_key_id_is_refused(key):
    body = checkpoint_body(ORIGIN, 7, ROOT)
    forged = key_id(ORIGIN, key.public_key()) + Ed25519PrivateKey.generate().sign(body.encode())
    note = f"{body}\n\u2014 {ORIGIN} {base64.b64encode(forged).decode()}\n"
    assert refusal(note, key) == INVALID_SIGNATURE


def test_a_bad_signature_by_our_key_fails_the_note_despite_a_good_one(key):
    body = checkpoint_body(ORIGIN, 7, ROOT)
    good = signed(body, key)
    bad = signed(checkpoint_body(ORIGIN, 8, ROOT), key).split("\n\n")[1]
    assert refusal(good + bad, key) == INVALID_SIGNATURE


@pytest.mark.parametrize(
    ("old", "new"),
    [(f"{ORIGIN}\n", "hub.example.pl/other-log\n"), ("\n7\n", "\n8\n"), ("\n7\n", "\n07\n")],
)
def test_a_modified_body_is_refused(key, old, new):
    note = signed(checkpoint_body(ORIGIN, 7, ROOT), key)
    assert refusal(note.replace(old, new, 1), key) == INVALID_SIGNATURE


def test_a_modified_root_is_refused(key):
    note = signed(checkpoint_body(ORIGIN, 7, ROOT), key)
    other_root = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    assert refusal(note.replace(base64.b64encode(ROOT).decode(), other_root), key) == INVALID_SIGNATURE


def test_a_note_opened_under_another_key_name_is_refused(key):
    note = signed(checkpoint_body(ORIGIN, 7, ROOT), key)
    assert refusal(note, key, name="hub.example.pl/other") == UNVERIFIED_NOTE


def test_an_unexpected_origin_is_refused(key):
    note = signed(checkpoint_body(ORIGIN, 7, ROOT), key)
    assert refusal(note, key, origin="hub.example.pl/other-log") == ORIGIN_MISMATCH


@pytest.mark.parametrize("name", ["", "has space", "has+plus", "nbsp\u00a0name", "tab\tname"])
def test_invalid_key_names_are_refused(key, name):
    with pytest.raises(CheckpointError) as caught:
        sign_note(checkpoint_body(ORIGIN, 7, ROOT), name, key)
    assert caught.value.code == INVALID_KEY
    with pytest.raises(CheckpointError):
        verifier_key(name, key.public_key())


def test_a_signature_line_with_an_invalid_name_is_refused(key):
    note = signed(checkpoint_body(ORIGIN, 7, ROOT), key)
    _, sig = note.split("\n\n")
    assert refusal(note + sig.replace(ORIGIN, "bad+name"), key) == MALFORMED_NOTE


def test_truncated_signatures_are_refused(key):
    note = signed(checkpoint_body(ORIGIN, 7, ROOT), key)
    text, line = note.split("\n\n")
    prefix, encoded = line.rstrip("\n").rsplit(" ", 1)
    blob = base64.b64decode(encoded)
    for cut in (blob[:-1], blob[:40], blob[:5]):
        truncated = f"{text}\n\n{prefix} {base64.b64encode(cut).decode()}\n"
        assert refusal(truncated, key) == INVALID_SIGNATURE
    for cut in (blob[:4], b""):
        truncated = f"{text}\n\n{prefix} {base64.b64encode(cut).decode()}\n"
        assert refusal(truncated, key) == MALFORMED_NOTE
    assert refusal(f"{text}\n\n{prefix} {encoded[:-2]}\n", key) == MALFORMED_NOTE  # bad base64


@pytest.mark.parametrize(
    "mangle",
    [
        lambda note: note[:-1],  # no final newline
        lambda note: note.replace("\n\n", "\n"),  # no blank line before the signatures
        lambda note: note.split("\n\n")[0] + "\n\n",  # no signature
        lambda note: note.replace("\u2014 ", "- "),  # not an em dash
        lambda note: note.replace("\u2014 ", "\u2014"),
        lambda note: note.replace(" ", "  ", 1),  # a double space in the signature line
        lambda note: note.replace("\n", "\r\n"),  # a control character
        lambda note: "\x00" + note,
        lambda note: note + "trailing\n",
        lambda note: note.replace("=", "=\t"),
    ],
)
def test_malformed_notes_are_refused(key, mangle):
    note = signed(checkpoint_body(ORIGIN, 7, ROOT), key)
    assert refusal(mangle(note), key) == MALFORMED_NOTE


def test_a_note_that_is_not_text_is_refused(key):
    note = signed(checkpoint_body(ORIGIN, 7, ROOT), key)
    assert refusal(note.encode(), key) == MALFORMED_NOTE
    assert refusal(note.replace("7", "\ud800"), key) == MALFORMED_NOTE  # not encodable as UTF-8


root_b64 = base64.b64encode(ROOT).decode()
URL_SAFE_ROOT = base64.urlsafe_b64encode(b"\xff" * 32).decode()


@pytest.mark.parametrize(
    "body",
    [
        f"\n7\n{root_b64}\n",  # empty origin
        f"{ORIGIN}\n7\n",  # no root
        f"{ORIGIN}\n{root_b64}\n",
        f"{ORIGIN}\n7\n{root_b64}\n\nextension after an empty line\n",
        *(
            f"{ORIGIN}\n{size}\n{root_b64}\n"
            for size in ("07", "00", "+7", "-7", " 7", "7 ", "", "0x7", "7_000", "\u0667", "\uff17")
        ),
        f"{ORIGIN}\n18446744073709551616\n{root_b64}\n",  # 2**64
        f"{ORIGIN}\n{'9' * 5000}\n{root_b64}\n",
        f"{ORIGIN}\n7\n{ROOT.hex()}\n",
        f"{ORIGIN}\n7\n{base64.b64encode(ROOT[:31]).decode()}\n",
        f"{ORIGIN}\n7\n{base64.b64encode(ROOT + b'x').decode()}\n",
        f"{ORIGIN}\n7\n{root_b64[:-2]}\n",  # padding dropped
        f"{ORIGIN}\n7\n{root_b64[:-2]}9=\n",  # non-canonical final character
        f"{ORIGIN}\n7\n{URL_SAFE_ROOT}\n",  # the URL alphabet
    ],
)
def test_malformed_checkpoint_bodies_are_refused_even_when_signed(key, body):
    assert refusal(signed(body, key), key) == MALFORMED_CHECKPOINT


def test_the_largest_tree_size_is_accepted(key):
    note = signed(checkpoint_body(ORIGIN, 2**64 - 1, ROOT), key)
    assert open_note(note, ORIGIN, key.public_key()).tree_size == 2**64 - 1


@pytest.mark.parametrize(
    ("origin", "tree_size", "root"),
    [
        ("", 7, ROOT),
        ("two\nlines", 7, ROOT),
        ("tab\there", 7, ROOT),
        (ORIGIN, -1, ROOT),
        (ORIGIN, 2**64, ROOT),
        (ORIGIN, True, ROOT),
        (ORIGIN, "7", ROOT),
        (ORIGIN, 7, ROOT[:31]),
        (ORIGIN, 7, ROOT.hex()),
    ],
)
def test_checkpoint_body_refuses_bad_fields(origin, tree_size, root):
    with pytest.raises(CheckpointError) as caught:
        checkpoint_body(origin, tree_size, root)
    assert caught.value.code == MALFORMED_CHECKPOINT


def test_sign_note_refuses_text_that_cannot_be_a_note(key):
    for body in ("no final newline", "control\rcharacter\n", "\ud800\n"):
        with pytest.raises(CheckpointError) as caught:
            sign_note(body, ORIGIN, key)
        assert caught.value.code == MALFORMED_NOTE
