"""Every write to the service directory (issue 14): an agency's locations and
services, and their live capacity.

- An agency publishes and changes only its own locations and services
  (another's is a 404, as an unknown id).
- Every change of the free places writes a CapacityChange in the same
  transaction, with its reason: the agency counted (`agency_update`), a
  referral was accepted (`referral_accepted`, a place taken) or ended after
  acceptance (`referral_ended`, the place given back). The service row is
  locked first (select_for_update), so two acceptances of the last place
  are serialised and the second one finds none (409 `no_capacity`).
- Input is checked as a whole: one 422 names every wrong member with its
  JSON pointer.
"""

import re
from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.api.errors import Conflict, ValidationFailed
from schemas.vocabularies import ELIGIBILITY_GROUPS, REFERRAL_SERVICES, codes

from ..callers import Caller
from ..models import SERVICE_ACTIVE, SERVICE_STATUSES, CapacityChange, DirectoryLocation, DirectoryService
from .selectors import (
    LANGUAGE_CODE,
    directory_location_get_own,
    directory_service_for_referral,
    directory_service_get_own,
)

# Stable error codes (tests and clients use these, never the text).
NO_CAPACITY = "no_capacity"
CAPACITY_NOT_COUNTED = "capacity_not_counted"
# Codes of the members of a 422's `errors`.
REQUIRED = "required"
INVALID = "invalid"
UNKNOWN_CODE = "unknown_code"
OUT_OF_RANGE = "out_of_range"
LOCATION_UNKNOWN = "location_unknown"
DIRECTORY_SERVICE_UNKNOWN = "directory_service_unknown"

# CapacityChange.REASONS
AGENCY_UPDATE, REFERRAL_ACCEPTED, REFERRAL_ENDED, AGREEMENT_PLACES = CapacityChange.REASONS

# HSDS schedule `byday` (RFC 5545 weekday codes) and HH:MM times.
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
SCHEDULE_MEMBERS = ("byday", "opens_at", "closes_at")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_GMINA = re.compile(r"\d{7}")
_POSTAL_CODE = re.compile(r"\d{2}-\d{3}")
MAX_AGE = 120
MAX_PLACES = 100_000  # far above any service; keeps a typo out of the column's range
MAX_SCHEDULES = 50
TEXT_LIMITS = {"name": 255, "description": 5000, "eligibility_description": 2000, "contact_name": 255,
               "contact_phone": 32, "address_1": 255, "city": 255}
# Pointers name the members of the API's request body (agencies/api/directory_views.py).
POINTERS = {"contact_name": "/contact/name", "contact_phone": "/contact/phone", "contact_email": "/contact/email"}

# What directory_service_update may change. The service code stays (referrals
# were sent to it as that service: publish another one instead) and places are
# counted through capacity_set.
UPDATABLE = frozenset({
    "location", "name", "description", "status", "eligibility", "eligibility_description", "minimum_age",
    "maximum_age", "languages", "schedules", "open_24h", "contact_name", "contact_phone", "contact_email",
})


def _error(pointer: str, detail: str, code: str = INVALID) -> dict:
    return {"pointer": pointer, "detail": str(detail), "code": code}


def _raise_if(errors: list[dict]) -> None:
    if errors:
        raise ValidationFailed("; ".join(f"{e['pointer']}: {e['detail']}" for e in errors), errors=errors)


# --- Locations ---------------------------------------------------------------------------------


@transaction.atomic
def location_create(
    *,
    caller: Caller,
    name: str,
    teryt: str,
    address_1: str = "",
    city: str = "",
    postal_code: str = "",
    confidential: bool = False,
) -> DirectoryLocation:
    """A place where the caller's agency offers services. A confidential one
    (a shelter's address) is shown with its address only to the agency itself
    (visibility.py)."""
    errors = _text_errors("name", name, required=True) + _text_errors("address_1", address_1)
    errors += _text_errors("city", city)
    if not (isinstance(teryt, str) and _GMINA.fullmatch(teryt)):
        errors.append(_error("/teryt", _("A gmina's TERYT code has 7 digits.")))
    if not (isinstance(postal_code, str) and (postal_code == "" or _POSTAL_CODE.fullmatch(postal_code))):
        errors.append(_error("/postal_code", _("A Polish postal code: NN-NNN.")))
    if not isinstance(confidential, bool):
        errors.append(_error("/confidential", _("true or false.")))
    _raise_if(errors)
    return DirectoryLocation.objects.create(
        agency=caller.agency, name=name.strip(), teryt=teryt, address_1=address_1.strip(), city=city.strip(),
        postal_code=postal_code, confidential=confidential,
    )


