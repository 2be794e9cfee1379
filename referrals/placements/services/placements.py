"""Agreements, proposals and transitions: what the coordinating agency and
the employer agree on, and how a placement moves (lifecycle.TRANSITIONS)."""

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.callers import Caller
from agencies.directory.services import capacity_sync
from agencies.models import Agency, Membership
from agencies.selectors import uuid_or_none
from consent_ledger.decisions import EMPLOYER_PLACEMENT_CATEGORIES, decide
from consent_ledger.models import Subject
from consent_ledger.selectors import provisions_in_force, recipient_of, subject_get_for_caller
from hub.api.errors import Conflict, ValidationFailed
from schemas.registry import get_registry

from ...blue_card.deadlines import add_months
from ...services import UNCOVERED_CATEGORIES
from ...working_days import today_in_poland
from .. import lifecycle
from ..documents import EMPLOYMENT_SCHEMA, schema_errors
from ..models import Placement, PlacementAgreement, PlacementMonth, PlacementTransition
from ..selectors import PURPOSE, placement_for_party, side_of
from .base import (
    AGREEMENT_FULL,
    COORDINATING_KINDS,
    EMPLOYER_KIND,
    EVENT_OF_STATUS,
    EVENT_PROPOSED,
    NOT_A_COORDINATING_AGENCY,
    check_if_match,
    emit,
    error,
    month_end,
    month_of,
    months_between,
    raise_if,
    touch,
)


# --- Agreements -------------------------------------------------------------------------


def _employer_errors(employer_id) -> tuple[Agency | None, list[dict]]:
    employer = Agency.objects.filter(pk=uuid_or_none(employer_id), active=True).first()
    if employer is None:
        return None, [error("/employer", _("No such active agency."), "not_found")]
    if employer.kind != EMPLOYER_KIND:
        return None, [error("/employer", _("The agency is of kind %(kind)s; placements are at employers.") % {"kind": repr(employer.kind)})]
    return employer, []


def _require_coordinating_kind(caller: Caller) -> None:
    if caller.agency.kind not in COORDINATING_KINDS:
        raise ValidationFailed(
            _("Placements are coordinated by agencies of kind %(allowed)s; yours is %(kind)s.")
            % {"allowed": ", ".join(COORDINATING_KINDS), "kind": repr(caller.agency.kind)},
            code=NOT_A_COORDINATING_AGENCY,
            errors=[error("", _("Your agency does not coordinate placements."), NOT_A_COORDINATING_AGENCY)],
        )


@transaction.atomic
def agreement_create(
    *, caller: Caller, employer_id, valid_from: date, valid_until: date, roles: list[str], places: int
) -> PlacementAgreement:
    """Record a partnership agreement between the caller (a coordinating
    agency) and an employer: the roles it offers and how many people it takes
    at once. 422 with a pointer for anything wrong."""
    _require_coordinating_kind(caller)
    employer, errors = _employer_errors(employer_id)
    if valid_until < valid_from:
        errors.append(error("/valid_until", _("The agreement ends before it starts.")))
    names = [role.strip() if isinstance(role, str) else role for role in roles or []]
    if not names:
        errors.append(error("/roles", _("Name at least one role the employer offers.")))
    for index, name in enumerate(names):
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            errors.append(error(f"/roles/{index}", _("A role is a name of 1 to 100 characters.")))
        elif names.index(name) != index:
            errors.append(error(f"/roles/{index}", _("The role is listed twice.")))
    if isinstance(places, bool) or not isinstance(places, int) or places < 1:
        errors.append(error("/places", _("At least one place.")))
    raise_if(errors, "agreement")
    agreement = PlacementAgreement.objects.create(
        coordinating_agency=caller.agency, employer=employer, valid_from=valid_from, valid_until=valid_until,
        roles=names, places=places, created_by_actor=caller.actor_label, created_at=timezone.now(),
    )
    employer_places_publish(employer, caller.actor_label)
    return agreement


# --- The employer's places in the service directory (issue 14, item 1) ----------------------

# The directory entry an employer publishes for its placement places.
DIRECTORY_SERVICE = "employment_activation"


