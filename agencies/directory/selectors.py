"""Every read of the service directory (issue 14).

The directory is for every agency: any authenticated agency reads any
active service of an active agency (a caseworker looking for a free place
at 11 pm must see every shelter, not only her partners'). What differs by
reader is the location: a confidential one shows its address to its own
agency only (visibility.location_fields, used by every answer). An agency
changes only its own services and locations: another's is a 404.

Search order (issue 14, item 2): by distance from the gmina searched from
(powiat centroids, geo.py; services whose location has no centroid last),
then by the freshness of the capacity count (the most recently counted
first; services without counted places after the counted ones), then name
and id. The distance is computed in Python, so the filtered set is read in
one query and ordered and paginated here, per request: a directory holds at
most a few thousand services, and the query count stays one whatever the
size of the answer.
"""

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.api.errors import NotFoundError, ValidationFailed

from ..models import SERVICE_ACTIVE, CapacityChange, DirectoryLocation, DirectoryService
from ..selectors import uuid_or_none
from . import geo

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
LANGUAGE_CODE = re.compile(r"[a-z]{2}")  # ISO 639-1
SEARCH_TERYT = re.compile(r"\d{4}|\d{7}")  # a powiat or a gmina
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Capacity:
    """A service's live capacity as answered (HSDS service_capacity, plus
    `stale`: counted longer ago than DIRECTORY_CAPACITY_STALE_HOURS)."""

    total: int
    free: int
    updated_at: datetime
    stale: bool


def capacity_of(service: DirectoryService, *, now: datetime | None = None) -> Capacity | None:
    """The service's capacity, or None when it counts no places."""
    if service.capacity_total is None:
        return None
    now = now or timezone.now()
    stale_after = timedelta(hours=settings.DIRECTORY_CAPACITY_STALE_HOURS)
    return Capacity(
        total=service.capacity_total, free=service.capacity_free, updated_at=service.capacity_updated_at,
        stale=service.capacity_updated_at < now - stale_after,
    )


@dataclass(frozen=True)
class DirectoryHit:
    service: DirectoryService  # with its agency and location
    distance_km: float | None  # None: no gmina searched from, or no centroid for one of the two


@dataclass(frozen=True)
class DirectoryPage:
    results: list[DirectoryHit]
    next_cursor: str | None
    previous_cursor: str | None


# --- Reads of one object ---------------------------------------------------------------------


def _services() -> QuerySet[DirectoryService]:
    return DirectoryService.objects.select_related("agency", "location")


def directory_service_get(service_id, agency) -> DirectoryService:
    """A service any agency may read: active, of an active agency; or one of
    `agency`'s own, whatever its status (so that it can reopen it).
    NotFoundError (404) otherwise."""
    pk = uuid_or_none(service_id)
    service = None
    if pk is not None:
        visible = Q(status=SERVICE_ACTIVE, agency__active=True) | Q(agency=agency)
        service = _services().filter(visible, pk=pk).first()
    if service is None:
        raise NotFoundError(_("No such service in the directory."))
    return service


def directory_service_get_own(service_id, agency, *, lock: bool = False) -> DirectoryService:
    """One of `agency`'s own services (any status), locked for a change when
    `lock`; NotFoundError (404) for another agency's, as for an unknown id."""
    pk = uuid_or_none(service_id)
    services = _services().filter(pk=pk, agency=agency)
    if lock:
        services = services.select_for_update(of=("self",))
    service = services.first() if pk is not None else None
    if service is None:
        raise NotFoundError(_("No such service in the directory."))
    return service


def directory_service_list_own(agency) -> QuerySet[DirectoryService]:
    """`agency`'s own services, every status (it may reopen one), by name."""
    return _services().filter(agency=agency).order_by("name", "id")


def directory_languages() -> set[str]:
    """The languages some active service is given in (one query): the
    search offers these, not every language in the world."""
    found = set()
    for languages in DirectoryService.objects.filter(status=SERVICE_ACTIVE, agency__active=True).values_list(
        "languages", flat=True
    ):
        found.update(code for code in languages if isinstance(code, str))
    return found


def directory_location_get_own(location_id, agency) -> DirectoryLocation | None:
    """One of `agency`'s own locations, or None (a body member: the caller
    answers 422 without saying whether another agency has it)."""
    pk = uuid_or_none(location_id)
    return DirectoryLocation.objects.filter(pk=pk, agency=agency).first() if pk is not None else None


def directory_location_list_for_agency(agency) -> QuerySet[DirectoryLocation]:
    """`agency`'s own locations (with their addresses: it runs them)."""
    return DirectoryLocation.objects.filter(agency=agency)


