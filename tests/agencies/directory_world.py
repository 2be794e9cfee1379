"""What the directory tests share (issue 14): publishing locations and
services through the services, and the URLs. Time is never the wall clock's:
a count's age is set explicitly (`counted_at`)."""

from datetime import datetime

from agencies.directory import services as directory
from agencies.models import DirectoryService

SERVICES = "/api/v1/directory/services"
LOCATIONS = "/api/v1/directory/locations"

# TERYT codes of gminas in the powiats the tests measure between (powiat
# centroids, agencies/directory/teryt_centroids.csv).
WROCLAW = "0264011"
KOBIERZYCE = "0223042"  # powiat wrocławski, about 12 km from Wrocław's centroid
OLAWA = "0215011"
BOLESLAWIEC = "0201011"
KRAKOW = "1261011"
WARSZAWA = "1465011"
NOWHERE = "9901011"  # no powiat 99: no centroid


def detail_url(service_id) -> str:
    return f"{SERVICES}/{service_id}"


def capacity_url(service_id) -> str:
    return f"{SERVICES}/{service_id}/capacity"


def place(caller, teryt=WROCLAW, *, name="Biuro", address_1="ul. Jasna 1", city="Wrocław", postal_code="50-001",
          confidential=False):
    return directory.location_create(
        caller=caller, name=name, teryt=teryt, address_1=address_1, city=city, postal_code=postal_code,
        confidential=confidential,
    )


def publish(caller, *, location=None, teryt=WROCLAW, service="shelter", name="Schronisko", places=None,
            counted_at: datetime | None = None, **fields) -> DirectoryService:
    """A service of `caller`'s agency; `places` = (total, free) counts its
    places, last counted at `counted_at` when given."""
    total, free = places if places is not None else (None, None)
    published = directory.directory_service_create(
        caller=caller, location=location or place(caller, teryt), service=service, name=name,
        capacity_total=total, capacity_free=free, **fields,
    )
    if counted_at is not None:
        # The test's past: a count made `counted_at` (its CapacityChange too).
        DirectoryService.objects.filter(pk=published.pk).update(capacity_updated_at=counted_at)
        published.capacity_changes.update(at=counted_at)
        published.refresh_from_db()
    return published
