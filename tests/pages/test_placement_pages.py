"""The employment placement pages through Django's test client: what the
coordinator and the employer see, what a page view records in the
accounting, that the forms have the API's effects, and what is refused.

The scene (build_placements): the Wrocław CIS coordinates placements of
Halina, whose record it owns, at a hotel and a bakery. She consented to
more than an employer may ever receive (health, safe contact and
demographics besides identity, contact and employment): the allow-list of
DESIGN.md 4.6 must still hold on the page."""

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import reverse

from agencies.callers import Caller
from agencies.models import OutboxEvent
from agencies.services import agency_create, user_create
from consent_ledger.models import EntryKind, LedgerEntry
from consent_ledger.sealing import unsealed
from consent_ledger.services import Terms, consent_grant, subject_create
from referrals.blue_card.deadlines import add_months
from referrals.placements import services, stats
from referrals.placements.models import (
    Placement,
    PlacementCheckIn,
    PlacementMonth,
    PlacementTransition,
)
from referrals.working_days import today_in_poland
from tests.conftest import ALL_SCOPES, Party

from .helpers import inline_code, post_forms, staff_client
from .world import EVIDENCE, PASSWORD

pytestmark = pytest.mark.django_db

PURPOSE = "employment_placement"
ALLOWED = {"identity", "contact", "employment"}
PROFILE = {
    "person": {"given_name": "Halina", "family_name": "Wiśniewska", "birth_date": "1968-04-12"},
    "contact": {"phone": "+48 601 222 333", "email": "halina@example.org"},
    "safe_contact": {"channel": "sms", "codeword": "konwalia", "do_not_contact_via": ["home_visit"]},
    "languages": ["pl", "uk"],
    "gender": "female",
}
# Consented to the employers: more than an employer may ever receive.
CONSENTED = ["identity", "contact", "employment", "health", "safe_contact", "demographics"]
ROLE = "pomoc kuchenna"
NOTES = "Źle sypia od rozprawy; terapeutka we wtorki."
# What only the choke point may put on a page (the role is the employment terms).
PERSON_DATA = ["Halina", "Wiśniewska", "+48 601 222 333", "halina@example.org", "konwalia", ROLE, NOTES]
# What an employer never receives, whatever the consent says.
NEVER_FOR_EMPLOYERS = ["konwalia", "home_visit", "pl, uk", NOTES]
API_SCOPES = [*ALL_SCOPES, "placements:read", "placements:write"]


@dataclass
class Scene:
    cis: object
    hotel: object
    bakery: object
    other_cis: object
    coordinator: object
    caseworker: object
    hotel_contact: object
    bakery_contact: object
    other_coordinator: object
    subject: object
    agreements: dict

    def caller(self, user):
        membership = user.memberships.get()
        return Caller(agency=membership.agency, user=user)

    def contact_of(self, employer):
        return self.hotel_contact if employer == self.hotel else self.bakery_contact


def months_ago(months: int):
    return add_months(today_in_poland().replace(day=1), -months)


def build_placements() -> Scene:
    """The scene, through the services."""
    cis = agency_create(name="CIS Wrocław", kind="cis")
    hotel = agency_create(name="Hotel Piast", kind="employer")
    bakery = agency_create(name="Piekarnia Sowa", kind="employer")
    other_cis = agency_create(name="CIS Oława", kind="cis")
    users = {
        "coordinator": user_create(agency=cis, username="cis.joanna", password=PASSWORD, role="coordinator"),
        "caseworker": user_create(agency=cis, username="cis.marta", password=PASSWORD, role="caseworker"),
        "hotel_contact": user_create(agency=hotel, username="hotel.beata", password=PASSWORD, role="employer_contact"),
        "bakery_contact": user_create(agency=bakery, username="bakery.jan", password=PASSWORD, role="employer_contact"),
        "other_coordinator": user_create(agency=other_cis, username="olawa.ola", password=PASSWORD, role="coordinator"),
    }
    caller = Caller(agency=cis, user=users["coordinator"])
    subject = subject_create(caller=caller, external_ref="CIS/7/2030", profile=PROFILE)
    today = today_in_poland()
    agreements = {}
    for employer in (hotel, bakery):
        consent_grant(
            caller=caller, subject_id=subject.id, form="written", grantor="subject", evidence_sha256=EVIDENCE,
            terms=Terms(categories=CONSENTED, purposes=[PURPOSE], agencies=[str(employer.id)]),
        )
        agreements[employer.id] = services.agreement_create(
            caller=caller, employer_id=employer.id, valid_from=today - timedelta(days=365),
            valid_until=today + timedelta(days=365), roles=[ROLE, "pokojowa"], places=40,
        )
    return Scene(cis=cis, hotel=hotel, bakery=bakery, other_cis=other_cis, subject=subject, agreements=agreements,
                 **users)