# --- Services ----------------------------------------------------------------------------------


@transaction.atomic
def directory_service_create(
    *,
    caller: Caller,
    location,
    service: str,
    name: str,
    description: str = "",
    status: str = SERVICE_ACTIVE,
    eligibility=(),
    eligibility_description: str = "",
    minimum_age: int | None = None,
    maximum_age: int | None = None,
    languages=(),
    schedules=(),
    open_24h: bool = False,
    contact_name: str = "",
    contact_phone: str = "",
    contact_email: str = "",
    capacity_total: int | None = None,
    capacity_free: int | None = None,
) -> DirectoryService:
    """Publish a service of the caller's agency at one of its locations
    (`location`: the DirectoryLocation or its id). With `capacity_total` and
    `capacity_free` its places are counted from now on (a CapacityChange
    `agency_update`); without them it counts none."""
    values = {
        "service": service, "name": name, "description": description, "status": status,
        "eligibility": eligibility, "eligibility_description": eligibility_description,
        "minimum_age": minimum_age, "maximum_age": maximum_age, "languages": languages, "schedules": schedules,
        "open_24h": open_24h, "contact_name": contact_name, "contact_phone": contact_phone,
        "contact_email": contact_email,
    }
    own_location = _own_location(caller, location)
    errors = [] if own_location is not None else [_location_error()]
    errors += _service_errors(values) + _capacity_errors(capacity_free, capacity_total, "/capacity/free",
                                                         "/capacity/total", creating=True)
    _raise_if(errors)
    now = timezone.now()
    counted = capacity_total is not None
    created = DirectoryService.objects.create(
        agency=caller.agency, location=own_location, **_normalised(values),
        capacity_total=capacity_total, capacity_free=capacity_free, capacity_updated_at=now if counted else None,
    )
    if counted:
        _record(created, AGENCY_UPDATE, now, caller.actor_label)
    return created


