"""The person's report of who received her data in a real browser (Debian's
Chromium through Playwright, axe-core): filtered, in Polish and English, a
refused filter, and the report as the printer gets it: A4 landscape, only
the report, the column headings and the running head (the person's
pseudonym and the period) repeated on every page, no row split."""

import re

from playwright.sync_api import expect

from agencies.callers import Caller
from referrals import services
from referrals.selectors import case_update_list, referral_read

from .helpers import browser_login, inline_code
from .test_browser import check_page, serious_violations, settle, shoot

READS = 40  # enough rows for several printed pages
A4_LANDSCAPE = (842, 595)  # points


def disclosures(world) -> None:
    """The shelter reads the referral READS times and writes a note; the MOPS reads it back."""
    shelter = Caller(agency=world.shelter, user=world.shelter_worker)
    for _ in range(READS):
        referral_read(shelter, world.referral.id)
    services.case_update_add(caller=shelter, referral_id=world.referral.id, kind="note",
                             payload={"text": "Zamieszkała w pokoju 4."})
    case_update_list(Caller(agency=world.mops, user=world.mops_worker), world.referral.id)


def page_sizes(pdf: bytes) -> list[tuple[int, int]]:
    return [(round(float(w)), round(float(h))) for w, h in re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)]


def test_the_report_filtered_in_both_languages_and_as_printed(live_world, context, live_server, artifacts):
    world = live_world
    disclosures(world)
    browser_login(context, live_server, world.mops_dpo)
    page = context.new_page()
    path = f"/ledger/subjects/{world.subject.id}/disclosures"

    for language in ("pl", "en"):
        response = page.goto(f"{path}?recipient={world.shelter.id}&lang={language}")
        check_page(page, response, path)
        assert page.locator("tbody tr").count() == READS
        shoot(page, artifacts, f"accounting-filtered-{language}")

    refused = page.goto(f"{path}?from=2030-03-05&to=2030-03-01&lang=en")
    assert refused.status == 422
    assert serious_violations(page) == [] and inline_code(page.content()) == []
    page.get_by_role("link", name="The start of the period must be on or before its end").click()
    expect(page.locator("#accounting-from")).to_be_focused()

    page.goto(f"{path}?lang=en")
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # shown by hub.mjs
    page.emulate_media(media="print")
    expect(page.locator("form[method=get]")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.locator(".govuk-template__header")).to_be_hidden()
    running_head = page.locator(".hub-accounting__running-head")
    expect(running_head).to_be_visible()
    expect(running_head).to_contain_text(str(world.subject.id))
    expect(running_head).to_contain_text("Everything recorded")
    # Chromium repeats a table-header-group on every printed page: the running
    # head is its first row, so every page starts with the person and the period.
    assert page.eval_on_selector(".hub-accounting__table thead", "e => getComputedStyle(e).display") == "table-header-group"
    assert page.eval_on_selector(".hub-accounting__table tbody tr", "e => getComputedStyle(e).breakInside") == "avoid"
    shoot(page, artifacts, "accounting-print")
    pdf = page.pdf(prefer_css_page_size=True)
    (artifacts / "accounting.pdf").write_bytes(pdf)
    sizes = page_sizes(pdf)
    assert len(sizes) >= 3 and set(sizes) == {A4_LANDSCAPE}
    page.emulate_media(media="screen")
    settle(page)
    assert context.console_errors == []
