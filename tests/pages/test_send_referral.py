"""The send-referral journey (/app/referrals/new) through Django's test
client: each question page, the check-answers page with its basis check,
and sending — the same service, checks, ledger entries and events as the
API's POST referrals/."""

import re
from html import unescape

import pytest

from agencies.callers import Caller
from agencies.models import OutboxEvent
from agencies.services import client_create
from consent_ledger.models import Subject, SubjectReference, Withholding
from consent_ledger.sealing import unsealed
from consent_ledger.selectors import disclosure_list_for_subject
from consent_ledger.services import Terms, consent_grant, subject_create
from hub.api.errors import ValidationFailed
from hub.api.models import IdempotencyRecord
from referrals.journey import SESSION_DRAFTS, draft_send
from referrals.models import Referral
from tests.conftest import bearer

from .helpers import inline_code, post_forms, staff_client
from .world import EVIDENCE, PASSWORD

NEW = "/app/referrals/new"
PROFILE = {
    "person": {"given_name": "Maria", "family_name": "Kowalczyk"},
    "contact": {"phone": "+48 601 222 333"},
    "safe_contact": {"channel": "phone_call", "codeword": "fiołek"},
}
# What is typed in these tests about a person: never in a URL or a title.
TYPED = ["Maria", "Kowalczyk", "601 222 333", "fiołek", "Uciekła z domu", "Astma", "Groził nożem", "Bije ją"]
PAYLOAD_FORM = {
    "summary": "Uciekła z domu z dwójką dzieci.", "risk__level": "high", "risk__notes": "Groził nożem.",
    "health__notes": "Astma.", "confidential_address_required": "yes",
}
PAYLOAD = {
    "summary": "Uciekła z domu z dwójką dzieci.", "risk": {"level": "high", "notes": "Groził nożem."},
    "health": {"notes": "Astma."}, "confidential_address_required": True,
}
REASON = "Bije ją od miesięcy."


# --- factories (through the services) ---------------------------------------------------


def person(world, *, reference="MOPS/21/2026", consented=("identity", "safe_contact", "case_notes", "risk")):
    """A person the MOPS registered, who consented to the shelter receiving `consented` for a referral."""
    caller = Caller(agency=world.mops, user=world.mops_worker)
    subject = subject_create(caller=caller, external_ref=reference, profile=PROFILE)
    if consented:
        consent_grant(
            caller=caller, subject_id=subject.id, form="written", grantor="subject", evidence_sha256=EVIDENCE,
            terms=Terms(categories=list(consented), purposes=["referral"], agencies=[str(world.shelter.id)]),
        )
    return subject


def api_party(client, agency):
    """The agency's system: an OAuth2 client and a token from the real token endpoint."""
    issued = client_create(agency=agency, scopes=["referrals:write", "referrals:read", "subjects:read"])
    from tests.conftest import basic_auth

    response = client.post("/o/token/", {"grant_type": "client_credentials"},
                           HTTP_AUTHORIZATION=basic_auth(issued.application.client_id, issued.client_secret))
    return response.json()["access_token"]


# --- driving the journey ---------------------------------------------------------------


class Journey:
    """One journey of `client`: its pages by step name, and every URL and
    title it went through (to check none carries person data)."""

    def __init__(self, client, start=NEW):
        self.client, self.urls, self.titles = client, [], []
        response = self.get(start)
        assert response.status_code == 302, response
        self.base = response["Location"].rsplit("/", 1)[0]

    def url(self, step):
        return f"{self.base}/{step}"

    def _seen(self, path, response):
        self.urls.append(path)
        if response.status_code in (301, 302):
            self.urls.append(response["Location"])
        title = re.search(r"<title>(.*?)</title>", response.content.decode(), re.DOTALL)
        if title:
            self.titles.append(unescape(title.group(1)))

    def get(self, path, **params):
        response = self.client.get(path, params)
        self._seen(path, response)
        return response

    def page(self, step):
        return self.get(self.url(step))

    def post(self, step, data):
        response = self.client.post(self.url(step), data)
        self._seen(self.url(step), response)
        return response

    def to_check(self, world, subject, *, details=None, reason=REASON, service="shelter"):
        assert self.post("who", {"who": "existing", "subject": str(subject.id)})["Location"] == self.url("service")
        answer = {"service": service, "to_agency": str(world.shelter.id), "urgency": "urgent", "purpose": "referral",
                  "reason": reason}
        assert self.post("service", answer)["Location"] == self.url("details")
        assert self.post("details", details or PAYLOAD_FORM)["Location"] == self.url("check")
        return self.page("check")


