"""The person pages (/app/subjects/) through Django's test client: the register,
the person page (profile through the choke point, consent state, accounting),
recording consent with its printable form and evidence, and revoking it."""

import hashlib
import re
import zoneinfo
from datetime import timedelta
from html import unescape

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import formats, timezone, translation

from agencies.callers import Caller
from agencies.services import user_create
from consent_ledger import pages as subject_pages
from consent_ledger.decisions import decide
from consent_ledger.models import (
    EntryKind,
    LedgerEntry,
    Provision,
    ProvisionKind,
    RevocationNotice,
)
from consent_ledger.selectors import (
    disclosure_list_for_subject,
    provisions_in_force,
    recipient_of,
)
from consent_ledger.services import Terms, consent_grant, subject_create

from .helpers import inline_code, post_forms, staff_client
from .world import EVIDENCE, PASSWORD, PERSON_DATA

SCAN = b"%PDF-1.4 a scan of the signed consent form, page 1 of 1"


# --- factories and steps -------------------------------------------------------------------


def page_today():
    """Today where the pages live (PAGES_TIME_ZONE, Poland): a test running
    just after midnight there must not take yesterday's UTC date."""
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(settings.PAGES_TIME_ZONE))


def page_url(subject, suffix=""):
    return f"/app/subjects/{subject.id}{suffix}"


def disclosures(subject):
    return list(disclosure_list_for_subject(subject).order_by("seq"))


def world_consent(world) -> Provision:
    return Provision.objects.get(subject=world.subject, kind=ProvisionKind.CONSENT, ended_at__isnull=True)


def register_people(world, count):
    caller = Caller(agency=world.mops, user=world.mops_worker)
    return [subject_create(caller=caller, external_ref=f"MOPS/{100 + i}/2026", profile={"languages": ["pl"]})
            for i in range(count)]


def day_fields(name, day):
    return {f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": str(day.year)}


def terms_data(world, **overrides):
    today = page_today()
    data = {
        "agency": [str(world.outsider.id)], "category": ["contact", "identity"], "purpose": ["case_coordination"],
        "form": "written", "grantor": "subject", "next": "",
        **day_fields("valid_from", today), **day_fields("valid_until", today + timedelta(days=180)),
    }
    data.update(overrides)
    return data


def polish_date(day):
    with translation.override("pl"):
        return formats.date_format(day, "j E Y")


def title_of(html):
    return re.search(r"<title>(.*?)</title>", html, re.DOTALL).group(1)


def hidden_fields(html):
    """The hidden fields of the evidence form (the terms travel in them)."""
    form = html[html.index('enctype="multipart/form-data"'):]
    form = form[:form.index("</form>")]
    fields = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form):
        fields.setdefault(name, []).append(unescape(value))
    fields.pop("csrfmiddlewaretoken", None)
    return fields


def record_consent(client, world, data, files=None, evidence=None):
    """Steps 1 to 3 as a browser goes through them; returns step 3's answer."""
    step1 = client.post(page_url(world.subject, "/consents/new"), data)
    assert step1.status_code == 302, step1.content.decode()[:2000]
    print_url = step1["Location"]
    assert client.get(print_url).status_code == 200
    confirm = client.get(print_url.replace("/consents/new/form?", "/consents/new/confirm?"))
    assert confirm.status_code == 200
    post = {**hidden_fields(confirm.content.decode()), "confirmed": "yes", **(evidence or {}), **(files or {})}
    return client.post(page_url(world.subject, "/consents/new/confirm"), post)


# --- the person page --------------------------------------------------------------------------


def test_the_owner_reads_the_profile_through_the_choke_point_for_case_coordination(world, monkeypatch):
    calls = []
    real = subject_pages.disclose

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(subject_pages, "disclose", spy)
    before = len(disclosures(world.subject))

    html = staff_client(world.mops_worker).get(page_url(world.subject)).content.decode()

    assert [c["purpose"] for c in calls] == ["case_coordination"]
    assert calls[0]["document"] is not None and calls[0]["caller"].agency == world.mops
    assert "Anna" in html and "+48 600 100 200" in html  # the owner's own record, in full
    # Giving an agency back what it supplied is not a disclosure (DESIGN.md 4.3).
    assert len(disclosures(world.subject)) == before
    assert "Pokazane w celu: Koordynacja pracy z osobą." in html


