"""The person's report of who received her data, as the DPO prints it
(/ledger/subjects/{id}/disclosures, issue 12 item 4): the flows back to the
owner with their supplier and ground, the period and recipient filters (a
bad one is a 422 naming the field), the header that repeats on every printed
page, Polish and English, and a query count that does not grow with the
report."""

import re
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agencies.callers import Caller
from referrals import services
from referrals.selectors import case_update_list, referral_read

from .helpers import inline_code, staff_client
from .world import PERSON_DATA


def url(world) -> str:
    return f"/ledger/subjects/{world.subject.id}/disclosures"


def at(day: int):
    """The clock at noon UTC on `day` March 2030."""
    return mock.patch("django.utils.timezone.now", return_value=datetime(2030, 3, day, 12, tzinfo=UTC))


def the_loop(world) -> None:
    """The shelter reads the referral on 1 March and writes a note on 2 March;
    the MOPS reads the note on 3 March (the shelter's disclosure to it)."""
    shelter = Caller(agency=world.shelter, user=world.shelter_worker)
    with at(1):
        referral_read(shelter, world.referral.id)
    with at(2):
        services.case_update_add(caller=shelter, referral_id=world.referral.id, kind="note",
                                 payload={"text": "Zamieszkała w pokoju 4."})
    with at(3):
        case_update_list(Caller(agency=world.mops, user=world.mops_worker), world.referral.id)


def table_rows(html: str) -> list[str]:
    body = html.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("</tr>")[:-1]]


@pytest.fixture
def dpo(world):
    the_loop(world)
    return staff_client(world.mops_dpo, "en")


def test_the_report_shows_each_flow_with_its_supplier_and_ground_oldest_first(world, dpo):
    response = dpo.get(url(world))

    assert response.status_code == 200
    html = response.content.decode()
    shelters_read, owners_read = table_rows(html)
    assert shelters_read.startswith("2030-03-01 12:00:00 MOPS Wrocław Schronisko Bezpieczny Dom")
    assert owners_read.startswith("2030-03-03 12:00:00 Schronisko Bezpieczny Dom MOPS Wrocław")
    assert "(the supplier's, in reply)" in owners_read and f"About: Referral {world.referral.id}" in owners_read
    assert "in reply" not in shelters_read and "About:" not in shelters_read
    assert not [value for value in PERSON_DATA if value in html]
    assert inline_code(html) == []


def test_the_period_and_the_recipient_narrow_the_report(world, dpo):
    only_march_2 = table_rows(dpo.get(url(world), {"from": "2030-03-02", "to": "2030-03-03"}).content.decode())
    only_to_mops = table_rows(dpo.get(url(world), {"recipient": str(world.mops.id)}).content.decode())
    none = dpo.get(url(world), {"to": "2030-02-28"}).content.decode()

    assert [row[:10] for row in only_march_2] == ["2030-03-03"]
    assert [row[:10] for row in only_to_mops] == ["2030-03-03"]
    assert "No disclosures of this person's data match these filters." in none and "<tbody" not in none


def test_the_recipient_choices_are_the_agencies_that_received_her_data(world, dpo):
    html = dpo.get(url(world)).content.decode()

    select = html.split('id="accounting-recipient"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r"<option[^>]*>([^<]+)</option>", select) == [
        "Every agency", "MOPS Wrocław", "Schronisko Bezpieczny Dom",
    ]


@pytest.mark.parametrize("params, field, message", [
    ({"from": "1 March"}, "from", "Enter the date as YYYY-MM-DD, for example 2026-01-01"),
    ({"to": "2030-02-30"}, "to", "Enter the date as YYYY-MM-DD, for example 2026-06-30"),
    ({"from": "2030-03-05", "to": "2030-03-01"}, "from", "The start of the period must be on or before its end"),
    ({"recipient": "not-an-agency"}, "recipient", "Select a valid choice."),
])
def test_a_bad_filter_is_a_422_page_linking_to_the_field(world, dpo, params, field, message):
    response = dpo.get(url(world), params)

    assert response.status_code == 422
    html = response.content.decode()
    assert f'<a href="#accounting-{field}">{message}' in html
    assert f'id="accounting-{field}-error"' in html and "<table" not in html
    assert html.count("Error:") >= 1 and "<title>Error: Accounting of disclosures" in html


def test_the_header_of_every_printed_page_names_the_person_and_the_period(world, dpo):
    html = dpo.get(url(world), {"from": "2030-03-01", "to": "2030-03-31"}).content.decode()

    running_head = html.split('<tr class="hub-accounting__running-head">', 1)[1].split("</tr>", 1)[0]
    assert str(world.subject.id) in running_head and "2030-03-01 to 2030-03-31" in running_head
    assert '<thead class="govuk-table__head">\n    <tr class="hub-accounting__running-head">' in html
    assert "consent_ledger/accounting.css" in html
    assert '<dd class="govuk-summary-list__value" data-accounting="period">2030-03-01 to 2030-03-31</dd>' in html


def test_the_report_in_polish(world):
    the_loop(world)
    html = staff_client(world.mops_dpo, "pl").get(url(world), {"from": "2030-03-02"}).content.decode()

    assert "Rejestr ujawnień danych" in html and "Udostępnił" in html and "od 2030-03-02" in html
    [owners_read] = table_rows(html)
    assert f"Dotyczy: Skierowanie {world.referral.id}" in owners_read
    assert "(podstawa dostawcy, w odpowiedzi)" in owners_read


def page_queries(client, world) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url(world), {"from": "2030-01-01", "recipient": str(world.shelter.id)})
    assert response.status_code == 200
    return len(captured)


def test_the_report_costs_the_same_queries_for_3_disclosures_as_for_30(world, dpo):
    shelter = Caller(agency=world.shelter, user=world.shelter_worker)

    def reads(count):
        with at(4):
            for _ in range(count):
                referral_read(shelter, world.referral.id)

    reads(2)
    few = page_queries(dpo, world)
    reads(27)
    many = page_queries(dpo, world)

    assert len(table_rows(dpo.get(url(world)).content.decode())) == 31
    assert many == few