# The steps that take a new placement to each status, by side.
WAY_TO = {
    "proposed": [],
    "confirmed": [("employer", "confirmed", "")],
    "active": [("employer", "confirmed", ""), ("coordinator", "active", "")],
    "completed": [("employer", "confirmed", ""), ("coordinator", "active", ""), ("coordinator", "completed", "")],
    "ended_early": [("employer", "confirmed", ""), ("coordinator", "active", ""),
                    ("employer", "ended_early", "attendance")],
}


def placement(scene: Scene, status="proposed", employer=None, *, started=2, ended_on=None) -> Placement:
    """A placement of Halina's starting `started` months ago, taken to
    `status` by the side whose step it is (ending on `ended_on`, default today)."""
    employer = employer or scene.hotel
    coordinating = scene.caller(scene.coordinator)
    created = services.placement_create(
        caller=coordinating, subject_id=scene.subject.id, employer_id=employer.id,
        agreement_id=scene.agreements[employer.id].id, coordinator_id=scene.coordinator.id, role=ROLE,
        hours_per_week=30, start_on=months_ago(started), therapist_agency_id=None,
    )
    for side, to, reason in WAY_TO[status]:
        caller = scene.caller(scene.contact_of(employer)) if side == "employer" else coordinating
        services.placement_transition(caller=caller, placement_id=created.id, to=to, reason=reason,
                                      ended_on=ended_on if to in ("completed", "ended_early") else None)
    created.refresh_from_db()
    return created


def api_party(client, make_client, obtain_token, agency) -> Party:
    """The agency's own system calling the API (a client-credentials token)."""
    application, secret = make_client(agency, API_SCOPES)
    return Party(client, agency, application, obtain_token(application, secret))


@pytest.fixture
def scene(db):
    return build_placements()


def disclosures(subject):
    return list(LedgerEntry.objects.filter(subject=subject, kind=EntryKind.DISCLOSURE).order_by("recorded_at", "id"))


def events_of(placement_id) -> list[tuple]:
    return [(e.type, e.status, sorted(e.agencies)) for e in OutboxEvent.objects.filter(object_id=placement_id).order_by("seq")]


def history_of(placement_id) -> list[tuple]:
    return list(PlacementTransition.objects.filter(placement_id=placement_id).order_by("at", "id")
                .values_list("from_status", "to_status", "reason", "agency_id"))


def page(client, placement_id, language="pl"):
    return client.get(f"/app/placements/{placement_id}", {"lang": language})


def title_of(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.DOTALL).group(1)


def error_links(html: str) -> list[str]:
    summary = html.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'href="#([^"]+)"', summary)


# --- The list ---------------------------------------------------------------------------------


def test_the_employer_lists_only_its_own_placements_and_the_list_discloses_nothing(
        scene, django_assert_max_num_queries):
    at_hotel, at_bakery = placement(scene, "proposed"), placement(scene, "active", scene.bakery)
    for status in ("active", "completed", "confirmed"):
        placement(scene, status)
    before = len(disclosures(scene.subject))
    coordinating = staff_client(scene.coordinator)

    hotel = staff_client(scene.hotel_contact).get("/app/placements/").content.decode()
    with django_assert_max_num_queries(15):  # one query for the page of rows, whatever their number
        coordinator = coordinating.get("/app/placements/").content.decode()

    assert f"/app/placements/{at_hotel.id}" in hotel and str(at_bakery.id) not in hotel
    assert "Czeka na Twoje potwierdzenie" in hotel and "CIS Wrocław" in hotel and "Piekarnia Sowa" not in hotel
    assert f"/app/placements/{at_hotel.id}" in coordinator and f"/app/placements/{at_bakery.id}" in coordinator
    assert "Czeka na potwierdzenie pracodawcy" in coordinator
    assert len(disclosures(scene.subject)) == before
    for html in (hotel, coordinator):
        assert not [value for value in PERSON_DATA if value in html]
        assert inline_code(html) == []