def test_the_consent_state_is_labelled_in_words_never_codes(world):
    html = staff_client(world.mops_worker).get(page_url(world.subject)).content.decode()
    consents = html[html.index('id="consents"'):html.index('id="referrals"')]

    for words in ("Zgoda", "Schronisko Bezpieczny Dom", "Dane identyfikacyjne", "Bezpieczny kontakt", "Ocena ryzyka",
                  "Notatki z pracy z osobą", "Skierowanie", "Na piśmie (podpis na papierze)",
                  "Osoba, której dane dotyczą", EVIDENCE, "Wycofaj"):
        assert words in consents, words
    for code in ("safe_contact", "case_notes", "written", ">referral<", ">subject<"):
        assert code not in consents, code


def test_a_party_with_a_referral_sees_the_profile_pruned_to_its_basis_and_the_view_is_accounted(world):
    before = len(disclosures(world.subject))

    html = staff_client(world.shelter_worker).get(page_url(world.subject)).content.decode()

    assert "Anna" in html and "konwalia" in html  # identity and safe contact: consented
    assert "+48 600 100 200" not in html  # contact: withheld by the sender
    for category in ("Dane kontaktowe", "Dane demograficzne"):
        assert f"{category} — brak podstawy do udostępnienia" in html
    new = disclosures(world.subject)[before:]
    assert len(new) == 1
    assert new[0].body["purpose"] == "referral"  # the purpose of its basis and its referral
    assert new[0].body["recipient"] == str(world.shelter.id)
    assert new[0].actor == f"user:{world.shelter_worker.pk}"
    assert set(new[0].body["withheld_categories"]) == {"contact", "demographics"}
    # Another agency sees neither the consent state nor the accounting.
    assert 'id="consents"' not in html and 'id="accounting"' not in html
    assert "Przyjęte" not in html and "Schronienie" in html  # its referral, metadata only


def test_the_owner_sees_each_view_in_the_accounting_newest_first_and_paginated(world):
    shelter = staff_client(world.shelter_worker)
    for _ in range(11):
        shelter.get(page_url(world.subject))

    html = staff_client(world.mops_worker).get(page_url(world.subject)).content.decode()
    accounting = html[html.index('id="accounting"'):]

    assert accounting.count("Schronisko Bezpieczny Dom</td>") == 10
    assert "Skierowanie</td>" in accounting and "Zgoda osoby</td>" in accounting
    assert 'rel="next"' in accounting
    second = staff_client(world.mops_worker).get(page_url(world.subject), {"page": "2"}).content.decode()
    assert second[second.index('id="accounting"'):].count("Schronisko Bezpieczny Dom</td>") == 1


def test_another_agencys_person_is_a_404_page_on_every_person_page(world):
    client = staff_client(world.outsider_worker)
    provision = world_consent(world)

    for path in ("", "/consents/new", "/consents/new/form", "/consents/new/confirm",
                 f"/consents/{provision.id}/revoke"):
        response = client.get(page_url(world.subject, path))
        assert response.status_code == 404, path
        assert "Nie znaleziono strony" in response.content.decode()
    assert client.post(page_url(world.subject, f"/consents/{provision.id}/revoke"), {"reason": "x"}).status_code == 404
    assert "MOPS/7/2026" not in client.get("/app/subjects/").content.decode()
    # A recipient with a basis still may not record or revoke: only the owner may.
    shelter = staff_client(world.shelter_worker)
    assert shelter.get(page_url(world.subject, "/consents/new")).status_code == 404
    assert shelter.get(page_url(world.subject, f"/consents/{provision.id}/revoke")).status_code == 404


def test_roles_employer_contact_and_dpo_cannot_record_or_revoke_consent(world):
    employer = user_create(agency=world.mops, username="mops.pracodawca", password=PASSWORD, role="employer_contact")
    provision = world_consent(world)
    for user in (employer, world.mops_dpo):
        client = staff_client(user)
        assert client.get(page_url(world.subject, "/consents/new")).status_code == 403
        assert client.post(page_url(world.subject, "/consents/new"), terms_data(world)).status_code == 403
        assert client.post(page_url(world.subject, "/consents/new/confirm"), terms_data(world)).status_code == 403
        assert client.post(page_url(world.subject, f"/consents/{provision.id}/revoke"), {"reason": "x"}).status_code == 403
    assert staff_client(employer).get(page_url(world.subject)).status_code == 403
    supervisor = user_create(agency=world.mops, username="mops.szefowa", password=PASSWORD, role="supervisor")
    assert staff_client(supervisor).get(page_url(world.subject, "/consents/new")).status_code == 200
    assert not Provision.objects.filter(subject=world.subject).exclude(pk=provision.pk).exists()
    provision.refresh_from_db()
    assert provision.ended_at is None


