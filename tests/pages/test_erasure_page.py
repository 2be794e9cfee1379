"""The erasure page (issue 12, item 2): the owner's DPO or a supervisor
chooses a reason and erases the person; others never see it; a court order
in force is named and stops it."""

import pytest

from agencies.callers import Caller
from consent_ledger.models import Subject
from consent_ledger.services import Terms, legal_basis_assert

from .helpers import staff_client


def erasure_url(world) -> str:
    return f"/app/subjects/{world.subject.id}/erasure"


def test_the_dpo_is_offered_erasure_on_the_persons_page_and_a_caseworker_is_not(world):
    link = f'href="{erasure_url(world)}"'

    assert link in staff_client(world.mops_dpo).get(f"/app/subjects/{world.subject.id}").content.decode()
    assert link not in staff_client(world.mops_worker).get(f"/app/subjects/{world.subject.id}").content.decode()


def test_a_reason_is_required_then_the_person_is_erased(world):
    client = staff_client(world.mops_dpo)
    assert "Osoba poprosiła o usunięcie danych" in client.get(erasure_url(world)).content.decode()

    missing = client.post(erasure_url(world), {})
    assert missing.status_code == 422 and 'href="#id_reason_0"' in missing.content.decode()
    assert Subject.objects.get(pk=world.subject.pk).erased_at is None

    done = client.post(erasure_url(world), {"reason": "subject_request"}, follow=True)

    assert done.redirect_chain == [("/app/subjects/", 302)]
    assert "Dane osoby zostały usunięte" in done.content.decode()
    subject = Subject.objects.get(pk=world.subject.pk)
    assert (subject.erased_at is not None, subject.erasure_reason) == (True, "subject_request")
    assert client.get(f"/app/subjects/{world.subject.id}").status_code == 410


@pytest.mark.parametrize("who", ["mops_worker", "shelter_worker"])
def test_no_one_else_reaches_the_page(world, who):
    client = staff_client(getattr(world, who))

    assert client.get(erasure_url(world)).status_code in (403, 404)
    assert client.post(erasure_url(world), {"reason": "subject_request"}).status_code in (403, 404)
    assert Subject.objects.get(pk=world.subject.pk).erased_at is None


def test_a_court_order_in_force_is_named_and_nothing_is_erased(world):
    legal_basis_assert(caller=Caller(agency=world.mops, user=world.mops_worker), subject_id=world.subject.id,
                       basis="court_order", reference="III RC 5/26",
                       terms=Terms(categories=["identity"], purposes=["case_coordination"],
                                   agencies=[str(world.mops.id)]))

    response = staff_client(world.mops_dpo).post(erasure_url(world), {"reason": "subject_request"})

    assert response.status_code == 409
    assert "Postanowienie sądu" in response.content.decode()
    assert Subject.objects.get(pk=world.subject.pk).erased_at is None
