"""Checkpoint key rotation (issue 12, item 5; DESIGN.md 4.4): every checkpoint
records its key, verify_ledger holds it to the key valid when it was signed,
and a rotation signs the tree as it stands with the old key and the new one,
so a verifier holding only the old key can follow onto the new one.

The verification tests run with the log in one chunk and in chunks of two
leaves (conftest.whole_and_small_chunks), as the tampering tests do."""

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from consent_ledger.checkpoint import (
    UNVERIFIED_NOTE,
    checkpoint_body,
    key_id,
    open_note,
    sign_note,
)
from consent_ledger.keys import signing_key
from consent_ledger.models import Checkpoint, SigningKey
from consent_ledger.sequencer import ledger_key_rotate, ledger_sequence
from consent_ledger.services import consent_grant
from consent_ledger.verify import VerificationRefused, verify_ledger
from tests.consent_ledger.conftest import terms
from tests.consent_ledger.test_verify_ledger import tampered

pytestmark = pytest.mark.usefixtures("triggers_restored", "whole_and_small_chunks")


def grant_and_sequence(caller, subject, count: int = 1) -> None:
    """`count` more entries, each sequenced (a checkpoint each)."""
    for _ in range(count):
        consent_grant(caller=caller, subject_id=subject.id, terms=terms(caller), form="verbal_witnessed",
                      grantor="subject")
        ledger_sequence()


def signature_lines(note: str) -> list[str]:
    return note[note.index("\n\n") + 2 :].splitlines()


# -- Before and after -------------------------------------------------------------------


def test_checkpoints_signed_before_and_after_a_rotation_all_verify(ledger_log, ledger_caller, ledger_subject):
    old = signing_key()
    rotation = ledger_key_rotate()
    grant_and_sequence(ledger_caller, ledger_subject, 3)

    report = verify_ledger()

    assert (report.ok, report.problems) == (True, [])
    assert (report.tree_size, report.checkpoints_checked) == (8, 5 + 1 + 3)  # before, the switch, after
    assert rotation.current.key_id != old.key_id
    recorded = list(Checkpoint.objects.order_by("tree_size", "pk").values_list("tree_size", "key_id"))
    assert recorded == [(n, old.key_id) for n in range(1, 6)] + [(5, rotation.current.key_id)] + [
        (n, rotation.current.key_id) for n in range(6, 9)
    ]
    after = Checkpoint.objects.filter(tree_size__gt=5)
    assert all(len(signature_lines(c.note)) == 1 for c in after)  # the new key alone from the switch on


def test_the_switch_checkpoint_carries_both_signatures_and_each_verifies(ledger_log):
    old = signing_key()
    before = Checkpoint.objects.get(tree_size=5, key_id=old.key_id)

    rotation = ledger_key_rotate()

    switch, new = rotation.checkpoint, rotation.current
    assert [line.split(" ")[1] for line in signature_lines(switch.note)] == [old.name, new.name]
    for key in (old, new):  # a verifier holding either key alone accepts it
        opened = open_note(switch.note, key.name, key.public_key, origin=settings.LEDGER_ORIGIN)
        assert (opened.tree_size, opened.root_hash.hex()) == (5, before.root_hash)
    assert (switch.tree_size, switch.root_hash, switch.frontier) == (5, before.root_hash, before.frontier)
    assert (switch.key_name, switch.key_id) == (new.name, new.key_id)
    retired = SigningKey.objects.get(key_id=old.key_id)
    current = SigningKey.objects.get(key_id=new.key_id)
    assert retired.retired_at == current.valid_from == switch.created_at >= before.created_at
    assert current.retired_at is None
    assert retired.private_key is None  # a retired key can sign nothing more
    assert signing_key().key_id == new.key_id


def test_the_latest_checkpoint_served_after_a_rotation_is_the_switch(party, ledger_log):
    rotation = ledger_key_rotate()
    ops = party("MOPS Oława", "ops")

    latest = ops.get("/api/v1/ledger/checkpoint").json()

    assert latest["note"] == rotation.checkpoint.note


def test_a_second_rotation_chains_the_keys(ledger_log, ledger_caller, ledger_subject):
    first = ledger_key_rotate()
    grant_and_sequence(ledger_caller, ledger_subject)
    second = ledger_key_rotate()  # again at a size with no new entries since: one checkpoint per size and key
    third = ledger_key_rotate()

    assert verify_ledger().ok
    assert first.current.key_id == second.retired.key_id and second.current.key_id == third.retired.key_id
    assert list(SigningKey.objects.filter(retired_at__isnull=True).values_list("key_id", flat=True)) == [
        third.current.key_id
    ]
    assert Checkpoint.objects.filter(tree_size=6).count() == 3