def test_the_dpo_reads_consents_and_accounting_but_not_the_profile(world):
    staff_client(world.shelter_worker).get(page_url(world.subject))
    before = len(disclosures(world.subject))

    html = staff_client(world.mops_dpo).get(page_url(world.subject)).content.decode()

    assert not [value for value in PERSON_DATA if value in html]
    assert len(disclosures(world.subject)) == before
    assert 'id="consents"' in html and "Schronisko Bezpieczny Dom</td>" in html
    assert f'href="/ledger/subjects/{world.subject.id}/disclosures"' in html
    assert "Wycofaj" not in html and "/consents/new" not in html


def test_no_person_data_in_titles_and_no_inline_code_and_csrf_on_every_form(world):
    mops, shelter = staff_client(world.mops_worker), staff_client(world.shelter_worker)
    query = "?" + "&".join(f"{k}={v}" for k, v in [("agency", world.outsider.id), ("category", "identity"),
                                                    ("purpose", "referral"), ("form", "written"), ("grantor", "subject"),
                                                    *day_fields("valid_from", page_today()).items(),
                                                    *day_fields("valid_until", page_today() + timedelta(days=30)).items()])
    pages = [(mops, "/app/subjects/"), (mops, page_url(world.subject)), (shelter, page_url(world.subject)),
             (mops, page_url(world.subject, "/consents/new")), (mops, page_url(world.subject, "/consents/new/form" + query)),
             (mops, page_url(world.subject, "/consents/new/confirm" + query)),
             (mops, page_url(world.subject, f"/consents/{world_consent(world).id}/revoke"))]
    for client, path in pages:
        response = client.get(path)
        html = response.content.decode()
        assert response.status_code == 200, path
        title = title_of(html)
        assert not [value for value in [*PERSON_DATA, "MOPS/7/2026"] if value in title], (path, title)
        assert inline_code(html) == [], path
        for form in post_forms(html):
            assert "csrfmiddlewaretoken" in form["fields"], (path, form)


# --- the register ----------------------------------------------------------------------------


def test_the_register_lists_case_references_without_names_and_paginates(world, django_assert_max_num_queries):
    register_people(world, 26)
    client = staff_client(world.mops_worker)

    with django_assert_max_num_queries(15):
        first = client.get("/app/subjects/").content.decode()
    found = client.get("/app/subjects/", {"ref": "7/2026"}).content.decode()

    assert not [value for value in PERSON_DATA if value in first + found]
    assert 'rel="next"' in first and first.count('href="/app/subjects/') >= 25
    assert 'href="/app/referrals/new"' in first
    assert f'href="/app/subjects/{world.subject.id}">MOPS/7/2026</a>' in found
    row = found[found.index("MOPS/7/2026"):]
    assert re.search(r'govuk-table__cell--numeric">1</td>', row)  # its one referral
    assert "MOPS/101/2026" not in found


# --- recording consent --------------------------------------------------------------------------


def test_the_consent_form_prints_recipients_categories_purposes_and_dates_in_plain_polish(world):
    today = page_today()
    until = today + timedelta(days=180)
    query = {**terms_data(world, agency=[str(world.shelter.id), str(world.outsider.id)],
                          category=["identity", "health"], purpose=["referral", "case_coordination"],
                          agency_kind=["police"])}

    response = staff_client(world.mops_worker).get(page_url(world.subject, "/consents/new/form"), query)
    html = response.content.decode()
    form = html[html.index('class="hub-consent-form"'):]

    for words in ("Zgoda na udostępnienie moich danych osobowych", "MOPS Wrocław", "MOPS/7/2026",
                  "Schronisko Bezpieczny Dom", "OPS Oława", "każdej instytucji rodzaju: Policja",
                  "Dane identyfikacyjne", "Imię, nazwisko, data urodzenia, numer PESEL", "Zdrowie",
                  "Skierowanie", "Koordynacja pracy z osobą", "Skierowanie do innej instytucji po pomoc",
                  f"Od {polish_date(today)} do {polish_date(until)}",
                  "Moja zgoda jest dobrowolna", "Mogę wycofać zgodę w każdej chwili", "Mój podpis", "Data"):
        assert words in form, words
    assert not [value for value in PERSON_DATA if value in html]  # the person writes her name by hand
    assert "consent_ledger/consent-form.css" in html and "data-hub-print" in html


