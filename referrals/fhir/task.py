"""A referral as a FHIR R5 Task (DESIGN.md 4.5: our statuses are the Task's).

Built from what referrals.selectors.referral_read returned, the one read of a
referral's person data (one `disclosure` entry), never from the row's sealed
fields. The Task contains the ServiceRequest it fulfils (`focus`) and the
Patient it is for (`for`); the sender is the requester and the recipient the
owner (Organization references). `meta.security` names the categories the
resource holds and each one withheld from the reader."""

from fhir.resources.task import Task

from referrals import lifecycle
from referrals.selectors import TEXT_SCHEMA, ReferralView
from schemas.registry import get_registry

from .common import (
    build,
    coding,
    concept,
    instant,
    organization_reference,
    security_labels,
)
from .patient import patient
from .service_request import PRIORITY, service_request

# The R5 TaskStatus value set (hl7.org/fhir/R5/valueset-task-status.html).
# fhir.resources lists only its first codes ("draft | requested | received |
# accepted | +"), so the full set is written out here and the tests check
# every referral status against it.
TASK_STATUSES = (
    "draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress", "on-hold",
    "failed", "completed", "entered-in-error",
)
# 1:1: every referral status is the Task status of the same code.
STATUS = {status: status for status in lifecycle.STATUSES}

TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"
REFERRAL_OUTCOME = "urn:welfare-hub:referral-outcome"
OUTCOME_REASON = "urn:welfare-hub:referral-outcome-reason"

PATIENT_ID, REQUEST_ID = "patient", "request"


def task_from_referral(view: ReferralView) -> Task:
    referral = view.referral
    released, withheld = _categories(view)
    data = {
        "resourceType": "Task",
        "id": str(referral.id),
        "meta": {
            "versionId": str(referral.version),
            "lastUpdated": instant(referral.updated_at),
            "security": security_labels(released=released, withheld=withheld),
        },
        "contained": [
            service_request(REQUEST_ID, referral, payload=view.payload.document, reason=view.reason,
                            patient=f"#{PATIENT_ID}"),
            patient(PATIENT_ID, referral.subject_id, view.profile.document),
        ],
        "status": STATUS[referral.status],
        "intent": "order",
        "priority": PRIORITY[referral.urgency],
        "code": concept(TASK_CODE, "fulfill", "Fulfill the focal request"),
        "focus": {"reference": f"#{REQUEST_ID}"},
        "for": {"reference": f"#{PATIENT_ID}"},
        "authoredOn": instant(referral.created_at),
        "lastModified": instant(referral.updated_at),
        "requester": organization_reference(referral.sender_id, referral.sender.name),
        "owner": organization_reference(referral.recipient_id, referral.recipient.name),
    }
    if view.status_reason:
        data["statusReason"] = {"concept": {"text": view.status_reason}}
    period = _execution_period(referral)
    if period:
        data["executionPeriod"] = period
    if referral.outcome and referral.status in lifecycle.NEEDS_OUTCOME:
        data["output"] = _outcome(referral.outcome)
    return build(Task, data)


def _categories(view: ReferralView) -> tuple[set[str], set[str]]:
    """The categories the Task holds, and those withheld from the reader (of
    the payload, the texts and the profile)."""
    released = set(view.payload.released_categories) | set(view.profile.released_categories)
    texts = {name: text for name, text in (("reason", view.reason), ("status_reason", view.status_reason)) if text}
    if texts:
        released |= get_registry().categories_present(TEXT_SCHEMA, texts)
    return released, set(view.withheld_categories) | set(view.profile.withheld_categories)


def _execution_period(referral) -> dict:
    end = referral.completed_at or referral.failed_at or referral.cancelled_at or referral.rejected_at
    period = {"start": instant(referral.started_at)} if referral.started_at else {}
    if end is not None and referral.status in lifecycle.FINAL:
        period["end"] = instant(end)
    return period


def _outcome(outcome: dict) -> list[dict]:
    """A completed or failed referral's outcome (success, and the reason code
    when it did not succeed) as Task outputs."""
    outputs = [{"type": {"coding": [coding(REFERRAL_OUTCOME, "success")]}, "valueBoolean": bool(outcome["success"])}]
    if outcome.get("reason"):
        outputs.append({
            "type": {"coding": [coding(REFERRAL_OUTCOME, "reason")]},
            "valueCodeableConcept": {"coding": [coding(OUTCOME_REASON, outcome["reason"])]},
        })
    return outputs