@pytest.mark.parametrize("from_size", [3, 5])
def test_an_incremental_run_starts_from_a_checkpoint_of_either_key(ledger_log, ledger_caller, ledger_subject,
                                                                  from_size):
    ledger_key_rotate()
    grant_and_sequence(ledger_caller, ledger_subject, 2)
    root = Checkpoint.objects.filter(tree_size=from_size).values_list("root_hash", flat=True).first()

    report = verify_ledger(from_checkpoint=from_size, trusted_root=root)

    assert (report.ok, report.tree_size) == (True, 7)


# -- Refusals --------------------------------------------------------------------------


def sign_extra(key, size: int, *, at) -> Checkpoint:
    """A checkpoint of the recomputed tree at `size` signed by `key` (as a
    process still holding it would), inserted beside the log's own."""
    stored = Checkpoint.objects.filter(tree_size=size).order_by("pk").first()
    note = sign_note(checkpoint_body(settings.LEDGER_ORIGIN, size, bytes.fromhex(stored.root_hash)), key.name,
                     key.private_key)
    return Checkpoint.objects.create(
        tree_size=size, root_hash=stored.root_hash, key_name=key.name, key_id=key.key_id, note=note, created_at=at,
        frontier=stored.frontier,
    )


def test_a_checkpoint_signed_by_a_retired_key_after_its_retirement_fails_naming_the_key_and_time(
    ledger_log, ledger_caller, ledger_subject
):
    old = signing_key()
    rotation = ledger_key_rotate()
    grant_and_sequence(ledger_caller, ledger_subject)
    late = sign_extra(old, 6, at=rotation.checkpoint.created_at + timedelta(seconds=1))
    late.refresh_from_db()

    report = verify_ledger()

    retired_at = SigningKey.objects.get(key_id=old.key_id).retired_at
    assert report.problems == [
        f"checkpoint at tree size 6 (id {late.pk}): signed at {late.created_at.isoformat()} by key "
        f"{old.name}+{old.key_id}, which was retired at {retired_at.isoformat()}: a retired key signs no more "
        "checkpoints"
    ]
    assert not report.ok and not report.root_hash


def test_a_checkpoint_signed_before_its_key_was_valid_fails(ledger_log):
    rotation = ledger_key_rotate()
    early = sign_extra(rotation.current, 3, at=rotation.checkpoint.created_at - timedelta(seconds=1))
    early.refresh_from_db()
    valid_from = SigningKey.objects.get(key_id=rotation.current.key_id).valid_from

    report = verify_ledger()

    assert report.problems == [
        f"checkpoint at tree size 3 (id {early.pk}): signed at {early.created_at.isoformat()} by key "
        f"{rotation.current.label}, which is valid only from {valid_from.isoformat()}"
    ]


def test_a_retired_keys_signature_on_a_later_checkpoint_fails_it_whatever_key_it_records(
    ledger_log, ledger_caller, ledger_subject
):
    # A stolen retired key cannot pass a checkpoint off by co-signing it.
    old = signing_key()
    ledger_key_rotate()
    grant_and_sequence(ledger_caller, ledger_subject)
    checkpoint = Checkpoint.objects.get(tree_size=6)
    cosigned = sign_note(checkpoint.note[: checkpoint.note.index("\n\n") + 1], old.name, old.private_key)
    forged = Checkpoint.objects.create(
        tree_size=7, root_hash=checkpoint.root_hash, key_name=checkpoint.key_name, key_id=checkpoint.key_id,
        note=checkpoint.note + signature_lines(cosigned)[0] + "\n", created_at=timezone.now(), frontier=[],
    )

    problems = verify_ledger().problems

    assert f"checkpoint at tree size 7 (id {forged.pk}): signed at " in problems[0]
    assert f"by key {old.label}, which was retired at" in problems[0]