def employer_places_publish(employer: Agency, actor: str) -> None:
    """Show in the service directory how many placement places the employer
    has today: the places of its agreements in force (with any coordinating
    agency), free where no proposed, confirmed or active placement holds
    them. It goes to the employer's one counted `employment_activation`
    service (capacity_sync: none or several, nothing is shown). Called
    whenever places are added, taken or given back."""
    def count() -> tuple[int, int]:
        today = today_in_poland()
        in_force = PlacementAgreement.objects.filter(employer=employer, valid_from__lte=today, valid_until__gte=today)
        total = in_force.aggregate(total=Sum("places"))["total"] or 0
        held = Placement.objects.filter(agreement__in=in_force, status__in=lifecycle.HOLDING_A_PLACE).count()
        return total, max(total - held, 0)

    capacity_sync(agency=employer, service=DIRECTORY_SERVICE, count=count, actor=actor)


def employer_places_recount() -> int:
    """employer_places_publish for every employer that has an agreement: run
    once a day, so that an agreement coming into force or running out is
    counted even when no placement changes that day. How many employers."""
    employers = Agency.objects.filter(pk__in=PlacementAgreement.objects.values("employer"))
    for employer in employers:
        employer_places_publish(employer, "system:employer_places_recount")
    return len(employers)


# --- Proposing a placement ----------------------------------------------------------------


def _coordinator_errors(caller: Caller, user_id) -> tuple[object, list[dict]]:
    """A user with an active membership in role `coordinator` in the caller's
    agency; any other id (another agency's user too) is the same error."""
    membership = Membership.objects.filter(
        agency=caller.agency, user_id=user_id, role="coordinator", active=True, user__is_active=True
    ).select_related("user").first() if isinstance(user_id, int) else None
    if membership is None:
        return None, [error("/coordinator", _("No active coordinator of your agency with this id."), "not_found")]
    return membership.user, []


def _therapist_errors(caller: Caller, employer, user_id, agency_id) -> tuple[object, Agency | None, list[dict]]:
    if user_id is not None and agency_id is not None:
        return None, None, [error("/therapist", _("A therapist is a user or an agency, not both."))]
    if user_id is not None:
        member = Membership.objects.filter(
            agency=caller.agency, user_id=user_id, active=True, user__is_active=True
        ).select_related("user").first() if isinstance(user_id, int) else None
        if member is None:
            return None, None, [error("/therapist/user", _("No active member of your agency with this id."), "not_found")]
        return member.user, None, []
    if agency_id is not None:
        agency = Agency.objects.filter(pk=uuid_or_none(agency_id), active=True).first()
        if agency is None:
            return None, None, [error("/therapist/agency", _("No such active agency."), "not_found")]
        if employer is not None and agency.pk == employer.pk:
            return None, None, [error("/therapist/agency", _("The employer is not the person's therapist."))]
        return None, agency, []
    return None, None, []


def _agreement_errors(caller: Caller, agreement_id, employer, role: str, start_on: date):
    """The caller's agreement, row-locked: the count of its places in use
    is read under this lock, so two proposals for the last place queue here."""
    agreement = (
        PlacementAgreement.objects.select_for_update()
        .filter(pk=uuid_or_none(agreement_id), coordinating_agency=caller.agency).first()
    )
    if agreement is None:
        return None, [error("/agreement", _("No such agreement of yours."), "not_found")]
    errors = []
    if employer is not None and agreement.employer_id != employer.pk:
        errors.append(error("/employer", _("The agreement is with another employer.")))
    if role not in agreement.roles:
        errors.append(error("/role", _("One of the roles the agreement offers: %(roles)s.") % {"roles": ", ".join(agreement.roles)}))
    if not agreement.in_force_on(start_on):
        errors.append(error(
            "/start_on",
            _("The agreement is in force from %(valid_from)s to %(valid_until)s: start within it.")
            % {"valid_from": agreement.valid_from, "valid_until": agreement.valid_until},
            "agreement_not_in_force",
        ))
    return agreement, errors


def _basis_pointers(subject: Subject) -> dict[str, list[str]]:
    """Per category the employer must be able to receive, the request members
    that hold it: the profile's, and the placement's employment terms."""
    registry = get_registry()
    pointers: dict[str, list[str]] = {category: [] for category in sorted(EMPLOYER_PLACEMENT_CATEGORIES)}
    for schema, prefix in ((subject.profile_schema, "/subject/profile"), (EMPLOYMENT_SCHEMA, "")):
        for pointer, category in registry.category_map(schema).pointers().items():
            if pointer.count("/") == 1 and category in pointers and pointer != "/ended_on":
                pointers[category].append(f"{prefix}{pointer}")
    return pointers


