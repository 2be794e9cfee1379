"""What the employment placement pages show (DESIGN.md 4.6, 7): the list's
rows, the disclosed placement laid out for reading with the forms its reader
may use now, and the statistics. Words live in page_labels.py, forms in
page_forms.py; the views in views.py stay thin.

Reads go through referrals.placements.selectors (the choke point, purpose
`employment_placement`) and stats.py; writes through
referrals.placements.services, exactly as the API (referrals/api/placement_views.py)
calls them."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from consent_ledger.decisions import EMPLOYER_PLACEMENT_CATEGORIES
from schemas.vocabularies import DATA_CATEGORIES, codes

from ..pages import sections
from ..working_days import today_in_poland
from . import lifecycle, stats
from .documents import EMPLOYMENT_SCHEMA
from .models import ESF_MIN_CONTRACT_MONTHS, HIRED, PlacementMonth, meets_esf_rule
from .page_forms import (
    WHO5_FIELDS,
    CoordinatorCheckInForm,
    EmployerCheckInForm,
    FollowUpForm,
    OutcomeForm,
    TransitionForm,
    error_items,
    outcomes_offered,
)
from .page_labels import (
    CONTRACT_TYPE_LABELS,
    END_REASON_LABELS,
    FEEDBACK_LABELS,
    NOT_HIRED_REASON_LABELS,
    OUTCOME_LABELS,
    REASON_LABELS,
    SIDE_LABELS,
    STATUS_LABELS,
    STATUS_TAG_CLASSES,
    TIMEPOINT_LABELS,
    TRANSITION_LABELS,
    WHO5_ANSWERS,
    WHO5_ITEMS,
    category_labels,
    reason_label,
)
from .selectors import PlacementView

# --- The list ----------------------------------------------------------------------------


def with_next_check_in_due(placements):
    """Each placement with `next_check_in_due`: the deadline of the earliest
    month the employer has not checked in for (metadata: PlacementMonth)."""
    pending = PlacementMonth.objects.filter(
        placement=OuterRef("pk"), checked_in_at__isnull=True, voided_at__isnull=True
    ).order_by("month")
    return placements.annotate(next_check_in_due=Subquery(pending.values("check_in_due")[:1]))


@dataclass(frozen=True)
class ListRow:
    placement: object
    side: str
    counterpart: str
    status_label: str
    status_class: str
    awaiting_confirmation: bool
    next_check_in_due: date | None
    overdue: bool


def list_rows(placements, caller) -> list[ListRow]:
    today = today_in_poland()
    rows = []
    for placement in placements:
        side = lifecycle.COORDINATOR if placement.coordinating_agency_id == caller.agency.pk else lifecycle.EMPLOYER
        due = placement.next_check_in_due if placement.status in lifecycle.STARTED else None
        rows.append(ListRow(
            placement=placement, side=side,
            counterpart=(placement.employer if side == lifecycle.COORDINATOR else placement.coordinating_agency).name,
            status_label=STATUS_LABELS[placement.status], status_class=STATUS_TAG_CLASSES[placement.status],
            awaiting_confirmation=placement.status == lifecycle.PROPOSED,
            next_check_in_due=due, overdue=due is not None and due < today,
        ))
    return rows


# --- The disclosed placement, laid out -----------------------------------------------------


def _withheld(view: PlacementView, language: str) -> dict:
    """Every category withheld from the caller, named. An employer's read
    never holds more than identity, contact and employment (the allow-list of
    DESIGN.md 4.6): it is told the whole list of what it never receives, the
    same for every placement, so the list says nothing about what this
    person's record holds."""
    profile = set(view.profile.withheld_categories)
    if view.side == lifecycle.EMPLOYER:
        profile |= set(codes(DATA_CATEGORIES)) - EMPLOYER_PLACEMENT_CATEGORIES
    return {
        "profile": category_labels(profile, language),
        "placement": category_labels(view.withheld_categories, language),
    }


def _check_in_rows(check_in, content: dict | None) -> dict:
    content = content or {}
    who5 = content.get("who5")
    return {
        "check_in": check_in,
        "side_label": SIDE_LABELS[check_in.side],
        "timepoint_label": TIMEPOINT_LABELS.get(check_in.timepoint) if check_in.side == lifecycle.COORDINATOR else None,
        "withheld": not content,
        "days_worked": content.get("days_worked"),
        "days_absent": content.get("days_absent"),
        "feedback": content.get("employer_feedback"),
        "feedback_label": FEEDBACK_LABELS.get(content.get("employer_feedback")),
        "notes": content.get("coordinator_notes"),
        "who5": [(WHO5_ITEMS[i], answer, WHO5_ANSWERS.get(answer)) for i, answer in enumerate(who5)] if who5 else None,
        "who5_score": sum(who5) * 4 if who5 else None,
    }


