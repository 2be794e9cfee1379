"""The data-protection officer's status page (/app/dpo/): the ledger's latest
checkpoint and last verification, what waits for review, and the way to a
person's accounting; and the verification results it shows being recorded."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from agencies.services import user_create
from agencies.callers import Caller
from consent_ledger.models import Checkpoint, VerificationRun
from consent_ledger.services import subject_create
from consent_ledger.sequencer import ledger_sequence_all

from .helpers import staff_client
from .world import PASSWORD


@pytest.fixture
def supervisor(world):
    return user_create(agency=world.mops, username="mops.kierownik", password=PASSWORD, role="supervisor")


def test_verify_ledger_records_its_result_for_the_page(world):
    ledger_sequence_all()

    call_command("verify_ledger")

    run = VerificationRun.objects.get()
    assert run.ok and run.trigger == "command" and run.problems == []
    assert run.tree_size > 0 and run.checkpoints_checked >= 1


def test_the_page_shows_the_latest_checkpoint_and_the_last_verification(world):
    ledger_sequence_all()
    call_command("verify_ledger")
    run = VerificationRun.objects.get()
    checkpoint = Checkpoint.objects.order_by("-tree_size").first()

    html = staff_client(world.mops_dpo, "en").get("/app/dpo/").content.decode()

    assert "Intact" in html
    assert f"{run.tree_size} entries recomputed, {run.checkpoints_checked} signed checkpoints checked" in html
    assert f"UTC, {checkpoint.tree_size} entries" in html and checkpoint.note in html


def test_a_failed_verification_is_shown_with_its_problems(world):
    VerificationRun.objects.create(
        finished_at="2026-11-01T03:00:00Z", ok=False, tree_size=7, checkpoints_checked=2, trigger="schedule",
        problems=["entry 5: stored leaf hash differs from the recomputed one"],
    )

    html = staff_client(world.mops_dpo, "en").get("/app/dpo/").content.decode()

    assert "Problems found" in html and "entry 5: stored leaf hash differs" in html


def test_the_dpo_verifies_the_ledger_from_the_page(world):
    ledger_sequence_all()
    client = staff_client(world.mops_dpo, "en")

    response = client.post("/app/dpo/verify", follow=True)

    assert VerificationRun.objects.get().trigger == "page"
    assert "Intact" in response.content.decode()


def test_the_accounting_is_found_by_case_reference_never_through_the_url(world):
    client = staff_client(world.mops_dpo, "en")

    response = client.post("/app/dpo/", {"ref": world.subject.references.get().external_ref})

    assert response.status_code == 302
    assert response.url == f"/ledger/subjects/{world.subject.id}/disclosures"


def test_another_agencys_case_reference_is_not_found(world):
    outsiders = Caller(agency=world.outsider, user=world.outsider_worker)
    subject_create(caller=outsiders, external_ref="OPS/OLAWA/1", profile={"languages": ["pl"]})

    response = staff_client(world.mops_dpo, "en").post("/app/dpo/", {"ref": "OPS/OLAWA/1"})

    assert response.status_code == 422
    assert "Your agency has no person with this case reference." in response.content.decode()


def test_the_supervisor_sees_the_status_without_the_dpos_tools(world, supervisor):
    client = staff_client(supervisor, "en")

    html = client.get("/app/dpo/").content.decode()

    assert "Latest signed checkpoint" in html and "Emergency disclosures to review" in html
    assert "Verify the ledger now" not in html and "Show the accounting" not in html
    assert client.post("/app/dpo/verify").status_code == 403


@pytest.mark.parametrize("user", ["mops_worker", "shelter_coordinator"])
def test_other_roles_get_the_403_page(world, user):
    assert staff_client(getattr(world, user)).get("/app/dpo/").status_code == 403


@pytest.mark.parametrize("path", ["/ledger/emergency-reviews", "/ledger/notices"])
def test_the_review_pages_are_403_for_roles_outside_review(world, path):
    assert staff_client(world.shelter_coordinator).get(path).status_code == 403
    assert staff_client(world.mops_dpo).get(path).status_code == 200


def test_a_file_posted_to_a_page_may_exceed_the_api_body_limit_up_to_its_own(world, settings):
    settings.API_MAX_BODY_BYTES, settings.PAGES_MAX_UPLOAD_BYTES = 1000, 5000
    client = staff_client(world.mops_dpo, "en")
    scan = lambda size: SimpleUploadedFile("scan.jpg", b"x" * size, content_type="image/jpeg")  # noqa: E731

    accepted = client.post("/app/dpo/", {"ref": "none", "scan": scan(3000)})
    refused = client.post("/app/dpo/", {"ref": "none", "scan": scan(6000)})
    json_refused = client.post("/app/dpo/", data="x" * 3000, content_type="application/json")

    assert accepted.status_code == 422  # reached the page: not a person with this reference
    assert refused.status_code == 413 and "The file is too large" in refused.content.decode()
    assert json_refused.status_code == 413 and json_refused["Content-Type"] == "application/problem+json"