def html(response):
    return response.content.decode()


def summary_links(response) -> list[tuple[str, str]]:
    """The error summary's (href, text) pairs."""
    block = re.search(r'class="govuk-error-summary".*?</ul>', html(response), re.DOTALL)
    assert block, "no error summary"
    return [(href, unescape(text).strip()) for href, text in re.findall(r'<a href="([^"]*)">(.*?)</a>', block.group(0), re.DOTALL)]


def field_value(response, name):
    page = html(response)
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    if found:
        return unescape(found.group(1))
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    return unescape(found.group(1)) if found else None


@pytest.fixture
def mops(world):
    return staff_client(world.mops_worker)


# --- the steps, their errors, and what she typed ------------------------------------------


def test_the_journey_starts_at_who_with_the_agencys_register_by_case_reference_only(world, mops):
    subject = person(world)
    journey = Journey(mops)

    page = html(journey.page("who"))

    assert "MOPS/7/2026" in page and "MOPS/21/2026" in page
    assert f'value="{subject.id}"' in page
    assert "never by name" not in page and "nigdy według nazwiska" in page  # the hint says why
    for value in ["Anna", "Nowak", "Maria", "Kowalczyk"]:
        assert value not in page
    assert inline_code(page) == []
    assert all(form["fields"] >= {"csrfmiddlewaretoken"} for form in post_forms(page))


def test_who_without_an_answer_is_explained_and_linked(world, mops):
    journey = Journey(mops)

    response = journey.post("who", {})

    assert response.status_code == 422
    assert summary_links(response) == [("#who", "Wybierz, kogo dotyczy skierowanie")]
    assert "<title>Błąd: Kogo dotyczy skierowanie?" in html(response)
    response = journey.post("who", {"who": "existing"})
    assert summary_links(response) == [("#subject", "Wybierz numer sprawy osoby")]
    assert 'value="existing" checked' in html(response)


def test_the_new_person_page_keeps_what_she_typed_and_links_each_problem(world, mops):
    journey = Journey(mops)
    journey.post("who", {"who": "new"})

    response = journey.post("person", {
        "external_ref": "", "person__given_name": "Maria", "person__pesel": "12345678901",
        "person__birth_date-day": "30", "person__birth_date-month": "2", "person__birth_date-year": "1990",
    })

    assert response.status_code == 422
    assert summary_links(response) == [
        ("#external_ref", "Wpisz numer sprawy"),
        ("#person__birth_date-day", "W polu „Data urodzenia” wpisz prawdziwą datę, na przykład 27 3 2007"),
        ("#person__pesel", "W polu „Numer PESEL” jest nieprawidłowy numer PESEL: sprawdź 11 cyfr"),
    ]
    assert field_value(response, "person__given_name") == "Maria"
    assert field_value(response, "person__birth_date-day") == "30"
    assert 'aria-describedby="person__pesel-error"' in html(response)
    assert not Subject.objects.filter(owner=world.mops).exclude(pk=world.subject.pk).exists()
    # Back on the page later, what she typed is still there.
    assert field_value(journey.page("person"), "person__pesel") == "12345678901"


