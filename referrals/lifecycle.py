"""The referral state machine (DESIGN.md 4.5), after FHIR Task status codes.

The recipient moves a referral forward; the sender may cancel it while it is
not final. A referral is never forwarded: the recipient opens a new one.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

REQUESTED = "requested"
RECEIVED = "received"
ACCEPTED = "accepted"
IN_PROGRESS = "in-progress"
ON_HOLD = "on-hold"
COMPLETED = "completed"
REJECTED = "rejected"
FAILED = "failed"
CANCELLED = "cancelled"

STATUSES = (REQUESTED, RECEIVED, ACCEPTED, IN_PROGRESS, ON_HOLD, COMPLETED, REJECTED, FAILED, CANCELLED)
FINAL = frozenset({COMPLETED, REJECTED, FAILED, CANCELLED})

SENDER = "sender"
RECIPIENT = "recipient"
_ONLY_PARTY = {
    SENDER: gettext_lazy("Only the sender may move a %(status)s referral to %(to)s."),
    RECIPIENT: gettext_lazy("Only the recipient may move a %(status)s referral to %(to)s."),
}

# (from, to) -> the party allowed to take the step
TRANSITIONS: dict[tuple[str, str], str] = {
    (REQUESTED, RECEIVED): RECIPIENT,
    (REQUESTED, REJECTED): RECIPIENT,
    (RECEIVED, ACCEPTED): RECIPIENT,
    (RECEIVED, REJECTED): RECIPIENT,
    (ACCEPTED, IN_PROGRESS): RECIPIENT,
    (ACCEPTED, FAILED): RECIPIENT,
    (IN_PROGRESS, ON_HOLD): RECIPIENT,
    (ON_HOLD, IN_PROGRESS): RECIPIENT,
    (IN_PROGRESS, COMPLETED): RECIPIENT,
    (IN_PROGRESS, FAILED): RECIPIENT,
    (ON_HOLD, FAILED): RECIPIENT,
    **{(status, CANCELLED): SENDER for status in STATUSES if status not in FINAL},
}

# Which transitions must say why, and which must carry an outcome.
NEEDS_REASON = frozenset({REJECTED, CANCELLED})
NEEDS_OUTCOME = frozenset({COMPLETED, FAILED})

OUTCOME_REASONS = (
    "client_refused_services",
    "lack_of_capacity",
    "services_no_longer_needed",
    "unable_to_contact_client",
    "other",
)

# The timestamp field each status sets the first time it is reached.
TIMESTAMP_FIELDS = {
    RECEIVED: "received_at",
    ACCEPTED: "accepted_at",
    IN_PROGRESS: "started_at",
    ON_HOLD: "on_hold_at",
    COMPLETED: "completed_at",
    REJECTED: "rejected_at",
    FAILED: "failed_at",
    CANCELLED: "cancelled_at",
}


@dataclass(frozen=True)
class Refusal:
    """Why a transition is not allowed: stable code, message, what would be."""

    code: str
    detail: str
    allowed: list[str]


ILLEGAL_TRANSITION = "illegal_transition"
NOT_YOUR_STEP = "not_your_step"


def allowed_next(status: str, party: str) -> list[str]:
    return sorted(to for (frm, to), who in TRANSITIONS.items() if frm == status and who == party)


def check(status: str, to: str, party: str) -> Refusal | None:
    """None if `party` may move a referral from `status` to `to`."""
    who = TRANSITIONS.get((status, to))
    values = {"status": status, "to": to}
    if who is None:
        return Refusal(ILLEGAL_TRANSITION, _("A %(status)s referral cannot become %(to)s.") % values, allowed_next(status, party))
    if who != party:
        return Refusal(NOT_YOUR_STEP, str(_ONLY_PARTY[who]) % values, allowed_next(status, party))
    return None