def test_the_consent_form_is_in_english_when_the_page_is(world):
    query = terms_data(world, category=["safe_contact"], purpose=["referral"])

    html = staff_client(world.mops_worker, "en").get(page_url(world.subject, "/consents/new/form"), query).content.decode()
    form = html[html.index('class="hub-consent-form"'):]

    for words in ("Consent to sharing my personal data", "OPS Oława", "Safe contact",
                  "How and when it is safe to get in touch, and the agreed code word", "Referral",
                  "My consent is voluntary", "I can revoke my consent at any time", "My signature"):
        assert words in form, words
    assert "Zgoda" not in form


def test_recording_consent_with_an_uploaded_scan_stores_its_sha256_and_the_grant(world):
    client = staff_client(world.mops_worker)
    assert staff_client(world.outsider_worker).get(page_url(world.subject)).status_code == 404

    response = record_consent(client, world, terms_data(world),
                              files={"scan": SimpleUploadedFile("zgoda.pdf", SCAN, "application/pdf")})

    assert response.status_code == 302 and response["Location"] == page_url(world.subject)
    provision = Provision.objects.get(subject=world.subject, recipient_agencies=[str(world.outsider.id)])
    assert provision.evidence_sha256 == hashlib.sha256(SCAN).hexdigest()
    assert (provision.kind, provision.form, provision.grantor) == ("consent", "written", "subject")
    assert provision.categories == ["contact", "identity"] and provision.purposes == ["case_coordination"]
    entry = LedgerEntry.objects.get(id=provision.granted_entry_id)
    assert entry.kind == EntryKind.CONSENT_GRANTED
    assert entry.body["evidence_sha256"] == hashlib.sha256(SCAN).hexdigest()
    assert entry.actor == f"user:{world.mops_worker.pk}"
    page = client.get(page_url(world.subject)).content.decode()
    assert str(entry.id) in page and entry.leaf_hash in page  # the receipt in the banner
    assert "OPS Oława" in page[page.index('id="consents"'):]
    # The decision engine now lets the outsider see the person, contact included.
    outsider = staff_client(world.outsider_worker).get(page_url(world.subject)).content.decode()
    assert "+48 600 100 200" in outsider and "konwalia" not in outsider


def test_a_typed_sha256_is_the_evidence_when_the_scan_is_kept_elsewhere(world):
    typed = hashlib.sha256(b"kept in our document system").hexdigest()

    response = record_consent(staff_client(world.mops_worker), world, terms_data(world),
                              evidence={"evidence_sha256": typed.upper()})

    assert response.status_code == 302
    assert Provision.objects.get(recipient_agencies=[str(world.outsider.id)]).evidence_sha256 == typed


def test_prefill_from_the_query_string(world):
    query = {"agency": str(world.outsider.id), "purpose": "referral", "category": ["health", "contact"],
             "next": "/app/referrals/new?step=check", "form": "bogus"}

    html = staff_client(world.mops_worker).get(page_url(world.subject, "/consents/new"), query).content.decode()

    for value in (str(world.outsider.id), "referral", "health", "contact", "written", "subject"):
        assert re.search(rf'value="{value}" checked', html), value
    assert not re.search(r'value="identity" checked', html)
    assert not re.search(rf'value="{world.shelter.id}" checked', html)
    assert 'name="next" value="/app/referrals/new?step=check"' in html
    today = page_today()
    assert f'name="valid_from-year" type="text" inputmode="numeric" value="{today.year}"' in html
    assert f'name="valid_until-year" type="text" inputmode="numeric" value="{today.year + 1}"' in html


@pytest.mark.parametrize("next_path, followed", [
    ("/app/referrals/new?subject=x&step=check", True),
    ("https://evil.example/app/", False),
    ("//evil.example/app/", False),
    ("/\\evil.example/app/", False),
    ("/admin/", False),
    ("/app/../admin/", False),
    ("/app/\nSet-Cookie: x=1", False),
])
def test_next_is_followed_only_when_it_is_a_path_of_this_site_under_app(world, next_path, followed):
    data = terms_data(world, next=next_path)

    response = record_consent(staff_client(world.mops_worker), world, data, evidence={"evidence_sha256": EVIDENCE})

    assert response.status_code == 302
    assert response["Location"] == (next_path if followed else page_url(world.subject))