def test_the_service_page_explains_each_missing_answer_and_keeps_the_reason(world, mops):
    journey = Journey(mops)
    journey.post("who", {"who": "existing", "subject": str(world.subject.id)})

    response = journey.post("service", {"service": "", "to_agency": "", "purpose": "referral", "reason": REASON})

    assert response.status_code == 422
    assert summary_links(response) == [
        ("#service", "Wybierz usługę"), ("#to_agency", "Wybierz instytucję, do której wysyłasz skierowanie"),
        ("#urgency", "Wybierz, jak pilne jest skierowanie"),
    ]
    assert field_value(response, "reason") == REASON
    page = html(journey.page("service"))
    assert "w ciągu 2 godzin" in page and "w ciągu 24 godzin" in page  # each urgency's deadline
    assert "Schronisko Bezpieczny Dom (Ośrodek wsparcia / schronienie)" in page  # by name and kind
    assert "MOPS Wrocław" not in page.split('id="to_agency"')[1].split("</select>")[0]  # not to itself


def test_the_details_page_is_the_services_schema_in_polish_with_labels_and_keeps_what_was_typed(world, mops):
    journey = Journey(mops)
    journey.post("who", {"who": "existing", "subject": str(world.subject.id)})
    journey.post("service", {"service": "shelter", "to_agency": str(world.shelter.id), "urgency": "urgent",
                             "purpose": "referral"})

    page = html(journey.page("details"))
    assert "Opis sytuacji i cel skierowania (wymagane)" in page
    assert '<legend class="govuk-fieldset__legend govuk-fieldset__legend--m">Ocena ryzyka</legend>' in page
    assert ">Wysoki</label>" in page and ">high</label>" not in page
    assert ">Porusza się na wózku</label>" in page

    response = journey.post("details", {"summary": "", "risk__notes": "Groził nożem.", "risk__level": "high"})

    assert response.status_code == 422
    assert summary_links(response) == [("#summary", "Uzupełnij pole „Opis sytuacji i cel skierowania”")]
    assert field_value(response, "risk__notes") == "Groził nożem."
    assert 'value="high" checked' in html(response)
    assert "Groził nożem." in html(journey.page("details"))  # kept in the draft
    assert journey.page("check")["Location"] == journey.url("details")  # nothing to check yet


def test_english_pages_use_the_schemas_english_titles_and_labels(world):
    client = staff_client(world.mops_worker, "en")
    journey = Journey(client)
    journey.post("who", {"who": "existing", "subject": str(world.subject.id)})
    journey.post("service", {"service": "shelter", "to_agency": str(world.shelter.id), "urgency": "urgent",
                             "purpose": "referral"})

    page = html(journey.page("details"))

    assert "Summary (required)" in page and ">High</label>" in page and ">Uses a wheelchair</label>" in page
    assert "Why the person is referred" in page  # the schema's description as the hint


def test_a_later_step_cannot_be_opened_before_the_earlier_ones_are_answered(world, mops):
    journey = Journey(mops)

    for step in ("service", "details", "check", "person"):
        assert journey.page(step)["Location"] == journey.url("who"), step


def test_add_another_keeps_what_is_typed_and_shows_one_more_item(world, mops):
    journey = Journey(mops)
    journey.post("who", {"who": "existing", "subject": str(world.subject.id)})
    journey.post("service", {"service": "legal_aid", "to_agency": str(world.shelter.id), "urgency": "routine",
                             "purpose": "referral"})

    response = journey.post("details", {"summary": "Sprawa rozwodowa", "proceedings__0__authority": "SR Wrocław",
                                        "add": "proceedings"})

    assert response["Location"] == journey.url("details") + "#proceedings"
    page = html(journey.page("details"))
    assert 'name="proceedings__1__authority"' in page and 'value="SR Wrocław"' in page


# --- check answers: the basis check -----------------------------------------------------------