@transaction.atomic
def directory_service_update(*, caller: Caller, service_id, **changes) -> DirectoryService:
    """Change the members given (UPDATABLE) of one of the caller's services;
    the others stay. Another agency's service is a 404."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise TypeError(f"directory_service_update cannot change {sorted(unknown)}")
    service = directory_service_get_own(service_id, caller.agency, lock=True)
    changed, errors = ["updated_at"], []
    if "location" in changes:
        location = _own_location(caller, changes.pop("location"))
        if location is None:
            errors.append(_location_error())
        else:
            service.location = location
            changed.append("location")
    values = {field: getattr(service, field) for field in UPDATABLE - {"location"}} | {"service": service.service}
    _raise_if(errors + _service_errors(values | changes))
    normalised = _normalised(values | changes)
    for field in changes:
        setattr(service, field, normalised[field])
    service.save(update_fields=changed + list(changes))
    return service


def _own_location(caller: Caller, location) -> DirectoryLocation | None:
    if isinstance(location, DirectoryLocation):
        return location if location.agency_id == caller.agency.pk else None
    return directory_location_get_own(location, caller.agency)


def _location_error() -> dict:
    return _error("/location", _("No such location of yours: create it with POST directory/locations."),
                  LOCATION_UNKNOWN)


def _normalised(values: dict) -> dict:
    """Texts stripped, codes listed once each in the order given."""
    out = dict(values)
    for field in TEXT_LIMITS:
        if isinstance(out.get(field), str):
            out[field] = out[field].strip()
    out["contact_email"] = out["contact_email"].strip()
    out["eligibility"] = list(dict.fromkeys(values["eligibility"]))
    out["languages"] = list(dict.fromkeys(values["languages"]))
    out["schedules"] = [dict(item) for item in values["schedules"]]
    return out


def _service_errors(v: dict) -> list[dict]:
    errors = _text_errors("name", v["name"], required=True)
    for field in ("description", "eligibility_description", "contact_name", "contact_phone"):
        errors += _text_errors(field, v[field])
    if v["service"] not in codes(REFERRAL_SERVICES):
        errors.append(_one_of("/service", codes(REFERRAL_SERVICES)))
    if v["status"] not in SERVICE_STATUSES:
        errors.append(_one_of("/status", SERVICE_STATUSES))
    errors += _list_errors("/eligibility", v["eligibility"], lambda code: code in codes(ELIGIBILITY_GROUPS),
                           _("One of: %(allowed)s.") % {"allowed": ", ".join(codes(ELIGIBILITY_GROUPS))})
    errors += _list_errors("/languages", v["languages"], lambda code: bool(LANGUAGE_CODE.fullmatch(code)),
                           _("An ISO 639-1 language code: two lowercase letters, e.g. uk."))
    errors += _age_errors(v["minimum_age"], v["maximum_age"]) + _schedule_errors(v["schedules"])
    if not isinstance(v["open_24h"], bool):
        errors.append(_error("/open_24h", _("true or false.")))
    errors += _email_errors(v["contact_email"])
    return errors


def _text_errors(field: str, value, *, required: bool = False) -> list[dict]:
    pointer = POINTERS.get(field, f"/{field}")
    if not isinstance(value, str):
        return [_error(pointer, _("A text."))]
    if required and not value.strip():
        return [_error(pointer, _("Required: not blank."), REQUIRED)]
    if len(value.strip()) > TEXT_LIMITS[field]:
        return [_error(pointer, _("At most %(limit)s characters.") % {"limit": TEXT_LIMITS[field]}, OUT_OF_RANGE)]
    return []


def _one_of(pointer: str, allowed) -> dict:
    return _error(pointer, _("One of: %(allowed)s.") % {"allowed": ", ".join(allowed)}, UNKNOWN_CODE)


def _list_errors(pointer: str, items, valid, detail: str) -> list[dict]:
    if not isinstance(items, (list, tuple)):
        return [_error(pointer, _("A list."))]
    return [
        _error(f"{pointer}/{index}", detail, UNKNOWN_CODE)
        for index, item in enumerate(items) if not (isinstance(item, str) and valid(item))
    ]


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _age_errors(minimum, maximum) -> list[dict]:
    errors = []
    for pointer, age in (("/minimum_age", minimum), ("/maximum_age", maximum)):
        if age is not None and not (_is_count(age) and 0 <= age <= MAX_AGE):
            errors.append(_error(pointer, _("An age from 0 to %(max)s.") % {"max": MAX_AGE}, OUT_OF_RANGE))
    if not errors and minimum is not None and maximum is not None and minimum > maximum:
        errors.append(_error("/maximum_age", _("At least the minimum age (%(min)s).") % {"min": minimum}, OUT_OF_RANGE))
    return errors


def _schedule_errors(schedules) -> list[dict]:
    """HSDS schedules: [{byday: "MO,TU", opens_at: "08:00", closes_at: "16:00"}],
    each day once, opening before closing (hours across midnight are two
    entries, one ending 23:59 and one from 00:00)."""
    if not isinstance(schedules, (list, tuple)):
        return [_error("/schedules", _("A list."))]
    if len(schedules) > MAX_SCHEDULES:
        return [_error("/schedules", _("At most %(limit)s entries.") % {"limit": MAX_SCHEDULES}, OUT_OF_RANGE)]
    errors = []
    for index, item in enumerate(schedules):
        pointer = f"/schedules/{index}"
        if not isinstance(item, dict):
            errors.append(_error(pointer, _("An object with byday, opens_at and closes_at.")))
            continue
        errors += [_error(f"{pointer}/{key}", _("Unknown member.")) for key in sorted(set(item) - set(SCHEDULE_MEMBERS))]
        days = item.get("byday").split(",") if isinstance(item.get("byday"), str) else []
        if not days or len(set(days)) != len(days) or not set(days) <= set(WEEKDAYS):
            errors.append(_error(f"{pointer}/byday", _("Days from MO,TU,WE,TH,FR,SA,SU, comma-separated, each once.")))
        times = {key: item.get(key) for key in ("opens_at", "closes_at")}
        for key, value in times.items():
            if not (isinstance(value, str) and _TIME.fullmatch(value)):
                errors.append(_error(f"{pointer}/{key}", _("A time HH:MM, from 00:00 to 23:59.")))
        if all(isinstance(v, str) and _TIME.fullmatch(v) for v in times.values()) and times["opens_at"] >= times["closes_at"]:
            errors.append(_error(f"{pointer}/closes_at", _(
                "Closes after it opens; hours across midnight are two entries (until 23:59, and from 00:00)."
            )))
    return errors


def _email_errors(email) -> list[dict]:
    if not isinstance(email, str):
        return [_error(POINTERS["contact_email"], _("A text."))]
    if email.strip():
        try:
            validate_email(email.strip())
        except DjangoValidationError:
            return [_error(POINTERS["contact_email"], _("Not a valid e-mail address."))]
    return []


def _capacity_errors(free, total, free_pointer: str, total_pointer: str, *, creating: bool = False) -> list[dict]:
    """Places are counted with both numbers or not at all, 0 <= free <= total."""
    if creating and free is None and total is None:
        return []
    errors = _count_errors(total_pointer, total) + _count_errors(free_pointer, free)
    if not errors and free > total:
        errors.append(_error(free_pointer, _("At most the places there are (%(total)s).") % {"total": total},
                             OUT_OF_RANGE))
    return errors


def _count_errors(pointer: str, value) -> list[dict]:
    if value is None:
        return [_error(pointer, _("Give both the places there are and the places free."), REQUIRED)]
    if not (_is_count(value) and 0 <= value <= MAX_PLACES):
        return [_error(pointer, _("A whole number from 0 to %(max)s.") % {"max": MAX_PLACES}, OUT_OF_RANGE)]
    return []


# --- Capacity ----------------------------------------------------------------------------------


@transaction.atomic
def capacity_set(*, caller: Caller, service_id, free: int, total: int | None = None) -> DirectoryService:
    """The owning agency counts its free places (and, with `total`, the
    places there are; giving `total` starts counting for a service that
    counted none). Another agency's service is a 404; a service that counts
    no places, asked without `total`, a 409 `capacity_not_counted`."""
    service = directory_service_get_own(service_id, caller.agency, lock=True)
    places = total if total is not None else service.capacity_total
    if places is None:
        _raise_if(_count_errors("/free", free))  # a wrong number is told first
        raise Conflict(
            _("%(service)s counts no places yet: send total (the places there are) with free to start counting.")
            % {"service": service.name},
            code=CAPACITY_NOT_COUNTED,
        )
    _raise_if(_capacity_errors(free, places, "/free", "/total"))
    return _write(service, free=free, total=places, reason=AGENCY_UPDATE, actor=caller.actor_label)


@transaction.atomic
def capacity_take(*, referral, actor: Caller) -> DirectoryService | None:
    """A referral accepted takes a place in the directory service it was sent
    to (the sender's pick), or else in the recipient's single active service
    of the referral's code that counts places; None when there is no such
    service (no place is counted). No free place: 409 `no_capacity`, and the
    caller's transaction (the acceptance) is rolled back with it."""
    service = _service_taking_a_place(referral)
    if service is None:
        return None
    if service.capacity_free == 0:
        raise Conflict(
            _(
                "%(service)s has no free place: all %(total)s are taken. If one has been freed, update the "
                "service's capacity first; otherwise reject the referral saying why."
            ) % {"service": service.name, "total": service.capacity_total},
            code=NO_CAPACITY, directory_service=str(service.id),
        )
    return _write(service, free=service.capacity_free - 1, total=service.capacity_total, reason=REFERRAL_ACCEPTED,
                  actor=actor.actor_label, referral_id=referral.id)


@transaction.atomic
def capacity_release(*, referral, actor: Caller) -> DirectoryService | None:
    """A referral that took a place ended (completed, failed, cancelled): the
    place is given back, never above the places there are. Only a place this
    referral took (its `referral_accepted` change) is given back, once."""
    taken = CapacityChange.objects.filter(referral_id=referral.id, reason=REFERRAL_ACCEPTED).order_by("-id").first()
    if taken is None:
        return None
    service = DirectoryService.objects.select_for_update().get(pk=taken.service_id)
    given_back = CapacityChange.objects.filter(referral_id=referral.id, reason=REFERRAL_ENDED, id__gt=taken.id)
    if given_back.exists() or service.capacity_total is None:
        return None
    free = min(service.capacity_free + 1, service.capacity_total)
    return _write(service, free=free, total=service.capacity_total, reason=REFERRAL_ENDED, actor=actor.actor_label,
                  referral_id=referral.id)


@transaction.atomic
def capacity_sync(*, agency, service: str, count, actor: str) -> DirectoryService | None:
    """Places that another record counts (an employer's placement
    agreements, referrals/placements): `agency`'s single active service of
    code `service` that counts places takes `count()` -> (total, free).
    `count` runs once that service's row is locked, so two changes at once
    are counted one after the other and the last count holds both. None, and
    nothing written, when the agency has none or several such services
    (which one the places belong to is not known) or nothing changed."""
    counted = DirectoryService.objects.filter(
        agency=agency, service=service, status=SERVICE_ACTIVE, capacity_total__isnull=False,
    )
    found = list(counted.values_list("pk", flat=True)[:2])
    if len(found) != 1:
        return None
    locked = counted.select_for_update().filter(pk=found[0]).first()
    if locked is None:
        return None
    total, free = count()
    if (locked.capacity_total, locked.capacity_free) == (total, free):
        return None
    return _write(locked, free=free, total=total, reason=AGREEMENT_PLACES, actor=actor)


def _service_taking_a_place(referral) -> DirectoryService | None:
    """The service, locked, whose place the referral takes; None if none counts one."""
    counted = DirectoryService.objects.filter(capacity_total__isnull=False)
    if referral.directory_service_id is not None:
        pk = referral.directory_service_id
    else:
        candidates = list(counted.filter(
            agency_id=referral.recipient_id, service=referral.service, status=SERVICE_ACTIVE,
        ).values_list("pk", flat=True)[:2])
        # Several: which one the person goes to is not known, so none is counted.
        if len(candidates) != 1:
            return None
        (pk,) = candidates
    return counted.select_for_update().filter(pk=pk).first()


def _write(service: DirectoryService, *, free: int, total: int, reason: str, actor: str, referral_id=None,
           now: datetime | None = None) -> DirectoryService:
    now = now or timezone.now()
    service.capacity_free, service.capacity_total, service.capacity_updated_at = free, total, now
    service.save(update_fields=["capacity_free", "capacity_total", "capacity_updated_at", "updated_at"])
    _record(service, reason, now, actor, referral_id)
    return service


def _record(service: DirectoryService, reason: str, at: datetime, actor: str, referral_id=None) -> CapacityChange:
    return CapacityChange.objects.create(
        service=service, at=at, free=service.capacity_free, total=service.capacity_total, reason=reason,
        actor=actor, referral_id=referral_id,
    )


# --- The service a referral is sent to ------------------------------------------------------------


def directory_service_pick(service_id, *, recipient_id, service: str) -> tuple[DirectoryService | None, list[dict]]:
    """Check the directory entry a sender picked for a referral: (the
    service, []) when it is the recipient's, active and of the referral's
    service code; otherwise (None, [an error at /directory_service])."""
    if service_id is None:
        return None, []
    picked = directory_service_for_referral(service_id, recipient_id=recipient_id, service=service)
    if picked is None:
        return None, [_error(
            "/directory_service",
            _("Not an active directory service of the recipient offering this service."),
            DIRECTORY_SERVICE_UNKNOWN,
        )]
    return picked, []