def test_the_list_filters_by_status_pages_and_flags_an_overdue_check_in(scene, settings):
    settings.PAGES_PAGE_SIZE = 2
    active = placement(scene, "active")
    proposed = [placement(scene, "proposed") for _ in range(2)]
    client = staff_client(scene.coordinator)

    first = client.get("/app/placements/").content.decode()
    second = client.get("/app/placements/", {"page": "2"}).content.decode()
    only_active = client.get("/app/placements/", {"status": "active"}).content.decode()
    tampered = client.get("/app/placements/", {"status": "<script>", "page": "x"})

    assert 'rel="next"' in first and 'rel="prev"' in second
    assert str(active.id) in only_active and not [p for p in proposed if str(p.id) in only_active]
    # The month two months back ended over a month ago: its check-in is past its deadline.
    assert "Po terminie" in only_active
    assert tampered.status_code == 200


# --- Tenancy and roles ------------------------------------------------------------------------


def test_another_agencys_placement_is_a_404_page_and_nothing_is_written(scene):
    at_hotel = placement(scene, "active")
    ledger, events = LedgerEntry.objects.count(), OutboxEvent.objects.count()

    for user in (scene.bakery_contact, scene.other_coordinator):
        client = staff_client(user)
        response = page(client, at_hotel.id)
        assert response.status_code == 404 and "Nie znaleziono strony" in response.content.decode()
        posts = {
            "transition": {"to": "ended_early", "if_match": at_hotel.etag, "reason": "attendance"},
            "check-in": {"month": f"{months_ago(1):%Y-%m}", "days_worked": "18", "days_absent": "0",
                         "employer_feedback": "4"},
            "outcome": {"outcome": "hired", "if_match": at_hotel.etag},
        }
        for action, body in posts.items():
            assert client.post(f"/app/placements/{at_hotel.id}/{action}", body).status_code == 404, action
    assert (LedgerEntry.objects.count(), OutboxEvent.objects.count()) == (ledger, events)
    assert page(staff_client(scene.hotel_contact), uuid.uuid4()).status_code == 404


def test_roles_without_placement_work_get_the_403_page(scene):
    at_hotel = placement(scene, "proposed")
    caseworker = staff_client(scene.caseworker)
    employer = staff_client(scene.hotel_contact)

    # The API knows agencies and scopes, not roles; the pages keep placements to the
    # coordinators and employers' contacts (DESIGN.md 7), so a caseworker of the CIS sees none.
    for path in ("/app/placements/", f"/app/placements/{at_hotel.id}", "/app/placements/stats",
                 "/app/placements/stats.csv"):
        assert caseworker.get(path).status_code == 403, path
    assert caseworker.post(f"/app/placements/{at_hotel.id}/transition",
                           {"to": "withdrawn", "if_match": at_hotel.etag}).status_code == 403
    # The employer's contact reaches her placements and nothing else of the hub's staff pages.
    for path in ("/app/placements/stats", "/app/placements/stats.csv", "/app/referrals/inbox",
                 "/app/referrals/outbox", "/app/referrals/new", f"/app/referrals/{at_hotel.id}",
                 f"/app/subjects/{scene.subject.id}", "/app/teams/", f"/app/plans/{uuid.uuid4()}",
                 f"/app/blue-cards/{uuid.uuid4()}", "/app/dpo/"):
        assert employer.get(path).status_code == 403, path
    assert employer.get("/app/placements/").status_code == 200
    at_hotel.refresh_from_db()
    assert at_hotel.status == "proposed"


# --- The disclosed placement ------------------------------------------------------------------


def test_the_employers_page_discloses_only_identity_contact_and_employment(scene):
    active = placement(scene, "active")
    coordinating = scene.caller(scene.coordinator)
    services.placement_check_in_add(caller=coordinating, placement_id=active.id, month=f"{months_ago(2):%Y-%m}",
                                    coordinator_notes=NOTES, who5=[2, 3, 2, 1, 3], timepoint="start")
    before = len(disclosures(scene.subject))

    html = page(staff_client(scene.hotel_contact), active.id).content.decode()

    assert "Halina" in html and "+48 601 222 333" in html and ROLE in html  # identity, contact, employment
    assert not [value for value in NEVER_FOR_EMPLOYERS if value in html]
    assert "Indeks WHO-5" not in html and "Terapeut" not in html
    for category in ("Zdrowie", "Bezpieczny kontakt", "Dane demograficzne", "Zdrowie psychiczne",
                     "Notatki z pracy z osobą", "Ocena ryzyka"):
        assert f"{category} — brak podstawy do udostępnienia" in html, category
    new = disclosures(scene.subject)[before:]
    assert len(new) == 1
    entry = new[0]
    assert entry.body["purpose"] == PURPOSE and entry.body["recipient"] == str(scene.hotel.id)
    assert entry.actor == f"user:{scene.hotel_contact.pk}"
    assert set(entry.body["categories"]) <= ALLOWED and "employment" in entry.body["categories"]


