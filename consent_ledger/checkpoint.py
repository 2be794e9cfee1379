"""Signed checkpoints of the Merkle log: C2SP tlog-checkpoint in a C2SP signed note.

Pure Python, no Django. A checkpoint is the note text

    <origin>\\n<tree size>\\n<base64 root hash>\\n

followed by a blank line and one Ed25519 signature line per signing key

    — <key name> base64(key ID || signature)\\n

(two at a key rotation: the retiring key's and the new one's), so generic
transparency-log tooling can verify it (https://c2sp.org/signed-note,
https://c2sp.org/tlog-checkpoint). ``open_note`` is the strict reader: it
raises ``CheckpointError`` with a stable ``code`` on anything it cannot accept.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from consent_ledger.merkle import HASH_SIZE, MAX_TREE_SIZE

# Error codes (CheckpointError.code).
MALFORMED_NOTE = "malformed_note"
UNVERIFIED_NOTE = "unverified_note"
INVALID_SIGNATURE = "invalid_signature"
MALFORMED_CHECKPOINT = "malformed_checkpoint"
ORIGIN_MISMATCH = "origin_mismatch"
INVALID_KEY = "invalid_key"

# signed-note, "Signature types": 0x01 is Ed25519.
ED25519_SIGNATURE_TYPE = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
# signed-note: verifiers SHOULD cap the signatures they read and MUST accept 16;
# 100 is the Go reference implementation's cap.
MAX_SIGNATURES = 100

_ED25519_KEY_SIZE = 32
# tlog-checkpoint, "Note text" 2: ASCII decimal, no leading zeroes unless 0.
_TREE_SIZE_RE = re.compile(r"0|[1-9][0-9]*")


class CheckpointError(ValueError):
    """A note or checkpoint that cannot be accepted; ``code`` is one of the constants above."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes


def checkpoint_body(origin: str, tree_size: int, root: bytes) -> str:
    """The note text of a checkpoint, tlog-checkpoint "Note text" 1-3."""
    if not origin or not _is_note_text(origin) or "\n" in origin:
        raise CheckpointError(MALFORMED_CHECKPOINT, "origin must be a non-empty line of text")
    if type(tree_size) is not int or not 0 <= tree_size <= MAX_TREE_SIZE:
        raise CheckpointError(MALFORMED_CHECKPOINT, "tree size must be an integer in [0, 2**64)")
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise CheckpointError(MALFORMED_CHECKPOINT, "root hash must be 32 bytes")
    return f"{origin}\n{tree_size}\n{base64.b64encode(root).decode('ascii')}\n"


def key_id(key_name: str, public_key: Ed25519PublicKey) -> bytes:
    """signed-note, "Ed25519 signatures": SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    material = key_name.encode("utf-8") + b"\n" + ED25519_SIGNATURE_TYPE + _raw(public_key)
    return hashlib.sha256(material).digest()[:4]


def verifier_key(key_name: str, public_key: Ed25519PublicKey) -> str:
    """The standard verifier key string: <name>+<hex key ID>+base64(0x01 || key)."""
    _check_key_name(key_name)
    encoded = base64.b64encode(ED25519_SIGNATURE_TYPE + _raw(public_key)).decode("ascii")
    return f"{key_name}+{key_id(key_name, public_key).hex()}+{encoded}"


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey]:
    """Read a verifier key string back into (key name, public key), checking its key ID."""
    name, _, rest = vkey.partition("+")
    hex_id, _, encoded = rest.partition("+")
    try:
        _check_key_name(name)
        material = _b64decode(encoded)
        if material[:1] != ED25519_SIGNATURE_TYPE or len(material) != 1 + _ED25519_KEY_SIZE:
            raise ValueError("not an Ed25519 key")
        public_key = Ed25519PublicKey.from_public_bytes(material[1:])
    except ValueError as exc:
        raise CheckpointError(INVALID_KEY, f"malformed verifier key: {exc}") from exc
    if hex_id != key_id(name, public_key).hex():
        raise CheckpointError(INVALID_KEY, "verifier key ID does not match its name and key")
    return name, public_key


def sign_note(body: str, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign a note text (ending in a newline) as a signed note with one Ed25519 signature."""
    return sign_note_with(body, [(key_name, private_key)])


def sign_note_with(body: str, signers: Sequence[tuple[str, Ed25519PrivateKey]]) -> str:
    """Sign a note text with several keys (key name, private key): one
    signature line each, in this order. signed-note, "Signatures": a note may
    carry several, and a verifier checks those of the keys it knows."""
    _check_note_text(body)
    if not body.endswith("\n"):
        raise CheckpointError(MALFORMED_NOTE, "note text must end in a newline")
    if not 1 <= len(signers) <= MAX_SIGNATURES:
        raise CheckpointError(MALFORMED_NOTE, f"a note carries 1 to {MAX_SIGNATURES} signatures")
    lines = []
    for key_name, private_key in signers:
        _check_key_name(key_name)
        blob = key_id(key_name, private_key.public_key()) + private_key.sign(body.encode("utf-8"))
        lines.append(f"{SIGNATURE_PREFIX}{key_name} {base64.b64encode(blob).decode('ascii')}\n")
    return f"{body}\n{''.join(lines)}"


