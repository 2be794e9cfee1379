"""The placement state machine (DESIGN.md 4.6, 6.2; issue 9), after the
Wrocław "Model Wsparcia" (seed 003): the coordinating agency proposes, the
employer confirms or declines, the coordinating agency starts the placement
and ends it, completed or early; either side may end an active placement
early (the person stops coming, the employer closes the post).

  proposed  -> confirmed    employer
  proposed  -> declined     employer (reason code)
  proposed  -> withdrawn    coordinating agency (the person changed her mind
  confirmed -> withdrawn                         before starting)
  confirmed -> active       coordinating agency
  active    -> completed    coordinating agency
  active    -> ended_early  either side (reason code)

`withdrawn` is not in DESIGN.md 6.2's list: without it a proposal the
employer never answers would hold one of the agreement's places for ever.

Reason codes are seen by both sides, so they say nothing about why the person
is in the programme: no code for health, therapy, safety or the violence
(a person who must stop because of any of those ends as `person_unavailable`)."""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

PROPOSED, CONFIRMED, DECLINED, WITHDRAWN, ACTIVE, COMPLETED, ENDED_EARLY = (
    "proposed", "confirmed", "declined", "withdrawn", "active", "completed", "ended_early",
)
STATUSES = (PROPOSED, CONFIRMED, DECLINED, WITHDRAWN, ACTIVE, COMPLETED, ENDED_EARLY)
# What a transition may ask for (a placement starts proposed and never returns to it).
TARGET_STATUSES = STATUSES[1:]
FINAL = frozenset({DECLINED, WITHDRAWN, COMPLETED, ENDED_EARLY})
# Placements that hold one of the agreement's places.
HOLDING_A_PLACE = (PROPOSED, CONFIRMED, ACTIVE)
# Placements that started (the person went to work): check-ins are recorded for them.
STARTED = (ACTIVE, COMPLETED, ENDED_EARLY)
ENDED = (COMPLETED, ENDED_EARLY)

COORDINATOR = "coordinator"  # the coordinating agency's side
EMPLOYER = "employer"
SIDES = (COORDINATOR, EMPLOYER)

# (from, to) -> the sides that may take the step
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (PROPOSED, CONFIRMED): frozenset({EMPLOYER}),
    (PROPOSED, DECLINED): frozenset({EMPLOYER}),
    (PROPOSED, WITHDRAWN): frozenset({COORDINATOR}),
    (CONFIRMED, WITHDRAWN): frozenset({COORDINATOR}),
    (CONFIRMED, ACTIVE): frozenset({COORDINATOR}),
    (ACTIVE, COMPLETED): frozenset({COORDINATOR}),
    (ACTIVE, ENDED_EARLY): frozenset({COORDINATOR, EMPLOYER}),
}

DECLINE_REASONS = ("no_vacancy", "role_filled", "schedule_mismatch", "qualifications_mismatch", "other")
END_REASONS = (
    "person_withdrew", "person_unavailable", "employer_withdrew", "attendance", "conduct", "mutual_agreement",
    "hired_early", "other",
)
# The reason codes each step takes; None: the step takes none.
REASONS = {DECLINED: DECLINE_REASONS, ENDED_EARLY: END_REASONS, WITHDRAWN: END_REASONS}
NEEDS_REASON = frozenset({DECLINED, ENDED_EARLY})
# The steps that end the placement on a day (`ended_on`).
NEEDS_END_DAY = frozenset(ENDED)

# The timestamp field each status sets.
TIMESTAMP_FIELDS = {
    CONFIRMED: "confirmed_at",
    DECLINED: "declined_at",
    WITHDRAWN: "withdrawn_at",
    ACTIVE: "activated_at",
    COMPLETED: "ended_at",
    ENDED_EARLY: "ended_at",
}

# Stable error codes.
ILLEGAL_TRANSITION = "placement_transition_not_allowed"
NOT_YOUR_STEP = "placement_not_your_step"
PLACEMENT_FINAL = "placement_final"


@dataclass(frozen=True)
class Refusal:
    code: str
    detail: str
    allowed: list[str]


# Who may take a step another side asked for, as a refusal says it.
_ONLY_SIDES = {
    frozenset({COORDINATOR}): gettext_lazy("Only the coordinating agency may move a %(status)s placement to %(to)s."),
    frozenset({EMPLOYER}): gettext_lazy("Only the employer may move a %(status)s placement to %(to)s."),
    frozenset({COORDINATOR, EMPLOYER}): gettext_lazy(
        "Only the coordinating agency or the employer may move a %(status)s placement to %(to)s."
    ),
}


def allowed_next(status: str, side: str) -> list[str]:
    """The statuses `side` may move a placement in `status` to, in STATUSES order."""
    return [to for to in STATUSES if side in TRANSITIONS.get((status, to), ())]


def check(status: str, to: str, side: str) -> Refusal | None:
    """None when `side` may move a placement from `status` to `to`."""
    allowed = allowed_next(status, side)
    if to in allowed:
        return None
    values = {"status": status, "to": to}
    if status in FINAL:
        return Refusal(PLACEMENT_FINAL, _("The placement is %(status)s: a final status does not change.") % values, allowed)
    sides = TRANSITIONS.get((status, to))
    if sides:
        return Refusal(NOT_YOUR_STEP, str(_ONLY_SIDES[frozenset(sides)]) % values, allowed)
    return Refusal(ILLEGAL_TRANSITION, _("A %(status)s placement cannot become %(to)s.") % values, allowed)
