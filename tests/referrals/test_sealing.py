"""Person data sealed at rest per subject (issue 12, item 1): every sealed
column holds ciphertext only, which opens under its own subject's key, in its
own column, and nowhere else; a key-encryption key rotates without touching
the data."""

import json
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import override_settings

from consent_ledger import sealing
from consent_ledger.models import Subject, SubjectKey
from referrals.models import CaseUpdate, Referral
from tests.clear_text import clear_text_hits

from . import blue_card_world, placements_world, plans_world
from .conftest import PAYLOAD, PROFILE, REASON, WITHHOLD, detail, send, updates_url

GOAL = "Stays away from the Zabrodzie estate"
NOTES = "Flashbacks at night after the hearing"


def sealed_columns():
    return [(model, field) for model in apps.get_models() for field in model._meta.get_fields()
            if isinstance(field, sealing.SealedField)]


@pytest.fixture
def everything_sealed(party, ops, shelter, subject_id):
    """Some of each kind of person data: a referral with its reason and a case
    update; a plan's goal; a coordinator's check-in; Blue Card forms."""
    referral_id = send(ops, shelter, subject_id, withhold_categories=WITHHOLD).json()["id"]
    assert shelter.post(updates_url(referral_id), {"kind": "note", "payload": {"text": "Keys handed over."}}).status_code == 201
    plans = plans_world.World(party)
    plans.blue_card_basis()
    plan = plans_world.created(plans.school.post(plans_world.PLANS, {
        "subject": str(plans.subject.id), "stage": "crisis", "team": str(plans.gdp.id),
    }))["id"]
    assert plans.school.post(plans_world.goals_url(plan), {"title": GOAL, "category": "education"}).status_code == 201
    placements = placements_world.World(party)
    placements.consent(placements.hotel)
    placement = placements.placement("active")
    check_in = {"month": placements_world.month_text(placements_world.months_ago(1)), "coordinator_notes": NOTES,
                "who5": [1, 2, 3, 4, 5]}
    assert placements.cis.post(placements_world.check_ins_url(placement), check_in).status_code == 201
    blue_card_world.World(party).with_forms()
    return referral_id


def test_every_sealed_column_holds_ciphertext_that_opens_only_as_itself(everything_sealed):
    assert clear_text_hits([PROFILE["person"]["family_name"], PAYLOAD["risk"]["notes"], REASON, "Keys handed over",
                            GOAL, NOTES, "Kowalska"]) == []
    seen = set()
    for model, field in sealed_columns():
        for value in model._base_manager.values_list(field.attname, flat=True):
            if value in (None, ""):
                continue
            assert isinstance(value, sealing.Sealed) and value.ciphertext[:1] == sealing.VERSION
            sealing.unsealed(value)  # opens under its subject's key, with its own label
            seen.add(field.label)
    # Each kind of person data written above was sealed and read back.
    assert {"consent_ledger.subject.profile", "referrals.referral.payload", "referrals.referral.reason",
            "referrals.caseupdate.payload", "referrals.goal.title", "referrals.placementcheckin.coordinator_notes",
            "referrals.placementcheckin.who5", "referrals.bluecardprocedure.forms_of_violence",
            "referrals.bluecardstep.content"} <= seen


def test_a_ciphertext_moved_to_another_row_or_column_does_not_open(ops, shelter, subject_id, referral_id):
    other = ops.post("/api/v1/subjects/", {"external_ref": "W/2", "profile": PROFILE}).json()["id"]
    referral = Referral.objects.get(pk=referral_id)
    moved_across_subjects = sealing.Sealed(Subject.objects.get(pk=other).profile.ciphertext, referral.payload.label)
    moved_across_columns = sealing.Sealed(referral.payload.ciphertext, referral.reason.label)

    for moved in (moved_across_subjects, moved_across_columns):
        with pytest.raises(ValueError, match="does not open"):
            sealing.unsealed(moved)


def test_a_sealed_value_never_prints_or_serialises_its_content(referral_id):
    payload = Referral.objects.get(pk=referral_id).payload

    assert (str(payload), repr(payload)) == ("<sealed>", "<sealed>")
    with pytest.raises(TypeError):
        json.dumps(payload)


def test_writes_that_bypass_sealing_are_refused(referral_id):
    with pytest.raises(TypeError, match="sealed at save"):
        Referral.objects.filter(pk=referral_id).update(reason="in clear")
    with pytest.raises(TypeError, match="sealed at save"):
        CaseUpdate.objects.filter(referral_id=referral_id).update(payload={"text": "in clear"})


def test_the_reader_gets_the_clear_text_through_the_choke_point(shelter, referral_id):
    body = shelter.get(detail(referral_id)).json()

    assert body["payload"]["risk"] == PAYLOAD["risk"] and body["reason"] == REASON


def test_a_kek_rotation_rewraps_every_data_key_and_the_old_kek_can_go(ops, subject_id, referral_id):
    assert set(SubjectKey.objects.values_list("kek_id", flat=True)) == {"test-1"}
    out = StringIO()

    with override_settings(SEALING_CURRENT_KEK="test-2"):
        call_command("rewrap_subject_keys", "--json", stdout=out)
        again = StringIO()
        call_command("rewrap_subject_keys", "--json", stdout=again)

    assert json.loads(out.getvalue()) == {"kek": "test-2", "rewrapped": {"test-1": SubjectKey.objects.count()}}
    assert json.loads(again.getvalue()) == {"kek": "test-2", "rewrapped": {}}
    with override_settings(SEALING_KEKS={"test-2": b"u" * 32}, SEALING_CURRENT_KEK="test-2"):
        sealing.key_cache.clear()
        assert sealing.unsealed(Subject.objects.get(pk=subject_id).profile) == PROFILE
        assert ops.get(detail(referral_id)).json()["payload"] == PAYLOAD


def test_the_hub_does_not_start_without_its_key_encryption_keys():
    from consent_ledger.checks import key_store_apart, sealing_settings

    with override_settings(SEALING_KEKS={}):
        assert [e.id for e in sealing_settings(None)] == ["consent_ledger.E002"]
    with override_settings(SEALING_KEKS={"short": b"x" * 16, "ok": b"y" * 32}, SEALING_CURRENT_KEK="gone"):
        assert [e.id for e in sealing_settings(None)] == ["consent_ledger.E002", "consent_ledger.E003"]
    with override_settings(KEY_STORE_DATABASE="default"):
        assert [w.id for w in key_store_apart(None)] == ["consent_ledger.W001"]
    assert sealing_settings(None) == [] and key_store_apart(None) == []