def test_check_answers_lists_everything_with_change_links_and_enum_labels(world, mops):
    subject = person(world)
    journey = Journey(mops)

    response = journey.to_check(world, subject)

    page = html(response)
    assert response.status_code == 200
    for text in ["MOPS/21/2026", "Schronienie", "Schronisko Bezpieczny Dom", "Pilne", "Skierowanie", REASON,
                 "Uciekła z domu z dwójką dzieci.", "Poziom ryzyka", "Wysoki", "Wymagany utajniony adres"]:
        assert text in page, text
    assert ">high<" not in page
    for step in ("who", "service", "details"):
        assert f'href="{journey.url(step)}"' in page
    # A person chosen from the register: her stored profile is not read for this page.
    for value in ["Maria", "Kowalczyk", "fiołek", "601 222 333"]:
        assert value not in page
    assert list(disclosure_list_for_subject(subject)) == []
    assert inline_code(page) == []


def categories_in_table(response) -> dict[str, str]:
    rows = re.findall(r'<tr class="govuk-table__row" id="category-([a-z_]+)">(.*?)</tr>', html(response), re.DOTALL)
    return {code: "may" if "Może otrzymać" in row else "no" for code, row in rows}


def test_each_category_says_whether_the_recipient_may_receive_it_and_on_which_basis(world, mops):
    subject = person(world)

    response = Journey(mops).to_check(world, subject)

    assert categories_in_table(response) == {
        "identity": "may", "contact": "no", "safe_contact": "may", "health": "no", "case_notes": "may", "risk": "may",
    }
    page = html(response)
    assert "Podstawa: Zgoda osoby, od" in page
    row = re.search(r'id="category-health">(.*?)</tr>', page, re.DOTALL).group(1)
    assert "Brak podstawy" in row and "Szczegóły skierowania" in row


def test_a_category_without_a_basis_blocks_sending_with_the_categories_the_api_names(world, mops, client):
    subject = person(world)
    journey = Journey(mops)
    journey.to_check(world, subject)
    token = api_party(client, world.mops)
    api = client.post("/api/v1/referrals/", {
        "subject": str(subject.id), "to_agency": str(world.shelter.id), "service": "shelter", "urgency": "urgent",
        "purpose": "referral", "payload": PAYLOAD, "reason": REASON,
    }, content_type="application/json", **bearer(token))
    assert api.status_code == 422
    api_categories = {c for error in api.json()["errors"] for c in error.get("categories", [])}

    response = journey.post("check", {})

    assert response.status_code == 422
    named = summary_links(response)
    assert {href.removeprefix("#withhold-") for href, _ in named} == api_categories == {"contact", "health"}
    assert [text for _, text in named] == [
        "Schronisko Bezpieczny Dom nie ma podstawy do otrzymania: „Dane kontaktowe”. Zatrzymaj te dane albo odnotuj zgodę osoby",
        "Schronisko Bezpieczny Dom nie ma podstawy do otrzymania: „Zdrowie”. Zatrzymaj te dane albo odnotuj zgodę osoby",
    ]
    assert {code for code, may in categories_in_table(response).items() if may == "no"} == api_categories
    assert not Referral.objects.filter(subject=subject).exists()
    # Everything typed is still there.
    assert "Groził nożem." in html(journey.page("check")) and field_value(journey.page("service"), "reason") == REASON


def test_the_check_offers_to_record_consent_for_exactly_what_is_missing(world, mops):
    subject = person(world)
    journey = Journey(mops)

    page = unescape(html(journey.to_check(world, subject)))

    link = re.search(r'href="(/app/subjects/[^"]+)"', page).group(1)
    assert link.startswith(f"/app/subjects/{subject.id}/consents/new?")
    assert f"agency={world.shelter.id}" in link and "purpose=referral" in link
    assert "category=contact&category=health" in link
    assert "next=%2Fapp%2Freferrals%2Fnew%2F" in link and link.endswith("%2Fcheck")
    assert mops.get(link).status_code == 200  # the consent page takes it from here