def test_the_coordinators_page_shows_everything_and_the_employers_data_is_in_the_accounting(scene):
    active = placement(scene, "active")
    services.placement_check_in_add(caller=scene.caller(scene.hotel_contact), placement_id=active.id,
                                    month=f"{months_ago(2):%Y-%m}", days_worked=17, days_absent=2, employer_feedback=4)
    services.placement_check_in_add(caller=scene.caller(scene.coordinator), placement_id=active.id,
                                    month=f"{months_ago(2):%Y-%m}", coordinator_notes=NOTES, who5=[2, 3, 2, 1, 3],
                                    timepoint="start")
    before = len(disclosures(scene.subject))

    html = page(staff_client(scene.coordinator), active.id, "en").content.decode()

    assert NOTES in html and "konwalia" in html and ROLE in html
    assert "I have felt calm and relaxed" in html and "44" in html  # WHO-5: (2+3+2+1+3) x 4
    assert "4 — Good" in html and ">17<" in html
    new = disclosures(scene.subject)[before:]
    assert new, "the employer's check-in reached the coordinator without a disclosure entry"
    assert all(e.body["purpose"] == PURPOSE and e.body["recipient"] == str(scene.cis.id) for e in new)


def test_titles_hold_no_person_data(scene):
    active = placement(scene, "completed")
    pages = [("/app/placements/", scene.hotel_contact), (f"/app/placements/{active.id}", scene.hotel_contact),
             (f"/app/placements/{active.id}", scene.coordinator), ("/app/placements/stats", scene.coordinator)]
    refused = staff_client(scene.hotel_contact).post(f"/app/placements/{active.id}/outcome", {"outcome": "hired"})
    titles = [title_of(staff_client(user).get(path).content.decode()) for path, user in pages]
    titles.append(title_of(refused.content.decode()))

    assert "Praktyka zawodowa" in titles[1] and "Błąd" in titles[-1]
    for title in titles:
        assert not [value for value in PERSON_DATA if value in title], title


def test_every_form_posts_with_a_csrf_token_and_the_steps_carry_the_etag(scene):
    active = placement(scene, "active")

    html = page(staff_client(scene.coordinator), active.id).content.decode()

    forms = post_forms(html)
    assert forms and all("csrfmiddlewaretoken" in form["fields"] for form in forms)
    steps = [f for f in forms if f["action"].endswith("/transition")]
    assert {"to", "if_match"} <= set.intersection(*(f["fields"] for f in steps))
    assert active.etag.replace('"', "&quot;") in html
    assert inline_code(html) == []


# --- The forms have the API's effects ------------------------------------------------------------


def test_confirming_through_the_form_has_the_apis_effects(scene, client, make_client, obtain_token):
    by_page, by_api = placement(scene), placement(scene)
    hotel_system = api_party(client, make_client, obtain_token, scene.hotel)
    ledger = LedgerEntry.objects.count()

    employer = staff_client(scene.hotel_contact)
    response = employer.post(f"/app/placements/{by_page.id}/transition", {"to": "confirmed", "if_match": by_page.etag})
    api = hotel_system.post(f"/api/v1/placements/{by_api.id}/transition", {"status": "confirmed"},
                            HTTP_IF_MATCH=by_api.etag)

    assert response.status_code == 302 and api.status_code == 200
    by_page.refresh_from_db()
    by_api.refresh_from_db()
    assert (by_page.status, by_page.version) == (by_api.status, by_api.version) == ("confirmed", 2)
    assert [t[:3] for t in history_of(by_page.id)] == [t[:3] for t in history_of(by_api.id)]
    assert history_of(by_page.id)[-1][3] == scene.hotel.id
    assert events_of(by_page.id) == events_of(by_api.id)
    assert LedgerEntry.objects.count() == ledger  # a change of state discloses nothing
    assert "Praktyka ma teraz status: Potwierdzona przez pracodawcę." in page(employer, by_page.id).content.decode()