def test_step_one_errors_link_to_their_fields_and_keep_what_was_typed(world):
    today = page_today()
    data = terms_data(world, category=[], **day_fields("valid_until", today - timedelta(days=3)))
    data["valid_from-day"] = str(today.day)

    response = staff_client(world.mops_worker).post(page_url(world.subject, "/consents/new"), data)
    html = response.content.decode()

    assert response.status_code == 422
    assert title_of(html).startswith("Błąd")
    summary = html[html.index("govuk-error-summary"):html.index("</ul>", html.index("govuk-error-summary"))]
    assert '<a href="#category">Wybierz co najmniej jeden rodzaj danych</a>' in summary
    assert '<a href="#valid_until-day">Data końca musi być późniejsza niż data początku</a>' in summary
    assert re.search(rf'value="{world.outsider.id}" checked', html)
    assert re.search(r'value="case_coordination" checked', html)
    assert f'name="valid_until-day" type="text" inputmode="numeric" value="{(today - timedelta(days=3)).day}"' in html
    assert Provision.objects.filter(subject=world.subject).count() == 1


def test_no_recipient_and_an_unreal_date_are_explained(world):
    data = terms_data(world, agency=[], **{"valid_from-month": "13"})

    html = staff_client(world.mops_worker).post(page_url(world.subject, "/consents/new"), data).content.decode()

    assert '<a href="#agency">Wybierz co najmniej jednego odbiorcę</a>' in html
    assert '<a href="#valid_from-day">Data początku musi być prawdziwą datą' in html
    assert 'name="valid_from-month" type="text" inputmode="numeric" value="13"' in html


def test_a_bad_sha256_is_refused_and_what_was_typed_is_kept(world):
    client = staff_client(world.mops_worker)
    data = {**terms_data(world), "evidence_sha256": "abc123 nie-hash", "confirmed": "yes"}

    response = client.post(page_url(world.subject, "/consents/new/confirm"), data)
    html = response.content.decode()

    assert response.status_code == 422
    assert '<a href="#evidence-sha256">Wpisz sha256 jako 64 znaki' in html
    assert 'value="abc123 nie-hash"' in html
    assert f'name="agency" value="{world.outsider.id}"' in html  # the terms still travel with the form
    assert 'id="confirmed" name="confirmed" type="checkbox" value="yes" checked' in html
    assert Provision.objects.filter(subject=world.subject).count() == 1
    # A written consent without any evidence is refused too, as the API refuses it.
    missing = client.post(page_url(world.subject, "/consents/new/confirm"), {**terms_data(world), "confirmed": "yes"})
    assert missing.status_code == 422 and '<a href="#scan">Dodaj skan' in missing.content.decode()


def test_a_spoken_consent_before_a_witness_needs_no_scan(world):
    response = record_consent(staff_client(world.mops_worker), world, terms_data(world, form="verbal_witnessed"))

    assert response.status_code == 302
    provision = Provision.objects.get(recipient_agencies=[str(world.outsider.id)])
    assert (provision.form, provision.evidence_sha256) == ("verbal_witnessed", "")


def test_a_consent_from_a_later_day_starts_at_that_days_midnight_and_ends_after_the_last_day(world):
    start, end = page_today() + timedelta(days=7), page_today() + timedelta(days=37)
    data = terms_data(world, **day_fields("valid_from", start), **day_fields("valid_until", end))

    record_consent(staff_client(world.mops_worker), world, data, evidence={"evidence_sha256": EVIDENCE})

    provision = Provision.objects.get(recipient_agencies=[str(world.outsider.id)])
    local = zoneinfo.ZoneInfo(settings.PAGES_TIME_ZONE)
    assert provision.valid_from.astimezone(local).date() == start
    assert provision.valid_from.astimezone(local).hour == 0
    assert provision.valid_until.astimezone(local).date() == end + timedelta(days=1)
    html = staff_client(world.mops_worker).get(page_url(world.subject)).content.decode()
    assert "Jeszcze nie obowiązuje" in html  # recorded, not started: shown, marked
    assert f"od {polish_date(start)}, 00:00 do {polish_date(end)} (włącznie)" in html


# --- revoking -----------------------------------------------------------------------------------