def test_a_checkpoint_naming_a_key_the_log_never_had_fails(ledger_log):
    stranger = Ed25519PrivateKey.generate()
    name = settings.LEDGER_KEY_NAME
    kid = key_id(name, stranger.public_key()).hex()
    stored = Checkpoint.objects.get(tree_size=4)
    note = sign_note(stored.note[: stored.note.index("\n\n") + 1], name, stranger)
    row = Checkpoint.objects.create(tree_size=4, root_hash=stored.root_hash, key_name=name, key_id=kid, note=note,
                                    created_at=timezone.now(), frontier=stored.frontier)

    report = verify_ledger()

    assert report.problems == [
        f"checkpoint at tree size 4 (id {row.pk}): it names key {name}+{kid}, which is not among the log's "
        "signing keys"
    ]


def test_a_checkpoint_not_signed_by_the_key_it_records_fails(ledger_log):
    old = signing_key()
    rotation = ledger_key_rotate()
    # The old key's checkpoint at 4, recorded as the new key's.
    stored = Checkpoint.objects.get(tree_size=4)
    row = Checkpoint.objects.create(tree_size=4, root_hash=stored.root_hash, key_name=old.name,
                                    key_id=rotation.current.key_id, note=stored.note,
                                    created_at=rotation.checkpoint.created_at, frontier=stored.frontier)

    report = verify_ledger()

    assert report.problems == [
        f"checkpoint at tree size 4 (id {row.pk}): the signed note does not verify "
        f"({UNVERIFIED_NOTE}: no signature by {rotation.current.name})"
    ]


def test_a_key_put_in_place_without_a_switch_checkpoint_is_reported(ledger_log, ledger_caller, ledger_subject):
    # As if a key row were swapped behind the rotation's back: the log goes on
    # verifying checkpoint by checkpoint, but nothing links the keys.
    old, now = signing_key(), timezone.now()
    SigningKey.objects.filter(key_id=old.key_id).update(retired_at=now, private_key=None)
    private = Ed25519PrivateKey.generate()
    kid = key_id(old.name, private.public_key()).hex()
    SigningKey.objects.create(key_name=old.name, key_id=kid, valid_from=now,
                              public_key=private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
                              private_key=private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
    grant_and_sequence(ledger_caller, ledger_subject)

    report = verify_ledger()

    assert report.problems == [
        f"key {old.name}+{kid} (valid from {now.isoformat()}) followed key {old.label}, but no checkpoint is "
        f"signed by both: a verifier holding only {old.label} cannot follow the log onto it"
    ]


def test_an_incremental_start_on_a_checkpoint_outside_its_keys_validity_is_refused(
    ledger_log, ledger_caller, ledger_subject
):
    rotation = ledger_key_rotate()
    grant_and_sequence(ledger_caller, ledger_subject)
    checkpoint = Checkpoint.objects.get(tree_size=6)
    before = rotation.checkpoint.created_at - timedelta(minutes=1)
    with tampered():
        Checkpoint.objects.filter(pk=checkpoint.pk).update(created_at=before)

    with pytest.raises(VerificationRefused) as refused:
        verify_ledger(from_checkpoint=6, trusted_root=checkpoint.root_hash)

    assert str(refused.value) == (
        f"checkpoint 6 is not consistent with the trusted root {checkpoint.root_hash}: signed at "
        f"{before.isoformat()} by key {rotation.current.label}, which is valid only from "
        f"{rotation.checkpoint.created_at.isoformat()}"
    )


# -- Any order of appends and rotations ----------------------------------------------------


@hypothesis_settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.integers(1, 3), st.just("rotate")), min_size=1, max_size=6))
def test_any_order_of_appends_and_rotations_verifies_each_checkpoint_under_its_key(
    ledger_caller, ledger_subject, steps
):
    with transaction.atomic():
        for step in steps:
            if step == "rotate":
                ledger_key_rotate()
            else:
                grant_and_sequence(ledger_caller, ledger_subject, step)
        keys = {row.key_id: row for row in SigningKey.objects.all()}

        report = verify_ledger()

        assert (report.ok, report.problems) == (True, [])
        assert report.checkpoints_checked == Checkpoint.objects.count()
        assert len(keys) == 1 + steps.count("rotate")
        for checkpoint in Checkpoint.objects.all():
            key = keys[checkpoint.key_id]
            public = Ed25519PrivateKey.from_private_bytes(bytes(key.private_key)).public_key() if key.private_key \
                else None
            if public is not None:  # the current key (the retired ones are erased): the note opens under it
                assert open_note(checkpoint.note, key.key_name, public).tree_size == checkpoint.tree_size
            assert key.valid_from <= checkpoint.created_at and (
                key.retired_at is None or checkpoint.created_at <= key.retired_at
            )
        transaction.set_rollback(True)
