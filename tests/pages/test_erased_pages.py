"""The staff pages after a person's erasure (issue 12, item 2): the referral
shows its metadata and says the person's data was erased; the person's page
answers 410 Gone with that message; neither shows anything of her."""

import pytest

from agencies.callers import Caller
from consent_ledger.erasure import subject_erase

from .helpers import staff_client
from .world import PERSON_DATA

ERASED_PL = "Dane tej osoby zostały usunięte"


@pytest.fixture
def erased(world):
    subject_erase(caller=Caller(agency=world.mops, user=world.mops_dpo), subject_id=world.subject.id,
                  reason="subject_request")
    return world


def assert_nothing_of_her(html: str) -> None:
    assert [value for value in PERSON_DATA if value in html] == []


def test_the_referral_page_shows_metadata_and_says_the_data_was_erased(erased):
    for user in (erased.shelter_worker, erased.mops_worker):
        response = staff_client(user).get(f"/app/referrals/{erased.referral.id}")

        assert response.status_code == 200
        html = response.content.decode()
        assert ERASED_PL in html and "Schronienie" in html
        assert_nothing_of_her(html)


def test_the_persons_page_answers_410_saying_so(erased):
    response = staff_client(erased.mops_worker).get(f"/app/subjects/{erased.subject.id}")

    assert response.status_code == 410
    html = response.content.decode()
    assert ERASED_PL in html
    assert_nothing_of_her(html)