def test_revoking_needs_a_reason_then_ends_the_consent_and_the_engine_denies(world):
    staff_client(world.shelter_worker).get(page_url(world.subject))  # the shelter received data under it
    client = staff_client(world.mops_worker)
    provision = world_consent(world)
    url = page_url(world.subject, f"/consents/{provision.id}/revoke")

    page = client.get(url).content.decode()
    assert "Schronisko Bezpieczny Dom" in page and "govuk-button--warning" in page
    refused = client.post(url, {"reason": "   "})
    assert refused.status_code == 422
    assert '<a href="#id_reason">Podaj, dlaczego zgoda jest wycofywana</a>' in refused.content.decode()
    provision.refresh_from_db()
    assert provision.ended_at is None

    response = client.post(url, {"reason": "Osoba wycofała zgodę telefonicznie."}, follow=True)

    provision.refresh_from_db()
    assert provision.ended_at is not None
    now = timezone.now()
    decision = decide(provisions_in_force(world.subject.id, now), recipient_of(world.shelter),
                      ["identity", "safe_contact"], "referral", now)
    assert decision.permitted == []
    assert RevocationNotice.objects.filter(provision=provision, agency=world.shelter).exists()
    banner = response.content.decode()
    assert "powiadomione" in banner and "Schronisko Bezpieczny Dom." in banner
    assert staff_client(world.shelter_worker).get(page_url(world.subject)).status_code == 404


def test_revoking_twice_is_explained_and_the_reason_kept(world):
    client = staff_client(world.mops_worker)
    provision = world_consent(world)
    url = page_url(world.subject, f"/consents/{provision.id}/revoke")
    client.get(url)  # open in one tab...
    client.post(url, {"reason": "Pierwsza karta."})  # ...revoked in another

    response = client.post(url, {"reason": "Druga karta."})

    assert response.status_code == 409
    html = response.content.decode()
    assert "Ta zgoda została już wycofana" in html
    assert client.get(url).status_code == 200 and "Nic nie jest na jej podstawie udostępniane" in client.get(url).content.decode()


def test_a_consent_granted_by_the_api_can_be_revoked_on_the_page(world):
    caller = Caller(agency=world.mops, user=world.mops_worker)
    provision = consent_grant(caller=caller, subject_id=world.subject.id, form="electronic", grantor="legal_guardian",
                              terms=Terms(categories=["children"], purposes=["team_plan"], agency_kinds=["school"]))

    html = staff_client(world.mops_worker).get(page_url(world.subject, f"/consents/{provision.id}/revoke")).content.decode()

    for words in ("Każda instytucja rodzaju: Szkoła", "Dzieci", "Plan zespołu interdyscyplinarnego",
                  "Elektronicznie", "Opiekun prawny lub inny przedstawiciel ustawowy"):
        assert words in html, words


def test_a_scan_larger_than_the_page_takes_is_refused_in_words(world, settings):
    settings.PAGES_MAX_UPLOAD_BYTES = 20 * 1024  # the body cap leaves 4 KiB for the scan
    data = {**terms_data(world), "confirmed": "yes", "scan": SimpleUploadedFile("zgoda.jpg", b"x" * 10_000)}

    response = staff_client(world.mops_worker).post(page_url(world.subject, "/consents/new/confirm"), data)

    assert response.status_code == 422
    assert '<a href="#scan">Plik jest za duży: może mieć najwyżej 4,0' in response.content.decode()
    assert Provision.objects.filter(subject=world.subject).count() == 1


def test_a_phone_photo_sized_scan_is_hashed_in_memory_and_never_written_to_disk(world, monkeypatch):
    """A scan above Django's usual 2.5 MB in-memory limit: hashed all the
    same, and no temporary file is created for it (person data on disk)."""
    from django.core.files import uploadedfile

    def no_temporary_file(*args, **kwargs):
        raise AssertionError("the scan was spooled to a temporary file")

    monkeypatch.setattr(uploadedfile.TemporaryUploadedFile, "__init__", no_temporary_file)
    photo = bytes(range(256)) * (3 * 4096)  # 3 MiB

    response = record_consent(staff_client(world.mops_worker), world, terms_data(world),
                              files={"scan": SimpleUploadedFile("zgoda.jpg", photo, "image/jpeg")})

    assert response.status_code == 302
    provision = Provision.objects.get(subject=world.subject, recipient_agencies=[str(world.outsider.id)])
    assert provision.evidence_sha256 == hashlib.sha256(photo).hexdigest()