def test_declining_needs_a_reason_then_declines_as_the_api_would(scene):
    proposed = placement(scene)
    client = staff_client(scene.hotel_contact)

    missing = client.post(f"/app/placements/{proposed.id}/transition", {"to": "declined", "if_match": proposed.etag})
    declined = client.post(f"/app/placements/{proposed.id}/transition",
                           {"to": "declined", "if_match": proposed.etag, "reason": "role_filled"})

    assert missing.status_code == 422 and error_links(missing.content.decode()) == ["reason-declined"]
    assert "Wybierz powód" in missing.content.decode()
    assert declined.status_code == 302
    proposed.refresh_from_db()
    assert (proposed.status, proposed.status_reason) == ("declined", "role_filled")
    assert [e[0] for e in events_of(proposed.id)] == ["placement.proposed", "placement.declined"]


def test_the_coordinator_starts_completes_and_the_last_day_is_checked(scene):
    confirmed = placement(scene, "confirmed")
    client = staff_client(scene.coordinator)

    assert client.post(f"/app/placements/{confirmed.id}/transition",
                       {"to": "active", "if_match": confirmed.etag}).status_code == 302
    confirmed.refresh_from_db()
    future = today_in_poland() + timedelta(days=3)
    too_late = client.post(f"/app/placements/{confirmed.id}/transition", {
        "to": "completed", "if_match": confirmed.etag, "ended_on_day": future.day, "ended_on_month": future.month,
        "ended_on_year": future.year})
    not_a_date = client.post(f"/app/placements/{confirmed.id}/transition", {
        "to": "completed", "if_match": confirmed.etag, "ended_on_day": "31", "ended_on_month": "2",
        "ended_on_year": "2026"})
    last_day = today_in_poland() - timedelta(days=1)
    done = client.post(f"/app/placements/{confirmed.id}/transition", {
        "to": "completed", "if_match": confirmed.etag, "ended_on_day": last_day.day,
        "ended_on_month": last_day.month, "ended_on_year": last_day.year})

    assert too_late.status_code == 422 and error_links(too_late.content.decode()) == ["ended_on_day-completed"]
    assert f'value="{future.year}"' in too_late.content.decode()
    assert not_a_date.status_code == 422 and error_links(not_a_date.content.decode()) == ["ended_on_day-completed"]
    assert done.status_code == 302
    confirmed.refresh_from_db()
    assert (confirmed.status, confirmed.ended_on) == ("completed", last_day)
    assert PlacementMonth.objects.filter(placement=confirmed).exists()


def test_the_employers_check_in_through_the_form_has_the_apis_effects(scene, client, make_client, obtain_token):
    by_page, by_api = placement(scene, "active"), placement(scene, "active")
    hotel_system = api_party(client, make_client, obtain_token, scene.hotel)
    month = f"{months_ago(2):%Y-%m}"

    employer = staff_client(scene.hotel_contact)
    response = employer.post(f"/app/placements/{by_page.id}/check-in", {
        "month": month, "days_worked": "18", "days_absent": "1", "employer_feedback": "4"})
    api = hotel_system.post(f"/api/v1/placements/{by_api.id}/check-ins/", {
        "month": month, "days_worked": 18, "days_absent": 1, "employer_feedback": 4})

    assert response.status_code == 302 and api.status_code == 201
    fields = ("side", "month", "timepoint", "days_worked", "days_absent", "employer_feedback", "coordinator_notes",
              "who5", "recorded_by_id")
    assert (PlacementCheckIn.objects.filter(placement=by_page).values(*fields).get()
            == PlacementCheckIn.objects.filter(placement=by_api).values(*fields).get())
    by_page.refresh_from_db()
    by_api.refresh_from_db()
    assert by_page.version == by_api.version
    assert PlacementMonth.objects.get(placement=by_page, month=months_ago(2)).checked_in_at is not None
    assert events_of(by_page.id) == events_of(by_api.id)
    html = page(employer, by_page.id).content.decode()
    assert f"Twoje podsumowanie za {month} zostało zapisane." in html


def test_the_coordinators_check_in_records_notes_and_the_who5_and_is_never_the_employers(scene):
    active = placement(scene, "active")
    version = active.version
    answers = {f"who5_{n}": str(a) for n, a in zip(range(1, 6), (3, 4, 2, 2, 5))}

    response = staff_client(scene.coordinator).post(f"/app/placements/{active.id}/check-in", {
        "month": f"{months_ago(2):%Y-%m}", "timepoint": "start", "coordinator_notes": NOTES, **answers})

    assert response.status_code == 302
    check_in = PlacementCheckIn.objects.get(placement=active)
    assert (check_in.side, check_in.timepoint, unsealed(check_in.who5), unsealed(check_in.coordinator_notes)) == (
        "coordinator", "start", [3, 4, 2, 2, 5], NOTES)
    active.refresh_from_db()
    assert active.version == version  # the employer cannot even tell it was recorded
    assert OutboxEvent.objects.filter(object_id=active.id, type="placement.check_in_recorded").get().agencies == [
        str(scene.cis.id)]


