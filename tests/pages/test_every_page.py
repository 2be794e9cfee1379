"""Every page of every demo role, rendered (issue 10, acceptance): starting
at each demo user's home, every page reachable by a link is opened, and

- every disclosure a page view records is in the accounting with the page's
  purpose, the viewing agency as recipient and the user as actor;
- a page that shows any of the demo people's data that another agency
  supplied recorded a disclosure in that very request (person data reaches a
  page only through the choke point);
- no link on a page is dead, and no page title carries person data.

Builds the demo (`demo_seed`) and one referral from the MOPS to the shelter,
so that both sides of a referral are crawled too."""

import re
import uuid
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from agencies.callers import Caller
from agencies.models import Agency, Membership
from consent_ledger.models import EntryKind, LedgerEntry, SubjectReference
from hub.management.commands import demo_seed
from referrals import services

from .helpers import staff_client

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# The purpose each page discloses with (DESIGN.md 7): a page view of person
# data is a read like the API's, recorded under the purpose the page serves.
PAGE_PURPOSES = [
    (rf"^/app/referrals/{UUID}$", {"referral"}),  # the demo's referral is sent for `referral`
    (rf"^/app/subjects/{UUID}$", {"case_coordination", "referral", "team_plan", "employment_placement"}),
    (rf"^/app/plans/{UUID}$", {"team_plan"}),
    (rf"^/app/blue-cards/{UUID}$", {"team_plan"}),
    (rf"^/app/placements/{UUID}$", {"employment_placement"}),
]
MAX_PAGES_PER_USER = 80
# Pages each of these users must reach from the home page by links, and
# whether reading them discloses another agency's data to her (so the crawl
# is known to have gone where person data is).
MUST_REACH = {
    "mops.kasia": ([rf"^/app/referrals/{UUID}$", rf"^/app/subjects/{UUID}$", rf"^/app/plans/{UUID}$",
                    rf"^/app/blue-cards/{UUID}$", r"^/app/referrals/new"], False),
    "shelter.ewa": ([rf"^/app/referrals/{UUID}$"], True),
    "school.marta": ([rf"^/app/plans/{UUID}$", rf"^/app/blue-cards/{UUID}$"], True),
    "hotel.beata": ([rf"^/app/placements/{UUID}$"], True),
    "cis.joanna": ([rf"^/app/placements/{UUID}$", r"^/app/placements/stats$"], False),
    "mops.iod": ([r"^/app/dpo/$", rf"^/ledger/subjects/{UUID}/disclosures$"], False),
}


def person_data() -> dict[str, str]:
    """Strings that only the choke point may put on a page, each with the
    agency that supplied it (which gets its own data back without a
    disclosure, DESIGN.md 4.3): the demo people's profiles and the content of
    the demo plan."""
    mops, cis = demo_seed.PARTNERSHIP[0][1], demo_seed.PARTNERSHIP[3][1]
    profile = demo_seed.DEMO_PROFILE
    strings = {value: mops for value in (profile["person"]["given_name"], profile["person"]["family_name"],
                                         profile["contact"]["phone"], profile["safe_contact"]["codeword"])}
    strings |= {goal["title"]: mops for goal in demo_seed.PLAN_GOALS.values()}
    strings |= {title: mops for _, _, title, *_ in demo_seed.PLAN_ACTIONS}
    strings |= {p.family_name: cis for p in demo_seed.DEMO_PLACEMENTS}
    return strings


def demo_users() -> list[tuple[str, str]]:
    return [(username, role) for *_, people in (*demo_seed.PARTNERSHIP, *demo_seed.TEAM_AGENCIES)
            for username, role in people]


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    call_command("demo_seed", stdout=StringIO())
    settings.DEBUG = False
    mops = Membership.objects.get(user__username="mops.kasia")
    subject = SubjectReference.objects.get(external_ref="MOPS/DEMO/1").subject
    shelter = Agency.objects.get(name=demo_seed.PARTNERSHIP[2][1])
    services.referral_create(
        caller=Caller(agency=mops.agency, user=mops.user), subject_id=subject.id, to_agency_id=shelter.id,
        service="shelter", urgency="urgent", purpose="referral", payload={"summary": "Potrzebne miejsce od dziś."},
        reason="Przemoc w domu.", withhold_categories=["contact", "demographics"],
    )


def expected_purposes(path: str) -> set[str] | None:
    return next((purposes for pattern, purposes in PAGE_PURPOSES if re.match(pattern, path)), None)


def links(html: str) -> set[str]:
    """Same-site GET links to staff pages (the language links and static files left out)."""
    found = set()
    for href in re.findall(r'href="([^"#]+)"', html):
        href = href.replace("&amp;", "&")
        parts = urlsplit(href)
        if parts.netloc or not parts.path.startswith(("/app/", "/ledger/")) or "lang=" in parts.query:
            continue
        found.add(href)
    return found


def disclosures_since(last_id):
    entries = LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).order_by("seq")
    return list(entries.filter(seq__gt=last_id)) if last_id is not None else list(entries)


def last_entry_seq():
    return LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first()


def crawl(client, membership, secrets: dict[str, str]) -> tuple[list[str], set[str], int]:
    """(problems, the paths visited, how many disclosures the visits recorded)"""
    visited, queue, problems, disclosed = set(), ["/app/"], [], 0
    while queue and len(visited) < MAX_PAGES_PER_USER:
        url = queue.pop(0)
        if url in visited:
            continue
        visited.add(url)
        before = last_entry_seq()
        response = client.get(url)
        new = disclosures_since(before)
        disclosed += len(new)
        if response.status_code in (301, 302):
            continue
        if response.status_code != 200:
            problems.append(f"{url}: {response.status_code} (a dead link)")
            continue
        if not response["Content-Type"].startswith("text/html"):
            continue  # a download (the statistics as CSV)
        html = response.content.decode()
        path = urlsplit(url).path
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
        problems += [f"{url}: person data in the title" for secret in secrets if secret in title]
        purposes = expected_purposes(path)
        for entry in new:
            if purposes is None or entry.body["purpose"] not in purposes:
                problems.append(f"{url}: a disclosure with purpose {entry.body['purpose']} on a page that serves {purposes}")
            if uuid.UUID(entry.body["recipient"]) != membership.agency_id or entry.actor != f"user:{membership.user_id}":
                problems.append(f"{url}: a disclosure to {entry.body['recipient']} by {entry.actor}")
        shown = [secret for secret, supplier in secrets.items()
                 if secret in html and supplier != membership.agency.name]
        if shown and not new:
            problems.append(f"{url}: shows {shown} without a disclosure")
        queue += sorted(links(html) - visited)
    return problems, {urlsplit(url).path for url in visited}, disclosed


@pytest.mark.parametrize("username, role", demo_users())
def test_every_page_of_every_demo_role_discloses_only_through_the_choke_point(demo, username, role):
    membership = Membership.objects.select_related("user", "agency").get(user__username=username)
    client = staff_client(membership.user)

    problems, visited, disclosed = crawl(client, membership, person_data())

    assert problems == []
    patterns, discloses = MUST_REACH.get(username, ([], False))
    assert [p for p in patterns if not any(re.match(p, path) for path in visited)] == []
    assert disclosed > 0 if discloses else True
