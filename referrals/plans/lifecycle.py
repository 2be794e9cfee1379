"""Plan stages and the action state machine (DESIGN.md 4.6).

Stages follow the Warnath Group practice guide on case management (seed
000): crisis response, intensive case management, transitional support,
external support, and closed. Support is not linear ("świadczenia mogą być
nielinearne"; a crisis may return after external support and a closed case
may be reopened for a new round), so the lead may move a plan from any stage
to any other.

Actions: planned -> in_progress -> done; planned -> done; planned or
in_progress -> cancelled. `done` and `cancelled` are final."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

CRISIS, INTENSIVE, TRANSITIONAL, EXTERNAL_SUPPORT, CLOSED = (
    "crisis", "intensive", "transitional", "external_support", "closed",
)
STAGES = (CRISIS, INTENSIVE, TRANSITIONAL, EXTERNAL_SUPPORT, CLOSED)
OPEN_STAGES = tuple(s for s in STAGES if s != CLOSED)

PLANNED, IN_PROGRESS, DONE, CANCELLED = "planned", "in_progress", "done", "cancelled"
ACTION_STATUSES = (PLANNED, IN_PROGRESS, DONE, CANCELLED)
OPEN_ACTION_STATUSES = (PLANNED, IN_PROGRESS)
FINAL_ACTION_STATUSES = (DONE, CANCELLED)
# What a transition may ask for (an action starts planned and never returns to it).
ACTION_TARGET_STATUSES = (IN_PROGRESS, DONE, CANCELLED)
ACTION_TRANSITIONS = {
    PLANNED: (IN_PROGRESS, DONE, CANCELLED),
    IN_PROGRESS: (DONE, CANCELLED),
    DONE: (),
    CANCELLED: (),
}

# Reviews follow the case-management cycle: assessment -> plan -> monitoring
# -> reassessment (seed 000, "Rys. 1").
ASSESSMENT, PLAN, MONITORING, REASSESSMENT = "assessment", "plan", "monitoring", "reassessment"
REVIEW_KINDS = (ASSESSMENT, PLAN, MONITORING, REASSESSMENT)

# Stable error codes.
ACTION_FINAL = "plan_action_final"
ACTION_TRANSITION_NOT_ALLOWED = "plan_action_transition_not_allowed"


@dataclass(frozen=True)
class Refusal:
    code: str
    detail: str
    allowed: list[str]


def action_check(current: str, to: str) -> Refusal | None:
    """None when an action may move from `current` to `to`."""
    allowed = list(ACTION_TRANSITIONS[current])
    if to in allowed:
        return None
    if not allowed:
        return Refusal(
            ACTION_FINAL, _("The action is %(status)s: a final status does not change.") % {"status": current}, allowed
        )
    return Refusal(
        ACTION_TRANSITION_NOT_ALLOWED,
        _("An action that is %(status)s cannot become %(to)s.") % {"status": current, "to": to},
        allowed,
    )