def test_recording_a_hire_through_the_form(scene, client, make_client, obtain_token):
    by_page, by_api = placement(scene, "completed"), placement(scene, "completed")
    hotel_system = api_party(client, make_client, obtain_token, scene.hotel)

    response = staff_client(scene.hotel_contact).post(f"/app/placements/{by_page.id}/outcome", {
        "if_match": by_page.etag, "outcome": "hired", "contract_type": "employment_contract", "fte": "0,75",
        "contract_months": "12", "not_hired_reason": "no_vacancy"})
    api = hotel_system.post(f"/api/v1/placements/{by_api.id}/outcome", {
        "outcome": "hired", "contract_type": "employment_contract", "fte": 0.75, "contract_months": 12},
        HTTP_IF_MATCH=by_api.etag)

    assert response.status_code == 302 and api.status_code == 200
    fields = ("status", "version", "outcome", "contract_type", "fte", "contract_months", "outcome_reason",
              "outcome_recorded_by")
    assert (Placement.objects.filter(pk=by_page.id).values(*fields).get()
            == Placement.objects.filter(pk=by_api.id).values(*fields).get())
    assert events_of(by_page.id) == events_of(by_api.id)
    html = page(staff_client(scene.coordinator), by_page.id).content.decode()
    assert "Zatrudniona" in html and "Umowa o pracę" in html and "0,75" in html
    assert "Liczy się jako zatrudnienie (zasada EFS)" in html


def test_the_outcome_form_states_the_esf_rule_and_refuses_an_incomplete_hire(scene):
    ended = placement(scene, "ended_early")
    client = staff_client(scene.coordinator)

    form = page(client, ended.id).content.decode()
    response = client.post(f"/app/placements/{ended.id}/outcome", {
        "if_match": ended.etag, "outcome": "hired", "fte": "pół"})
    open_ended_civil = client.post(f"/app/placements/{ended.id}/outcome", {
        "if_match": ended.etag, "outcome": "hired", "contract_type": "civil_law_contract", "fte": "1",
        "open_ended": "on"})
    not_hired = client.post(f"/app/placements/{ended.id}/outcome", {"if_match": ended.etag, "outcome": "ended_early"})

    assert "co najmniej 3 miesiące i co najmniej na pół etatu" in form
    assert response.status_code == 422
    assert error_links(response.content.decode()) == ["outcome-contract_type", "outcome-fte", "outcome-contract_months"]
    assert 'value="pół"' in response.content.decode()
    assert open_ended_civil.status_code == 422
    assert error_links(open_ended_civil.content.decode()) == ["outcome-contract_months"]
    assert not_hired.status_code == 302  # the reason defaults to the one it ended with
    ended.refresh_from_db()
    assert (ended.outcome, ended.outcome_reason) == ("ended_early", "attendance")


def test_the_coordinator_records_the_follow_up_90_days_after_the_last_day(scene):
    too_soon = placement(scene, "completed")
    long_ago = placement(scene, "completed", started=8, ended_on=months_ago(5) - timedelta(days=1))
    client = staff_client(scene.coordinator)

    early = client.post(f"/app/placements/{too_soon.id}/follow-up", {"still_employed": "yes"})
    employer = staff_client(scene.hotel_contact).post(f"/app/placements/{long_ago.id}/follow-up",
                                                     {"still_employed": "no"})
    recorded = client.post(f"/app/placements/{long_ago.id}/follow-up", {"still_employed": "yes"})

    assert early.status_code == 422 and error_links(early.content.decode()) == ["follow-up-followed_up_on_day"]
    assert employer.status_code == 403  # the coordinating agency's step (the service says so)
    assert recorded.status_code == 302
    long_ago.refresh_from_db()
    too_soon.refresh_from_db()
    assert (long_ago.employed_90d, long_ago.followed_up_on) == (True, today_in_poland())
    assert too_soon.employed_90d is None
    assert "Badanie trwałości po 90 dniach" in page(client, long_ago.id).content.decode()


# --- Conflicts and validation -----------------------------------------------------------------