def _outcome(document: dict | None) -> dict | None:
    if not document:
        return None
    outcome = document.get("outcome")
    hire = outcome == HIRED
    fte, months = document.get("fte"), document.get("contract_months")
    return {
        "label": OUTCOME_LABELS.get(outcome, outcome),
        "hired": hire,
        "contract_type": CONTRACT_TYPE_LABELS.get(document.get("contract_type"), document.get("contract_type")),
        "fte": fte,
        "contract_months": months,
        "open_ended": hire and months is None and "contract_months" in document,
        "reason": reason_label(document["reason"]) if document.get("reason") else None,
        "counts_as_employment": hire and fte is not None and meets_esf_rule(
            Decimal(str(fte)), None if months is None else Decimal(str(months))),
    }


def pending_months(placement) -> list[dict]:
    """The months that have begun and still wait for the employer's check-in
    (metadata: PlacementMonth), with their deadlines."""
    today = today_in_poland()
    months = placement.months.filter(checked_in_at__isnull=True, voided_at__isnull=True,
                                     month__lte=today.replace(day=1)).order_by("month")
    return [{"month": m.month, "due": m.check_in_due, "overdue": m.check_in_due < today} for m in months]


def transition_forms(view: PlacementView, bound: TransitionForm | None) -> list[dict]:
    """The steps the caller's side may take now, each a form; `bound` is the
    one that was sent and refused (it keeps what was typed)."""
    placement = view.placement
    steps = []
    for to in lifecycle.allowed_next(placement.status, view.side):
        reasons = REASON_LABELS.get(to)
        steps.append({
            "to": to,
            "label": TRANSITION_LABELS[to],
            "reasons": list(reasons.items()) if reasons else None,
            "needs_reason": to in lifecycle.NEEDS_REASON,
            "takes_end_day": to in lifecycle.NEEDS_END_DAY,
            "warning": to in (lifecycle.DECLINED, lifecycle.WITHDRAWN, lifecycle.ENDED_EARLY),
            "form": bound if bound is not None and bound.to == to else TransitionForm(to=to),
        })
    return steps


def orphan_step(view: PlacementView, bound: TransitionForm | None) -> dict | None:
    """A step that was sent and refused because it is no longer allowed:
    what was chosen, shown to read again (its form is gone from the page)."""
    if bound is None or bound.to in lifecycle.allowed_next(view.placement.status, view.side):
        return None
    reason = bound.data.get("reason", "")
    day = "-".join(bound.data.get(f"ended_on_{part}", "") for part in ("year", "month", "day")).strip("-")
    return {"label": TRANSITION_LABELS.get(bound.to, bound.to), "reason": reason_label(reason) if reason else None,
            "ended_on": day or None}


def check_in_form(view: PlacementView, bound=None) -> EmployerCheckInForm | CoordinatorCheckInForm | None:
    """The caller's side's check-in form while check-ins may be recorded
    (a started placement); prefilled with the month most likely meant."""
    if view.placement.status not in lifecycle.STARTED:
        return None
    if bound is not None:
        return bound
    if view.side == lifecycle.EMPLOYER:
        pending = pending_months(view.placement)
        month = pending[0]["month"] if pending else None
        return EmployerCheckInForm(initial={"month": f"{month:%Y-%m}" if month else ""})
    current = today_in_poland().replace(day=1)
    return CoordinatorCheckInForm(initial={"month": f"{current:%Y-%m}" if view.placement.status == lifecycle.ACTIVE else ""})


def outcome_form(view: PlacementView, bound: OutcomeForm | None) -> OutcomeForm | None:
    placement = view.placement
    if placement.status not in lifecycle.ENDED or placement.outcome_recorded_at is not None:
        return None
    if bound is not None:
        return bound
    initial = {"ended_early_reason": placement.status_reason} if placement.status == lifecycle.ENDED_EARLY else {}
    return OutcomeForm(initial=initial)


def follow_up_form(view: PlacementView, bound: FollowUpForm | None) -> FollowUpForm | None:
    """The coordinating agency's follow-up form, once the placement has
    ended and until the follow-up is recorded."""
    placement = view.placement
    if view.side != lifecycle.COORDINATOR or placement.status not in lifecycle.ENDED:
        return None
    if placement.follow_up_recorded_at is not None:
        return None
    return bound if bound is not None else FollowUpForm()


def _counterpart(view: PlacementView):
    placement = view.placement
    return placement.employer if view.side == lifecycle.COORDINATOR else placement.coordinating_agency