def test_after_consent_is_recorded_the_check_says_the_recipient_may_receive_it(world, mops):
    subject = person(world)
    journey = Journey(mops)
    journey.to_check(world, subject)
    consent_grant(
        caller=Caller(agency=world.mops, user=world.mops_worker), subject_id=subject.id, form="written",
        grantor="subject", evidence_sha256=EVIDENCE,
        terms=Terms(categories=["health", "contact"], purposes=["referral"], agencies=[str(world.shelter.id)]),
    )

    response = journey.page("check")

    assert set(categories_in_table(response).values()) == {"may"}
    assert 'name="withhold"' not in html(response)
    assert journey.post("check", {}).status_code == 302


def test_withholding_lets_it_through_and_the_referral_records_the_withholding(world, mops):
    subject = person(world)
    journey = Journey(mops)
    journey.to_check(world, subject)

    response = journey.post("check", {"withhold": ["health", "contact"]})

    referral = Referral.objects.get(subject=subject)
    assert response["Location"] == f"/app/referrals/{referral.id}"
    assert referral.withhold_categories == ["contact", "health"]
    withholding = Withholding.objects.get(subject=subject)
    assert withholding.agency == world.shelter and sorted(withholding.categories) == ["contact", "health"]
    assert withholding.source == f"referral:{referral.id}"
    page = html(mops.get(response["Location"]))
    assert "Skierowanie zostało wysłane do: Schronisko Bezpieczny Dom." in page


def test_a_referral_sent_through_the_pages_equals_one_sent_through_the_api(world, mops, client):
    subject = person(world)
    Journey(mops).to_check(world, subject)
    journey = Journey(mops)
    journey.to_check(world, subject)
    journey.post("check", {"withhold": ["health", "contact"]})
    token = api_party(client, world.mops)

    api = client.post("/api/v1/referrals/", {
        "subject": str(subject.id), "to_agency": str(world.shelter.id), "service": "shelter", "urgency": "urgent",
        "purpose": "referral", "payload": PAYLOAD, "reason": REASON, "withhold_categories": ["health", "contact"],
    }, content_type="application/json", **bearer(token))

    assert api.status_code == 201
    by_api = Referral.objects.get(pk=api.json()["id"])
    by_page = Referral.objects.filter(subject=subject).exclude(pk=by_api.pk).get()
    fields = ["status", "sender_id", "recipient_id", "subject_id", "service", "urgency", "purpose", "payload",
              "payload_schema", "reason", "withhold_categories", "version"]
    assert {f: unsealed(getattr(by_page, f)) for f in fields} == {f: unsealed(getattr(by_api, f)) for f in fields}
    assert by_page.status == "requested"
    assert by_page.sender_actor == f"user:{world.mops_worker.pk}"
    for referral in (by_page, by_api):
        event = OutboxEvent.objects.get(object_id=referral.id)
        assert event.type == "referral.requested" and event.status == "requested"
        assert sorted(event.agencies) == sorted([str(world.mops.id), str(world.shelter.id)])


def test_a_double_submit_creates_one_referral(world, mops):
    subject = person(world)
    journey = Journey(mops)
    journey.to_check(world, subject)

    first = journey.post("check", {"withhold": ["health", "contact"]})
    second = journey.post("check", {"withhold": ["health", "contact"]})

    assert Referral.objects.filter(subject=subject).count() == 1
    assert first["Location"] == second["Location"] == f"/app/referrals/{Referral.objects.get(subject=subject).id}"
    assert journey.page("check")["Location"] == first["Location"]  # the journey leads to what it sent