def test_a_stale_if_match_is_explained_and_what_was_typed_is_kept(scene):
    active = placement(scene, "active")
    stale = active.etag
    services.placement_check_in_add(caller=scene.caller(scene.hotel_contact), placement_id=active.id,
                                    month=f"{months_ago(2):%Y-%m}", days_worked=10, days_absent=0, employer_feedback=3)

    response = staff_client(scene.coordinator).post(f"/app/placements/{active.id}/transition", {
        "to": "ended_early", "if_match": stale, "reason": "mutual_agreement", "ended_on_day": "3",
        "ended_on_month": str(months_ago(1).month), "ended_on_year": str(months_ago(1).year)})

    assert response.status_code == 412
    html = response.content.decode()
    assert "ktoś zmienił tę praktykę" in html.lower()
    assert '<option value="mutual_agreement" selected>' in html and 'value="3"' in html
    active.refresh_from_db()
    assert active.status == "active"
    assert active.etag.replace('"', "&quot;") in html  # the form now carries the current ETag


def test_a_stale_outcome_keeps_the_hire_typed(scene):
    completed = placement(scene, "completed")
    stale = completed.etag
    services.placement_check_in_add(caller=scene.caller(scene.hotel_contact), placement_id=completed.id,
                                    month=f"{months_ago(2):%Y-%m}", days_worked=10, days_absent=0, employer_feedback=3)

    response = staff_client(scene.coordinator).post(f"/app/placements/{completed.id}/outcome", {
        "if_match": stale, "outcome": "hired", "contract_type": "civil_law_contract", "fte": "0,6",
        "contract_months": "4"})

    assert response.status_code == 412
    html = response.content.decode()
    assert "ktoś zmienił tę praktykę" in html.lower()
    assert 'value="0,6"' in html and 'value="4"' in html and '<option value="civil_law_contract" selected>' in html
    completed.refresh_from_db()
    assert completed.outcome == ""


def test_a_step_no_longer_possible_shows_what_was_chosen(scene):
    proposed = placement(scene)
    services.placement_transition(caller=scene.caller(scene.coordinator), placement_id=proposed.id, to="withdrawn")
    proposed.refresh_from_db()

    response = staff_client(scene.hotel_contact).post(f"/app/placements/{proposed.id}/transition", {
        "to": "declined", "if_match": proposed.etag, "reason": "schedule_mismatch"})

    assert response.status_code == 409
    html = response.content.decode()
    assert "Godziny pracy nie pasują" in html and "nie zapisano" in html


@pytest.mark.parametrize("body, fields", [
    ({"month": "2026/03", "days_worked": "18", "days_absent": "0", "employer_feedback": "4"}, ["check-in-month"]),
    ({"month": "2026-03", "days_worked": "osiemnaście", "days_absent": "-1", "employer_feedback": "7"},
     ["check-in-days_worked", "check-in-days_absent", "check-in-employer_feedback"]),
    ({"month": "2099-01", "days_worked": "18", "days_absent": "0", "employer_feedback": "4"}, ["check-in-month"]),
    ({"month": "{month}", "days_worked": "25", "days_absent": "10", "employer_feedback": "4"}, ["check-in-days_absent"]),
])
def test_the_employers_check_in_errors_point_to_the_fields_and_keep_what_was_typed(scene, body, fields):
    active = placement(scene, "active")
    body = {k: v.format(month=f"{months_ago(2):%Y-%m}") for k, v in body.items()}

    response = staff_client(scene.hotel_contact).post(f"/app/placements/{active.id}/check-in", body)

    assert response.status_code == 422
    html = response.content.decode()
    assert error_links(html) == fields
    assert f'value="{body["month"]}"' in html
    assert not PlacementCheckIn.objects.exists()


def test_the_coordinators_who5_errors_point_to_each_item(scene):
    active = placement(scene, "active")
    client = staff_client(scene.coordinator)

    partial = client.post(f"/app/placements/{active.id}/check-in", {
        "month": f"{months_ago(1):%Y-%m}", "who5_1": "3", "who5_2": "9", "who5_4": "1"})
    nothing = client.post(f"/app/placements/{active.id}/check-in", {"month": f"{months_ago(1):%Y-%m}"})
    start_without = client.post(f"/app/placements/{active.id}/check-in", {
        "month": f"{months_ago(2):%Y-%m}", "timepoint": "start", "coordinator_notes": "Rozmowa."})

    assert partial.status_code == 422
    assert error_links(partial.content.decode()) == ["check-in-who5_2", "check-in-who5_3", "check-in-who5_5"]
    assert 'id="check-in-who5_4-5" name="who5_4" type="radio" value="1" checked' in partial.content.decode()
    assert error_links(nothing.content.decode()) == ["check-in-coordinator_notes"]
    assert error_links(start_without.content.decode()) == ["check-in-who5_1"]
    assert "Rozmowa." in start_without.content.decode()
    assert not PlacementCheckIn.objects.exists()


