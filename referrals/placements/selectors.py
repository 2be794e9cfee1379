"""Every read of agreements and placements, scoped to the calling agency
(DESIGN.md principle 7): an agreement or placement is visible to its
coordinating agency and its employer; to anyone else it is the same 404 as
one that does not exist. Person data leaves only through placement_read, by
the disclosure choke point, for `employment_placement`."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from agencies.callers import Caller
from agencies.selectors import uuid_or_none
from consent_ledger.decisions import EMPLOYER_PLACEMENT_CATEGORIES
from consent_ledger.disclosure import Disclosed, Part, disclose_together
from hub.api.errors import NotFoundError

from . import lifecycle
from .documents import (
    CHECK_IN_SCHEMA,
    EMPLOYMENT_SCHEMA,
    OUTCOME_SCHEMA,
    check_in_document,
    employment_document,
    follow_up_document,
    outcome_document,
)
from .models import Placement, PlacementAgreement, PlacementCheckIn

PURPOSE = "employment_placement"


def _party_of(caller: Caller) -> Q:
    return Q(coordinating_agency=caller.agency) | Q(employer=caller.agency)


def side_of(placement: Placement, caller: Caller) -> str:
    return lifecycle.COORDINATOR if caller.agency.id == placement.coordinating_agency_id else lifecycle.EMPLOYER


# --- Agreements --------------------------------------------------------------------------


def _with_places_in_use(agreements: QuerySet) -> QuerySet:
    held = Count("placements", filter=Q(placements__status__in=lifecycle.HOLDING_A_PLACE))
    return agreements.annotate(in_use=held)


def agreement_for_party(agreement_id, caller: Caller) -> PlacementAgreement:
    """The agreement, with `in_use`, if the caller is one of its two parties; 404 otherwise."""
    agreement = _with_places_in_use(PlacementAgreement.objects.filter(_party_of(caller), pk=uuid_or_none(agreement_id)))
    found = agreement.first()
    if found is None:
        raise NotFoundError(_("No such placement agreement."))
    return found


def agreement_list_for_agency(caller: Caller, *, employer_id=None) -> QuerySet[PlacementAgreement]:
    """The agreements the caller is a party to, each with `in_use`: one query a page."""
    agreements = PlacementAgreement.objects.filter(_party_of(caller))
    if employer_id is not None:
        agreements = agreements.filter(employer_id=employer_id)
    return _with_places_in_use(agreements)


# --- Placements --------------------------------------------------------------------------


def placement_for_party(placement_id, caller: Caller, *, lock: bool = False) -> Placement:
    """The placement if the caller coordinates it or is its employer; 404
    otherwise. `lock` takes the placement's row lock, which serialises every
    change to it and its check-ins."""
    placements = Placement.objects.select_related("subject")
    if lock:
        placements = placements.select_for_update(of=("self",))
    placement = placements.filter(_party_of(caller), pk=uuid_or_none(placement_id)).first()
    if placement is None:
        raise NotFoundError(_("No such placement."))
    return placement


def placement_list_for_agency(caller: Caller, *, status: str | None = None, agreement_id=None) -> QuerySet[Placement]:
    """Metadata of the caller's placements (as coordinating agency or
    employer): one query a page, no person data."""
    placements = Placement.objects.filter(_party_of(caller))
    if status is not None:
        placements = placements.filter(status=status)
    if agreement_id is not None:
        placements = placements.filter(agreement_id=agreement_id)
    return placements


@dataclass(frozen=True)
class PlacementView:
    """A placement as one party may see it. Each check-in comes with its
    released content, or None when its categories are withheld from the
    caller (its metadata is still shown)."""

    placement: Placement
    side: str
    profile: Disclosed
    employment: Disclosed
    outcome: Disclosed | None
    follow_up: Disclosed | None
    check_ins: list[tuple[PlacementCheckIn, dict | None]]
    withheld_categories: list[str]


@transaction.atomic
def placement_read(caller: Caller, placement_id) -> PlacementView:
    """The placement disclosed to the caller for `employment_placement`, as one
    read: one `disclosure` entry for whatever another agency supplied.

    The employer's read holds the person's profile cut to identity and contact
    (what DESIGN.md 4.6 ever lets it have: what else the profile holds is not
    even named among the withheld categories), the employment terms, the
    outcome and its own check-ins; never the coordinator's check-ins (notes,
    WHO-5), the follow-up or the therapist. The coordinating agency reads
    everything, its own data back without a disclosure; the employer's
    check-ins and outcome pass the choke point (for the subject's owner, on
    the reply basis of the employer's consent)."""
    placement = placement_for_party(placement_id, caller)
    side = side_of(placement, caller)
    subject = placement.subject
    check_ins = list(placement.check_ins.order_by("month", "side", "recorded_at"))
    only = None
    if side == lifecycle.EMPLOYER:
        check_ins = [c for c in check_ins if c.side == lifecycle.EMPLOYER]
        only = frozenset(EMPLOYER_PLACEMENT_CATEGORIES)
    parts = {
        "profile": Part(subject.profile, subject.profile_schema, only=only),
        "employment": Part(employment_document(placement), EMPLOYMENT_SCHEMA, placement.coordinating_agency_id),
    }
    outcome = outcome_document(placement)
    if outcome is not None:
        parts["outcome"] = Part(outcome, OUTCOME_SCHEMA, placement.outcome_recorded_by_id)
    follow_up = follow_up_document(placement)
    if follow_up is not None and side == lifecycle.COORDINATOR:
        parts["follow_up"] = Part(follow_up, OUTCOME_SCHEMA, placement.coordinating_agency_id)
    check_in_parts = [Part(check_in_document(c), CHECK_IN_SCHEMA, c.recorded_by_id) for c in check_ins]
    released = disclose_together(subject=subject, caller=caller, purpose=PURPOSE,
                                 parts=[*parts.values(), *check_in_parts], about=placement)
    named = dict(zip(parts, released))
    contents = released[len(parts):]
    withheld = {c for result in released[1:] for c in result.withheld_categories}
    return PlacementView(
        placement=placement, side=side, profile=named["profile"], employment=named["employment"],
        outcome=named.get("outcome"), follow_up=named.get("follow_up"),
        check_ins=[(c, result.document or None) for c, result in zip(check_ins, contents)],
        withheld_categories=sorted(withheld),
    )
