"""The caseworker's referral pages through Django's test client: what they
show, what they record in the accounting, and what they refuse."""

import re

import pytest
from django.test import override_settings

from consent_ledger.models import EntryKind, LedgerEntry
from consent_ledger.sealing import unsealed
from referrals.models import CaseUpdate

from .helpers import staff_client
from .world import PERSON_DATA, send_more


def disclosures(subject):
    return list(LedgerEntry.objects.filter(subject=subject, kind=EntryKind.DISCLOSURE).order_by("recorded_at", "id"))


def page_of(client, referral, language="pl"):
    return client.get(f"/app/referrals/{referral.id}", {"lang": language})


@pytest.mark.parametrize("language, titles, withheld", [
    ("pl", ["Opis sytuacji i cel skierowania", "Ocena ryzyka", "Umówione hasło", "Imię (imiona)"],
     ["Zdrowie — brak podstawy do udostępnienia", "Dane kontaktowe — brak podstawy do udostępnienia",
      "Dane demograficzne — brak podstawy do udostępnienia"]),
    ("en", ["Summary", "Risk assessment", "Agreed code word", "Given name(s)"],
     ["Health — no basis to share", "Contact details — no basis to share", "Demographics — no basis to share"]),
])
def test_the_recipient_reads_the_disclosed_referral_with_every_withheld_category_named(world, language, titles, withheld):
    html = page_of(staff_client(world.shelter_worker), world.referral, language).content.decode()

    for title in titles + withheld:
        assert title in html, title
    assert "Anna" in html and "konwalia" in html  # consented
    assert "Astma" not in html and "+48 600 100 200" not in html  # withheld


def test_every_disclosure_of_the_page_is_in_the_accounting_with_the_referrals_purpose(world):
    before = len(disclosures(world.subject))

    page_of(staff_client(world.shelter_worker), world.referral)

    new = disclosures(world.subject)[before:]
    assert new, "the page read person data without a disclosure entry"
    for entry in new:
        assert entry.body["purpose"] == world.referral.purpose
        assert entry.body["recipient"] == str(world.shelter.id)
        assert entry.actor == f"user:{world.shelter_worker.pk}"
    assert "health" in new[0].body["withheld_categories"]


def test_case_updates_are_disclosed_with_the_referrals_purpose(world):
    shelter = staff_client(world.shelter_worker)
    shelter.post(f"/app/referrals/{world.referral.id}/notes", {"text": "Przyjęta na noc; dzieci w szkole."})
    before = len(disclosures(world.subject))

    html = page_of(staff_client(world.mops_worker), world.referral).content.decode()

    assert "Przyjęta na noc" in html  # the reply basis: her consent to the shelter covers case notes
    new = disclosures(world.subject)[before:]
    assert new and all(e.body["purpose"] == "referral" and e.body["recipient"] == str(world.mops.id) for e in new)


def test_worklists_show_metadata_only_and_disclose_nothing(world, django_assert_max_num_queries):
    send_more(world, 3)
    client = staff_client(world.shelter_worker)
    before = len(disclosures(world.subject))

    with django_assert_max_num_queries(20):
        inbox = client.get("/app/referrals/inbox").content.decode()
    outbox = staff_client(world.mops_worker).get("/app/referrals/outbox").content.decode()

    assert len(disclosures(world.subject)) == before
    for html in (inbox, outbox):
        assert "Schronienie" in html
        assert not [value for value in PERSON_DATA if value in html]
    assert "Schronisko Bezpieczny Dom</td>" in outbox and "MOPS Wrocław</td>" in inbox


def test_worklist_filters_sorting_and_pagination(world):
    send_more(world, 30)
    client = staff_client(world.shelter_worker)

    first = client.get("/app/referrals/inbox").content.decode()
    shelter_only = client.get("/app/referrals/inbox", {"service": "shelter"}).content.decode()
    urgent = client.get("/app/referrals/inbox", {"urgency": "urgent", "sort": "due"}).content.decode()
    second = client.get("/app/referrals/inbox", {"page": "2"}).content.decode()
    tampered = client.get("/app/referrals/inbox", {"status": "<script>", "page": "x"})

    assert "1 – 25 z 31" in first or "1 do 25 z 31" in first
    assert first.count('href="/app/referrals/') >= 25 and 'rel="next"' in first
    assert shelter_only.count('<tr class="govuk-table__row">') == 2  # header + the one shelter referral
    assert urgent.count('<tr class="govuk-table__row">') == 2  # header + the one urgent referral
    assert 'rel="prev"' in second
    assert tampered.status_code == 200


def test_another_agencys_referral_is_a_404_page(world):
    response = page_of(staff_client(world.outsider_worker), world.referral)

    assert response.status_code == 404
    assert "Nie znaleziono strony" in response.content.decode()
    assert staff_client(world.outsider_worker).post(
        f"/app/referrals/{world.referral.id}/transition", {"to": "cancelled", "if_match": world.referral.etag, "reason": "x"}
    ).status_code == 404