def _person_name(user) -> str:
    """A member of staff as the page names her (not a person the hub is about)."""
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def placement_page(view: PlacementView, language: str, *, transition=None, check_in=None, outcome=None,
                   follow_up=None, notice=None) -> dict:
    """What the placement page shows of a disclosed placement
    (selectors.placement_read) for the caller's side, in `language`; the
    bound forms are those sent and refused (they keep what was typed)."""
    placement = view.placement
    forms_ = {
        "transitions": transition_forms(view, transition),
        "orphan_step": orphan_step(view, transition),
        "check_in_form": check_in_form(view, check_in),
        "outcome_form": outcome_form(view, outcome),
        "follow_up_form": follow_up_form(view, follow_up),
    }
    errors = [{"href": "", "text": notice}] if notice else []
    for form in (transition, check_in, outcome, follow_up):
        if form is not None:
            errors += error_items(form)
    therapist = None
    if view.side == lifecycle.COORDINATOR:
        therapist = _person_name(placement.therapist_user) if placement.therapist_user_id else (
            placement.therapist_agency.name if placement.therapist_agency_id else None)
    return {
        "placement": placement,
        "view": view,
        "side": view.side,
        "is_employer": view.side == lifecycle.EMPLOYER,
        "counterpart": _counterpart(view),
        "coordinator_name": _person_name(placement.coordinator),
        "therapist": therapist,
        "status_label": STATUS_LABELS[placement.status],
        "status_class": STATUS_TAG_CLASSES[placement.status],
        "status_reason": reason_label(placement.status_reason) if placement.status_reason else None,
        "history": [
            {"transition": t, "label": STATUS_LABELS.get(t.to_status, t.to_status),
             "reason": reason_label(t.reason) if t.reason else None}
            for t in placement.transitions.select_related("agency").order_by("at", "id")
        ],
        "profile_sections": sections(placement.subject.profile_schema, view.profile.document, language),
        "employment_sections": sections(EMPLOYMENT_SCHEMA, view.employment.document, language),
        "withheld": _withheld(view, language),
        "check_ins": [_check_in_rows(c, content) for c, content in view.check_ins],
        "pending_months": pending_months(placement) if placement.status in lifecycle.STARTED else [],
        "outcome": _outcome(view.outcome.document if view.outcome is not None else None),
        "outcome_withheld": placement.outcome_recorded_at is not None and (view.outcome is None or not view.outcome.document),
        "follow_up": view.follow_up.document if view.follow_up is not None else None,
        "feedback_choices": list(FEEDBACK_LABELS.items()),
        "who5_questions": [(name, WHO5_ITEMS[i]) for i, name in enumerate(WHO5_FIELDS)],
        "who5_answers": list(WHO5_ANSWERS.items()),
        "timepoint_choices": list(TIMEPOINT_LABELS.items()),
        "outcome_choices": [(o, OUTCOME_LABELS[o]) for o in outcomes_offered(placement.status)],
        "contract_type_choices": list(CONTRACT_TYPE_LABELS.items()),
        "not_hired_reasons": list(NOT_HIRED_REASON_LABELS.items()),
        "ended_early_reasons": list(END_REASON_LABELS.items()),
        "esf_min_months": int(ESF_MIN_CONTRACT_MONTHS),
        "yes_no": [("yes", _("Yes")), ("no", _("No"))],
        "errors": errors,
        **forms_,
    }


# --- The statistics ------------------------------------------------------------------------


STATS_ROWS = (
    ("started", _("Placements that began"), _("under way, completed or ended early")),
    ("not_completed", _("Still under way"), None),
    ("completed", _("Finished"), _("served the full term or ended early: what the rate is counted from")),
    ("hired", _("Hired (ESF rule)"), _("a contract of at least 3 months and at least half-time")),
    ("not_hired", _("Not hired"), _("including finished placements whose outcome is not recorded yet")),
    ("employed_90d", _("Still employed after 90 days"), None),
    ("not_employed_90d", _("Not confirmed employed after 90 days"), None),
)


def stats_cell(value) -> dict:
    """A count as the page shows it: a number, or why it is not shown."""
    if value == stats.SMALL:
        return {"text": _("fewer than %(limit)s") % {"limit": stats.SMALL_CELL_LIMIT}, "suppressed": True}
    if value == stats.COMPLEMENTARY:
        return {"text": _("not shown, so that a small number cannot be worked out from the others"), "suppressed": True}
    return {"text": str(value), "suppressed": False}


def _percent(value: float) -> str:
    return f"{value * 100:.1f}".rstrip("0").rstrip(".") + "%"


def stats_page(result: dict) -> dict:
    """The statistics (stats.placement_statistics) laid out for the page."""
    rate = result["conversion_rate"]
    return {
        "rows": [{"key": key, "label": label, "hint": hint, **stats_cell(result[key])} for key, label, hint in STATS_ROWS],
        "rate": _percent(rate) if rate is not None else None,
        "ci95": [_percent(bound) for bound in result["ci95"]] if result["ci95"] else None,
        "rate_suppressed": "conversion_rate" in result["suppressed"],
        "benchmark": _percent(result["benchmark"]),
        "small_cell_limit": stats.SMALL_CELL_LIMIT,
    }