def _check_employer_basis(subject: Subject, employer: Agency) -> None:
    """The owner's proposal-time check (as referrals' _check_covered): refuse
    (422) a placement whose employer has no basis to receive identity,
    contact and employment for employment_placement, naming each member and
    its category. Only the owner is told: it records the bases, while an
    answer that depended on the employer's bases would tell any other
    coordinating agency which employers hold them."""
    now = timezone.now()
    provisions = provisions_in_force(subject.id, now)
    denied = decide(provisions, recipient_of(employer, provisions), EMPLOYER_PLACEMENT_CATEGORIES, PURPOSE, now).denied
    if not denied:
        return
    pointers = _basis_pointers(subject)
    errors = [
        {"pointer": pointer,
         "detail": _("No basis to disclose %(category)s to the employer for %(purpose)s.")
         % {"category": category, "purpose": PURPOSE},
         "categories": [category]}
        for category in denied for pointer in pointers[category]
    ]
    raise ValidationFailed(
        _(
            "The employer has no basis to receive this person's identity, contact and employment data for the "
            "placement: record her consent naming the employer first."
        ),
        code=UNCOVERED_CATEGORIES, errors=errors,
    )


def _refuse_if_full(agreement: PlacementAgreement) -> None:
    in_use = agreement.placements.filter(status__in=lifecycle.HOLDING_A_PLACE).count()
    if in_use >= agreement.places:
        raise Conflict(
            _(
                "The agreement is full: %(in_use)s of its %(places)s places are held by proposed, confirmed or "
                "active placements. Withdraw or end one, or record a new agreement."
            ) % {"in_use": in_use, "places": agreement.places},
            code=AGREEMENT_FULL, agreement=str(agreement.id), places=agreement.places, in_use=in_use,
        )


@transaction.atomic
def placement_create(
    *, caller: Caller, subject_id, employer_id, agreement_id, coordinator_id, role: str, hours_per_week: int,
    start_on: date, planned_end_on: date | None = None, therapist_user_id=None, therapist_agency_id=None,
) -> Placement:
    """Propose a placement (the coordinating agency), under one of its
    agreements in force on `start_on` and with a free place (else 409
    agreement_full, saying how many places there are and how many are in
    use), for a person it owns or has a basis for (else 404). The planned end
    defaults to PLACEMENT_DEFAULT_MONTHS from the start (its last day). The
    owner is refused (422 uncovered_categories) until the employer has a
    basis for identity, contact and employment (_check_employer_basis)."""
    _require_coordinating_kind(caller)
    subject = subject_get_for_caller(uuid_or_none(subject_id), caller)
    employer, errors = _employer_errors(employer_id)
    agreement, agreement_errors = _agreement_errors(caller, agreement_id, employer, role, start_on)
    coordinator, coordinator_errors = _coordinator_errors(caller, coordinator_id)
    therapist_user, therapist_agency, therapist_errors = _therapist_errors(
        caller, employer, therapist_user_id, therapist_agency_id
    )
    errors += agreement_errors + coordinator_errors + therapist_errors
    if planned_end_on is None:
        planned_end_on = add_months(start_on, settings.PLACEMENT_DEFAULT_MONTHS) - timedelta(days=1)
    elif planned_end_on < start_on:
        errors.append(error("/planned_end_on", _("The placement ends before it starts.")))
    terms = {"role": role, "hours_per_week": hours_per_week, "start_on": start_on.isoformat(),
             "planned_end_on": planned_end_on.isoformat()}
    errors += [e for e in schema_errors(EMPLOYMENT_SCHEMA, terms) if e["pointer"] not in ("/start_on", "/role")]
    raise_if(errors, "placement")
    if subject.owner_id == caller.agency.pk:
        _check_employer_basis(subject, employer)
    _refuse_if_full(agreement)
    now = timezone.now()
    placement = Placement.objects.create(
        subject=subject, coordinating_agency=caller.agency, employer=employer, agreement=agreement,
        coordinator=coordinator, therapist_user=therapist_user, therapist_agency=therapist_agency, role=role,
        hours_per_week=hours_per_week, start_on=start_on, planned_end_on=planned_end_on,
        created_by_actor=caller.actor_label, created_at=now, updated_at=now,
    )
    PlacementTransition.objects.create(
        placement=placement, from_status="", to_status=lifecycle.PROPOSED, agency=caller.agency,
        actor=caller.actor_label, at=now,
    )
    emit(placement, EVENT_PROPOSED, agreement=agreement.id)
    employer_places_publish(employer, caller.actor_label)
    return placement


