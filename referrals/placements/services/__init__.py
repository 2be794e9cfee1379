"""Every write to agreements and placements. Each public service is one
transaction that locks the row its change depends on and writes its thin
outbox event (ids and codes only; DESIGN.md principle 5).

Who may do what (lifecycle.TRANSITIONS for the steps):
- a coordinating agency (COORDINATING_KINDS) records agreements with
  employers and proposes placements under them, for a person it owns or has
  a basis for (else the same 404 as for no such person);
- the employer confirms or declines a proposal; the coordinating agency
  starts, completes or withdraws it; either ends an active one early;
- each side records its own monthly check-ins; either side records the
  outcome; the coordinating agency records the 90-day follow-up;
- anyone else gets 404 (selectors.placement_for_party).

The placement's `version` (its ETag) changes with what both sides see:
status, employment terms, outcome, the employer's check-ins. The
coordinator's own check-ins and follow-up leave it alone, so that the
employer cannot even tell when they were recorded.

Split by sub-domain: placements.py (agreements, proposals, transitions),
check_ins.py (check-ins and the check-in-due job), outcomes.py (outcome and
follow-up), base.py (codes, event types, helpers). Import from here."""

from .base import (
    AGREEMENT_FULL,
    CHECK_IN_EXISTS,
    COORDINATING_AGENCY_REQUIRED,
    COORDINATING_KINDS,
    EVENT_CHECK_IN_DUE,
    EVENT_CHECK_IN_RECORDED,
    EVENT_FOLLOWED_UP,
    EVENT_OF_STATUS,
    EVENT_OUTCOME_RECORDED,
    EVENT_PROPOSED,
    FOLLOW_UP_EXISTS,
    NOT_A_COORDINATING_AGENCY,
    NOT_ENDED,
    NOT_STARTED,
    OUTCOME_EXISTS,
    PlacementForbidden,
)
from .check_ins import placement_check_in_add, placement_check_ins_due
from .outcomes import NOT_GIVEN, placement_follow_up_record, placement_outcome_record
from .placements import (
    agreement_create,
    employer_places_publish,
    employer_places_recount,
    placement_create,
    placement_transition,
)

__all__ = [
    "AGREEMENT_FULL",
    "CHECK_IN_EXISTS",
    "COORDINATING_AGENCY_REQUIRED",
    "COORDINATING_KINDS",
    "EVENT_CHECK_IN_DUE",
    "EVENT_CHECK_IN_RECORDED",
    "EVENT_FOLLOWED_UP",
    "EVENT_OF_STATUS",
    "EVENT_OUTCOME_RECORDED",
    "EVENT_PROPOSED",
    "FOLLOW_UP_EXISTS",
    "NOT_A_COORDINATING_AGENCY",
    "NOT_ENDED",
    "NOT_STARTED",
    "OUTCOME_EXISTS",
    "PlacementForbidden",
    "placement_check_in_add",
    "placement_check_ins_due",
    "NOT_GIVEN",
    "placement_follow_up_record",
    "placement_outcome_record",
    "agreement_create",
    "employer_places_publish",
    "employer_places_recount",
    "placement_create",
    "placement_transition",
]