def test_a_second_check_in_for_a_month_is_refused_at_the_month(scene):
    active = placement(scene, "active")
    client = staff_client(scene.hotel_contact)
    body = {"month": f"{months_ago(2):%Y-%m}", "days_worked": "18", "days_absent": "0", "employer_feedback": "5"}

    assert client.post(f"/app/placements/{active.id}/check-in", body).status_code == 302
    again = client.post(f"/app/placements/{active.id}/check-in", {**body, "days_worked": "17"})

    assert again.status_code == 409 and error_links(again.content.decode()) == ["check-in-month"]
    assert PlacementCheckIn.objects.get().days_worked == 18


# --- The statistics -------------------------------------------------------------------------------


def stats_cells(html: str) -> dict[str, str]:
    return {key: re.sub(r"<[^>]+>", "", value).strip()
            for key, value in re.findall(r'data-cell="([a-z0-9_]+)">(.*?)</(?:td|dd)>', html, re.DOTALL)}


def test_the_statistics_show_small_cells_as_suppressed_never_a_small_count(scene):
    placement(scene, "active")
    placement(scene, "completed")

    html = staff_client(scene.coordinator).get("/app/placements/stats").content.decode()

    cells = stats_cells(html)
    for key in stats.CELLS:
        assert cells[key] in ("mniej niż 5", "nie pokazano, aby nie dało się odtworzyć małej liczby z pozostałych"), key
    assert not re.search(r"\d", "".join(cells[key].replace("mniej niż 5", "") for key in stats.CELLS))
    assert "Nie pokazano" in cells["conversion_rate"] and "ci95" not in cells
    assert cells["benchmark"] == "38%"


def test_the_statistics_are_the_apis_with_their_filters(scene):
    for status in ("completed", "completed", "completed", "completed", "completed", "completed", "active"):
        placement(scene, status)
    hired = Placement.objects.filter(status="completed")[:5]
    for one in hired:
        services.placement_outcome_record(caller=scene.caller(scene.hotel_contact), placement_id=one.id,
                                          outcome="hired", contract_type="employment_contract", fte=1,
                                          contract_months=None)
    expected = stats.placement_stats_for_agency(scene.cis)
    client = staff_client(scene.coordinator)

    cells = stats_cells(client.get("/app/placements/stats", {"lang": "en"}).content.decode())
    later = stats_cells(client.get("/app/placements/stats", {"from": f"{today_in_poland():%Y-%m-%d}", "lang": "pl"}).content.decode())

    shown = {key: expected[key] for key in stats.CELLS if isinstance(expected[key], int)}
    assert shown, "the scene should publish some counts"
    for key in stats.CELLS:
        if key in shown:
            assert cells[key] == str(shown[key]), key
        else:
            assert cells[key] == {"<5": "fewer than 5", "#": (
                "not shown, so that a small number cannot be worked out from the others")}[expected[key]], key
    assert later["started"] == "mniej niż 5"  # none started today


def test_the_statistics_filters_are_checked_and_the_csv_is_the_apis(scene):
    placement(scene, "active")
    client = staff_client(scene.coordinator)

    backwards = client.get("/app/placements/stats", {"from": "2026-06-01", "to": "2026-01-01"}).content.decode()
    bad_cohort = client.get("/app/placements/stats", {"cohort": "2026Q5"}).content.decode()
    csv = client.get("/app/placements/stats.csv", {"cohort": f"{months_ago(2).year}Q{(months_ago(2).month - 1) // 3 + 1}"})

    assert error_links(backwards) == ["stats-from"] and "data-cell" not in backwards
    assert error_links(bad_cohort) == ["stats-cohort"]
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert "attachment" in csv["Content-Disposition"]
    header, values = csv.content.decode().strip().split("\r\n")
    assert header.startswith("Od,Do,Kohorta") and "<5" in values
    assert reverse("placement-stats-csv") in client.get("/app/placements/stats").content.decode()


def test_the_page_names_reverse_to_the_pages(scene):
    assert reverse("placement-worklist") == "/app/placements/"
    assert reverse("placement-stats-page") == "/app/placements/stats"