def verify_note(note: str, key_name: str, public_key: Ed25519PublicKey) -> str:
    """Verify a signed note against one known key and return its text.

    Per signed-note, "Signatures": signatures by other keys (another name or
    key ID) are ignored; a signature by the known key must verify; at least
    one must be present.
    """
    text, signers = verify_signatures(note, {(key_name, key_id(key_name, public_key)): public_key})
    if not signers:
        raise CheckpointError(UNVERIFIED_NOTE, f"no signature by {key_name}")
    return text


def verify_signatures(
    note: str, known: Mapping[tuple[str, bytes], Ed25519PublicKey]
) -> tuple[str, list[tuple[str, bytes]]]:
    """Verify every signature in a note by a known key, named by (key name,
    key ID), and return the note text and the known keys that signed it, in
    note order (none, maybe: the caller decides whose signature it needs).

    Per signed-note, "Signatures": signatures by other keys are ignored,
    even under a known name or with a known ID; a signature by a known key
    must verify.
    """
    text, signature_lines = _split_note(note)
    signers = []
    for line in signature_lines:
        name, blob = _parse_signature_line(line)
        public_key = known.get((name, blob[:4]))
        if public_key is None:
            continue
        try:
            public_key.verify(blob[4:], text.encode("utf-8"))
        except InvalidSignature:
            raise CheckpointError(INVALID_SIGNATURE, f"bad signature by {name}") from None
        signers.append((name, blob[:4]))
    return text, signers


def open_note(
    note: str, key_name: str, public_key: Ed25519PublicKey, *, origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint and parse it; ``origin``, if given, must match."""
    return parse_checkpoint_of(verify_note(note, key_name, public_key), origin)


def parse_checkpoint_of(text: str, origin: str | None) -> Checkpoint:
    """Parse a verified checkpoint text; ``origin``, if given, must match."""
    checkpoint = parse_checkpoint(text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(ORIGIN_MISMATCH, f"checkpoint is for {checkpoint.origin!r}")
    return checkpoint


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text (tlog-checkpoint, "Note text"); extension lines are ignored.

    Only for text whose signature was verified: signed-note says to ignore
    text that is not.
    """
    lines = text.split("\n")
    # At least three lines, each non-empty, each ending in a newline.
    if len(lines) < 4 or lines[-1] != "" or "" in lines[:-1]:
        raise CheckpointError(MALFORMED_CHECKPOINT, "checkpoint needs 3 or more non-empty lines")
    origin, size_line, root_line = lines[:3]
    # Length first: int() refuses strings of over 4300 digits.
    valid_size = len(size_line) <= 20 and _TREE_SIZE_RE.fullmatch(size_line)
    if not valid_size or int(size_line) > MAX_TREE_SIZE:
        raise CheckpointError(MALFORMED_CHECKPOINT, f"bad tree size {size_line!r}")
    try:
        root = _b64decode(root_line)
    except ValueError:
        root = b""
    if len(root) != HASH_SIZE:
        raise CheckpointError(MALFORMED_CHECKPOINT, "root hash must be base64 of 32 bytes")
    return Checkpoint(origin=origin, tree_size=int(size_line), root_hash=root)


# -- signed-note, "Format" -----------------------------------------------------


def _split_note(note: str) -> tuple[str, list[str]]:
    # The text ends at the last blank line; then come the signature lines,
    # the last ending in a newline.
    _check_note_text(note)
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n") or split + 2 == len(note):
        raise CheckpointError(MALFORMED_NOTE, "no signature block after a blank line")
    signature_lines = note[split + 2 : -1].split("\n")
    if len(signature_lines) > MAX_SIGNATURES:
        raise CheckpointError(MALFORMED_NOTE, "too many signatures")
    return note[: split + 1], signature_lines


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    # "— <key name> base64(key ID || signature)"
    name, space, encoded = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
    try:
        if not line.startswith(SIGNATURE_PREFIX) or not space:
            raise ValueError("not a signature line")
        _check_key_name(name)
        blob = _b64decode(encoded)
    except ValueError as exc:
        raise CheckpointError(MALFORMED_NOTE, f"bad signature line {line!r}") from exc
    if len(blob) < 5:
        raise CheckpointError(MALFORMED_NOTE, f"signature too short in {line!r}")
    return name, blob


def _check_note_text(text: str) -> None:
    if not _is_note_text(text):
        raise CheckpointError(MALFORMED_NOTE, "a note is UTF-8 text without control characters")


def _is_note_text(text: object) -> bool:
    # signed-note, "Format": valid UTF-8 with no ASCII control characters
    # other than newline.
    if not isinstance(text, str) or any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        return False
    try:
        text.encode("utf-8")  # fails on lone surrogates
    except UnicodeEncodeError:
        return False
    return True


def _check_key_name(name: str) -> None:
    # signed-note, "Format": non-empty, no Unicode spaces, no "+".
    valid = name and _is_note_text(name) and "+" not in name
    if not valid or any(ch.isspace() for ch in name):
        raise CheckpointError(INVALID_KEY, f"invalid key name {name!r}")


def _b64decode(encoded: str) -> bytes:
    # Standard base64 (RFC 4648 section 4), strict: only the canonical
    # encoding is accepted, so a note has one spelling.
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("bad base64") from exc
    if base64.b64encode(decoded).decode("ascii") != encoded:
        raise ValueError("non-canonical base64")
    return decoded


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