def test_sending_one_journey_twice_finds_the_first_referral_and_a_refusal_claims_nothing(world, mops):
    subject = person(world)
    journey = Journey(mops)
    journey.to_check(world, subject)
    key = journey.base.rsplit("/", 1)[1]
    draft = dict(mops.session[SESSION_DRAFTS][key])
    caller = Caller(agency=world.mops, user=world.mops_worker)

    with pytest.raises(ValidationFailed):  # health and contact have no basis
        draft_send(caller=caller, journey=key, draft=draft, path=journey.url("check"))
    assert not IdempotencyRecord.objects.filter(key__endswith=key).exists()
    draft["withhold"] = ["contact", "health"]
    first, created = draft_send(caller=caller, journey=key, draft=draft, path=journey.url("check"))
    second, created_again = draft_send(caller=caller, journey=key, draft=draft, path=journey.url("check"))

    assert created and not created_again and first == second
    assert Referral.objects.filter(subject=subject).count() == 1


def test_the_draft_of_a_sent_journey_is_gone_and_each_journey_sends_its_own_referral(world, mops):
    subject = person(world)
    one, two = Journey(mops), Journey(mops)
    one.to_check(world, subject)
    two.to_check(world, subject)

    one.post("check", {"withhold": ["health", "contact"]})
    two.post("check", {"withhold": ["health", "contact"]})

    assert Referral.objects.filter(subject=subject).count() == 2


# --- a new person -----------------------------------------------------------------------------


def test_a_new_person_is_registered_and_what_she_typed_is_shown_on_the_check_page(world, mops):
    journey = Journey(mops)
    journey.post("who", {"who": "new"})

    response = journey.post("person", {
        "external_ref": "MOPS/99/2026", "person__given_name": "Maria", "person__family_name": "Kowalczyk",
        "safe_contact__channel": "sms", "safe_contact__codeword": "fiołek",
    })

    assert response["Location"] == journey.url("service")
    reference = SubjectReference.objects.get(agency=world.mops, external_ref="MOPS/99/2026")
    subject = reference.subject
    assert subject.owner == world.mops
    assert unsealed(subject.profile) == {"person": {"given_name": "Maria", "family_name": "Kowalczyk"},
                               "safe_contact": {"channel": "sms", "codeword": "fiołek"}}
    assert journey.page("person")["Location"] == journey.url("service")  # registered once
    journey.post("service", {"service": "shelter", "to_agency": str(world.shelter.id), "urgency": "emergency",
                             "purpose": "referral"})
    journey.post("details", {"summary": "Pilnie potrzebne schronienie."})
    page = html(journey.page("check"))
    assert "Maria" in page and "fiołek" in page and ">SMS<" in page  # what she typed, in this session
    assert "MOPS/99/2026" in page
    assert set(categories_in_table(journey.page("check")).values()) == {"no"}  # nothing consented yet
    assert f"/app/subjects/{subject.id}/consents/new?" in page
    assert list(disclosure_list_for_subject(subject)) == []


def test_a_case_reference_already_used_is_explained_and_nothing_typed_is_lost(world, mops):
    journey = Journey(mops)
    journey.post("who", {"who": "new"})

    response = journey.post("person", {"external_ref": "MOPS/7/2026", "person__given_name": "Maria"})

    assert response.status_code == 422
    assert summary_links(response)[0][0] == "#external_ref"
    assert field_value(response, "person__given_name") == "Maria"


# --- tenancy, roles, cancelling, and what never leaves the session ---------------------------------


def test_starting_with_the_agencys_own_person_chooses_her(world, mops):
    journey = Journey(mops, start=f"{NEW}?subject={world.subject.id}")

    page = html(journey.page("who"))

    assert 'value="existing" checked' in page and f'value="{world.subject.id}" selected' in page