# --- Transitions ---------------------------------------------------------------------------


def _transition_errors(placement: Placement, to: str, reason: str, ended_on: date | None) -> list[dict]:
    errors = []
    codes = lifecycle.REASONS.get(to)
    if codes is None and reason:
        errors.append(error("/reason", _("A placement becoming %(status)s takes no reason.") % {"status": to}))
    elif codes is not None and reason and reason not in codes:
        errors.append(error("/reason", _("One of: %(allowed)s.") % {"allowed": ", ".join(codes)}))
    elif to in lifecycle.NEEDS_REASON and not reason:
        errors.append(error("/reason", _("Say why, with one of: %(allowed)s.") % {"allowed": ", ".join(codes)}))
    if to not in lifecycle.NEEDS_END_DAY:
        if ended_on is not None:
            errors.append(error("/ended_on", _("Only completing or ending a placement early takes a last day.")))
    elif ended_on < placement.start_on:
        errors.append(error(
            "/ended_on", _("The placement started on %(start_on)s: it cannot end before.") % {"start_on": placement.start_on}
        ))
    elif ended_on > today_in_poland():
        errors.append(error("/ended_on", _("The last day is in the future: end the placement on or after it.")))
    return errors


def _schedule_months(placement: Placement, now) -> None:
    """The months the employer owes a check-in for: from the start to the
    planned end when the placement starts; to the actual end when it ends
    (later months are voided)."""
    grace = timedelta(days=settings.PLACEMENT_CHECK_IN_GRACE_DAYS)
    last = placement.last_day
    PlacementMonth.objects.bulk_create(
        [PlacementMonth(placement=placement, month=m, check_in_due=month_end(m) + grace)
         for m in months_between(placement.start_on, last)],
        ignore_conflicts=True,
    )
    placement.months.filter(month__gt=month_of(last), voided_at__isnull=True).update(voided_at=now)


@transaction.atomic
def placement_transition(
    *, caller: Caller, placement_id, to: str, reason: str = "", ended_on: date | None = None,
    if_match: str | None = None,
) -> Placement:
    """Move a placement to `to` if the caller's side may (lifecycle.TRANSITIONS;
    409 with `allowed` otherwise). `if_match` is the ETag last read (412 when
    stale). Declining and ending early need a reason code; completing and
    ending early take the last day (`ended_on`, default today in Poland)."""
    placement = placement_for_party(placement_id, caller, lock=True)
    check_if_match(placement, if_match)
    if to not in lifecycle.TARGET_STATUSES:
        raise_if([error("/status", _("One of: %(allowed)s.") % {"allowed": ", ".join(lifecycle.TARGET_STATUSES)})], "transition")
    refusal = lifecycle.check(placement.status, to, side_of(placement, caller))
    if refusal is not None:
        raise Conflict(refusal.detail, code=refusal.code, current_status=placement.status, allowed=refusal.allowed)
    if to in lifecycle.NEEDS_END_DAY and ended_on is None:
        ended_on = today_in_poland()
    raise_if(_transition_errors(placement, to, reason, ended_on), "transition")
    now = timezone.now()
    PlacementTransition.objects.create(
        placement=placement, from_status=placement.status, to_status=to, reason=reason, agency=caller.agency,
        actor=caller.actor_label, at=now,
    )
    stamp = lifecycle.TIMESTAMP_FIELDS[to]
    placement.status, placement.status_reason, placement.ended_on = to, reason, ended_on or placement.ended_on
    setattr(placement, stamp, now)
    touch(placement, now, "status", "status_reason", "ended_on", stamp)
    if to == lifecycle.ACTIVE or to in lifecycle.ENDED:
        _schedule_months(placement, now)
    if to not in lifecycle.HOLDING_A_PLACE:
        employer_places_publish(placement.employer, caller.actor_label)
    emit(placement, EVENT_OF_STATUS[to], **({"reason": reason} if reason else {}))
    return placement