def test_a_role_without_referral_pages_gets_the_403_page_and_a_home_without_dead_links(world):
    client = staff_client(world.shelter_coordinator)

    assert client.get("/app/referrals/inbox").status_code == 403
    home = client.get("/app/").content.decode()
    assert 'href="/app/placements/"' in home and "/app/referrals/" not in home
    for href in set(re.findall(r'href="(/[^"]*)"', home)):
        if not href.startswith("/static/"):
            assert client.get(href).status_code in (200, 302), href


def test_the_recipient_moves_the_referral_on_through_the_forms(world):
    client = staff_client(world.shelter_worker)
    referral = world.referral

    response = client.post(f"/app/referrals/{referral.id}/transition", {"to": "received", "if_match": referral.etag})

    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "received"
    html = page_of(client, referral).content.decode()
    assert "Skierowanie ma teraz status: Odebrane." in html
    assert "Przyjmij skierowanie" in html and referral.etag.replace('"', "&quot;") in html


def test_a_stale_if_match_is_explained_and_what_was_typed_is_kept(world):
    client = staff_client(world.shelter_worker)
    referral = world.referral
    stale = referral.etag
    client.post(f"/app/referrals/{referral.id}/transition", {"to": "received", "if_match": stale})

    response = client.post(
        f"/app/referrals/{referral.id}/transition",
        {"to": "rejected", "if_match": stale, "reason": "Brak miejsc do końca miesiąca."},
    )

    assert response.status_code == 412
    html = response.content.decode()
    assert "govuk-error-summary" in html and "ktoś zmienił to skierowanie" in html.lower()
    assert "Brak miejsc do końca miesiąca." in html
    referral.refresh_from_db()
    assert referral.status == "received"


def test_a_step_no_longer_allowed_keeps_the_text_to_copy(world):
    client = staff_client(world.mops_worker)
    referral = world.referral
    staff_client(world.shelter_worker).post(f"/app/referrals/{referral.id}/transition", {"to": "rejected", "if_match": referral.etag, "reason": "Brak miejsc."})
    referral.refresh_from_db()

    response = client.post(
        f"/app/referrals/{referral.id}/transition", {"to": "cancelled", "if_match": referral.etag, "reason": "Znalazła inne miejsce."}
    )

    assert response.status_code == 409
    assert "Znalazła inne miejsce." in response.content.decode()


def test_rejecting_without_a_reason_points_to_the_field(world):
    response = staff_client(world.shelter_worker).post(
        f"/app/referrals/{world.referral.id}/transition", {"to": "rejected", "if_match": world.referral.etag, "reason": " "}
    )

    assert response.status_code == 422
    assert 'href="#reason-rejected"' in response.content.decode()


def test_completing_with_an_outcome(world):
    client = staff_client(world.shelter_worker)
    referral = world.referral
    for to in ("received", "accepted", "in-progress"):
        referral.refresh_from_db()
        assert client.post(f"/app/referrals/{referral.id}/transition", {"to": to, "if_match": referral.etag}).status_code == 302
    referral.refresh_from_db()

    response = client.post(f"/app/referrals/{referral.id}/transition", {
        "to": "completed", "if_match": referral.etag, "success": "no", "outcome_reason": "services_no_longer_needed",
    })

    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "completed" and referral.outcome == {"success": False, "reason": "services_no_longer_needed"}


def test_an_empty_note_is_refused_and_a_note_is_added(world):
    client = staff_client(world.shelter_worker)

    empty = client.post(f"/app/referrals/{world.referral.id}/notes", {"text": "  "})
    added = client.post(f"/app/referrals/{world.referral.id}/notes", {"text": "Spotkanie w czwartek."})

    assert empty.status_code == 422 and 'href="#id_text"' in empty.content.decode()
    assert added.status_code == 302
    assert unsealed(CaseUpdate.objects.get(referral=world.referral).payload) == {"text": "Spotkanie w czwartek."}


def test_no_person_data_in_titles(world):
    for user in (world.shelter_worker, world.mops_worker):
        html = page_of(staff_client(user), world.referral).content.decode()
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)

        assert not [value for value in PERSON_DATA if value in title]
        assert "Skierowanie: Schronienie" in title


@override_settings(PAGES_PAGE_SIZE=2)
def test_the_page_size_is_a_setting(world):
    send_more(world, 3)

    html = staff_client(world.shelter_worker).get("/app/referrals/inbox").content.decode()

    assert 'rel="next"' in html


def test_htmx_gets_the_worklist_results_alone(world):
    send_more(world, 2)

    response = staff_client(world.shelter_worker).get("/app/referrals/inbox", {"urgency": "urgent"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "<html" not in html and 'id="worklist-results"' in html
    assert html.count('<tr class="govuk-table__row">') == 2
    assert 'hx-swap-oob="innerHTML"' in html and "Znaleziono 1 skierowanie" in html
