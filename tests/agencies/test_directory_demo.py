"""The demo's directory (issue 14, item 5): every demo agency publishes a
service; the shelter places are one full, one with two free, one stale; the
shelter's own address is confidential."""

from io import StringIO

from django.core.management import call_command

from agencies.models import Agency, DirectoryLocation, DirectoryService
from tests.conftest import bearer

from .directory_world import SERVICES, WROCLAW


def demo_token(client, slug: str) -> str:
    return client.post("/o/token/", {
        "grant_type": "client_credentials", "client_id": f"demo-{slug}", "client_secret": f"demo-secret-{slug}",
    }).json()["access_token"]


def test_the_demo_directory_has_every_agency_and_the_three_shelters(db, settings, client):
    settings.DEBUG = True
    out = StringIO()
    call_command("demo_seed", stdout=out)
    call_command("demo_seed", stdout=StringIO())  # idempotent

    publishing = set(DirectoryService.objects.filter(status="active").values_list("agency_id", flat=True))
    assert publishing == set(Agency.objects.values_list("id", flat=True))
    assert "/api/v1/directory/services?service=shelter" in out.getvalue()

    token = demo_token(client, "mops")
    found = client.get(SERVICES, {"service": "shelter", "teryt": WROCLAW}, **bearer(token)).json()["results"]
    places = [(row["capacity"]["free"], row["capacity"]["stale"]) for row in found]
    assert sorted(places) == [(0, False), (2, False), (3, True)]
    # The nearest first: the shelter in Wrocław, then the powiat wrocławski, then Oława.
    assert [row["distance_km"] for row in found] == sorted(row["distance_km"] for row in found)
    assert found[0]["organization_name"].startswith("Stowarzyszenie Bezpieczny Dom")

    hidden = DirectoryLocation.objects.get(confidential=True)
    assert hidden.agency.kind == "shelter"
    assert found[0]["location"]["address_1"] is None
    assert hidden.address_1 not in client.get(SERVICES, **bearer(token)).content.decode()
    own = client.get(SERVICES, {"service": "shelter"}, **bearer(demo_token(client, "shelter"))).json()["results"]
    assert hidden.address_1 in {row["location"]["address_1"] for row in own}