@pytest.mark.parametrize("which", ["outsider", "unknown", "malformed"])
def test_another_agencys_person_is_not_usable(world, mops, which):
    outsiders = Caller(agency=world.outsider, user=world.outsider_worker)
    theirs = subject_create(caller=outsiders, external_ref="OPS/1/2026", profile={"person": {"given_name": "Ewa"}})
    subject_id = {"outsider": theirs.id, "unknown": "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "malformed": "x"}[which]

    assert mops.get(NEW, {"subject": subject_id}).status_code == 404
    journey = Journey(mops)
    response = journey.post("who", {"who": "existing", "subject": str(subject_id)})
    assert response.status_code == 422
    assert summary_links(response) == [("#subject", "Wybierz numer sprawy z listy")]
    assert "OPS/1/2026" not in html(journey.page("who"))


def test_the_shelters_worker_cannot_send_the_mopss_person(world):
    # She has a basis for some of Anna's data, but Anna is not in her register.
    shelter = staff_client(world.shelter_worker)

    assert shelter.get(NEW, {"subject": world.subject.id}).status_code == 404


def test_a_journey_is_the_users_own(world, mops):
    journey = Journey(mops)
    journey.post("who", {"who": "existing", "subject": str(world.subject.id)})
    other = staff_client(world.outsider_worker)

    response = other.get(journey.url("service"))

    assert response.status_code == 404
    assert "Ten szkic skierowania nie jest już dostępny" in html(response)


@pytest.mark.parametrize("user", ["mops_dpo", "shelter_coordinator"])
def test_roles_other_than_caseworker_and_supervisor_get_403(world, mops, user):
    journey = Journey(mops)
    client = staff_client(getattr(world, user))

    assert client.get(NEW).status_code == 403
    assert client.get(journey.url("who")).status_code == 403
    assert client.post(journey.url("check"), {}).status_code == 403


def test_a_supervisor_may_send_a_referral(world):
    from agencies.services import user_create

    supervisor = user_create(agency=world.mops, username="mops.kierownik", password=PASSWORD, role="supervisor")
    subject = person(world)
    journey = Journey(staff_client(supervisor))
    journey.to_check(world, subject)

    journey.post("check", {"withhold": ["health", "contact"]})

    assert Referral.objects.get(subject=subject).sender_actor == f"user:{supervisor.pk}"


def test_cancel_deletes_the_draft(world, mops):
    journey = Journey(mops)
    journey.post("who", {"who": "existing", "subject": str(world.subject.id)})
    journey.post("service", {"service": "shelter", "to_agency": str(world.shelter.id), "urgency": "urgent",
                             "purpose": "referral", "reason": REASON})

    response = mops.post(f"{journey.base}/cancel")

    assert response["Location"] == "/app/referrals/outbox"
    assert journey.page("service").status_code == 404
    assert REASON not in str(dict(mops.session))


def test_no_person_data_in_the_journeys_urls_or_titles(world, mops):
    journey = Journey(mops)
    journey.page("who")
    journey.post("who", {"who": "new"})
    journey.page("person")
    journey.post("person", {"external_ref": "MOPS/77/2026", "person__given_name": "Maria", "person__pesel": "1"})
    journey.post("person", {"external_ref": "MOPS/77/2026", "person__given_name": "Maria",
                            "person__family_name": "Kowalczyk", "contact__phone": "+48 601 222 333",
                            "safe_contact__codeword": "fiołek"})
    subject = SubjectReference.objects.get(external_ref="MOPS/77/2026").subject
    journey.page("service")
    journey.post("service", {"service": "shelter", "to_agency": str(world.shelter.id), "urgency": "urgent",
                             "purpose": "referral", "reason": REASON})
    journey.page("details")
    journey.post("details", {**PAYLOAD_FORM, "summary": ""})  # an error page too
    journey.post("details", PAYLOAD_FORM)
    journey.page("check")
    journey.post("check", {})
    sent = journey.post("check", {"withhold": ["health", "contact", "identity", "safe_contact", "case_notes", "risk"]})
    journey.get(sent["Location"])

    assert Referral.objects.filter(subject=subject).count() == 1
    assert len(journey.titles) >= 9 and len(journey.urls) >= 16
    for seen in journey.urls + journey.titles:
        for value in TYPED + ["MOPS/77/2026"]:
            assert value not in unescape(seen), (value, seen)