def directory_service_for_referral(service_id, *, recipient_id, service: str) -> DirectoryService | None:
    """The directory entry a sender picked for a referral, if it may be:
    the recipient's own, active, offering the referral's service."""
    pk = uuid_or_none(service_id)
    if pk is None:
        return None
    return DirectoryService.objects.filter(
        pk=pk, agency_id=recipient_id, service=service, status=SERVICE_ACTIVE, agency__active=True,
    ).first()


def capacity_history(service: DirectoryService) -> QuerySet[CapacityChange]:
    return CapacityChange.objects.filter(service=service)


# --- Search --------------------------------------------------------------------------------------


def directory_search(
    *,
    agency,
    service: str | None = None,
    teryt: str | None = None,
    has_capacity: bool | None = None,
    language: str | None = None,
    eligibility: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    now: datetime | None = None,
) -> DirectoryPage:
    """Active services of active agencies matching every filter given, in
    the search order (module docstring), one page of at most `limit` from
    `cursor` (an opaque string from an earlier page's next/previous_cursor).

    - `has_capacity`: true keeps services with a free place now (services
      counting no places are left out); false keeps the others;
    - `language`: services given in that ISO 639-1 language;
    - `eligibility`: services for that group (eligibility_groups.json);
    - `teryt`: the gmina (7 digits) or powiat (4) to measure distances from.

    `agency` is the reader. The services found do not depend on it (the
    directory is the same for everyone); how their locations are shown does,
    and is decided where they are rendered (visibility.location_fields)."""
    services = _services().filter(status=SERVICE_ACTIVE, agency__active=True)
    if service is not None:
        services = services.filter(service=service)
    if has_capacity is True:
        services = services.filter(capacity_free__gt=0)
    elif has_capacity is False:
        services = services.filter(Q(capacity_total__isnull=True) | Q(capacity_free=0))
    # Lists inside JSON are matched here rather than in SQL: SQLite has no
    # JSON containment, and the whole filtered set is ordered in Python anyway.
    found = [
        s for s in services
        if (language is None or language in s.languages) and (eligibility is None or eligibility in s.eligibility)
    ]
    origin = geo.centroid(teryt) if teryt else None
    hits = sorted((_keyed(s, origin) for s in found), key=lambda pair: pair[0])
    return _page(hits, cursor, limit)


def _keyed(service: DirectoryService, origin) -> tuple[tuple, DirectoryHit]:
    here = geo.centroid(service.location.teryt)
    distance = geo.distance_km(origin, here) if origin is not None and here is not None else None
    far = origin is not None and distance is None
    updated = service.capacity_updated_at if service.capacity_total is not None else None
    # Microseconds since the epoch, negated: the most recent count first.
    fresh = -((updated - _EPOCH) // timedelta(microseconds=1)) if updated is not None else 0
    key = (int(far), distance or 0.0, int(updated is None), fresh, service.name.casefold(), str(service.id))
    return key, DirectoryHit(service=service, distance_km=distance)


def _page(hits: list[tuple[tuple, DirectoryHit]], cursor: str | None, limit: int) -> DirectoryPage:
    """A page of the ordered list after (or before) the cursor's key: like
    DRF's cursor pagination, a position by the sort key rather than an
    offset, so that a service added meanwhile neither repeats nor skips one."""
    direction, key = _decode_cursor(cursor) if cursor else ("after", None)
    if key is None:
        start, end = 0, min(limit, len(hits))
    elif direction == "after":
        start = next((i for i, (k, _) in enumerate(hits) if k > key), len(hits))
        end = min(start + limit, len(hits))
    else:
        end = next((i for i, (k, _) in enumerate(hits) if k >= key), len(hits))
        start = max(end - limit, 0)
    page = hits[start:end]
    return DirectoryPage(
        results=[hit for _, hit in page],
        next_cursor=_encode_cursor("after", page[-1][0]) if page and end < len(hits) else None,
        previous_cursor=_encode_cursor("before", page[0][0]) if page and start > 0 else None,
    )


def _encode_cursor(direction: str, key: tuple) -> str:
    raw = json.dumps([direction, list(key)], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


_KEY_TYPES = (int, (int, float), int, int, str, str)


def _decode_cursor(cursor: str) -> tuple[str, tuple]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        direction, key = json.loads(raw)
        valid = (
            direction in ("after", "before") and isinstance(key, list) and len(key) == len(_KEY_TYPES)
            and all(isinstance(v, t) and not isinstance(v, bool) for v, t in zip(key, _KEY_TYPES))
        )
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        valid = False
    if not valid:
        raise ValidationFailed(
            _("The cursor is not valid: use the next or previous link of a page."),
            errors=[{"parameter": "cursor", "detail": _("Not a cursor of this list.")}],
        )
    return direction, tuple(float(v) if i == 1 else v for i, v in enumerate(key))
