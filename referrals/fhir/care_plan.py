"""A shared support plan (DESIGN.md 4.6) as a FHIR R5 CarePlan, from what
referrals.plans.selectors.plan_read released (one read, for `team_plan`).

- `status`: a closed plan is completed, an open one active; its stage is a
  `category` of ours; `period` runs from its opening to its closing.
- goals: contained Goals (title, indicator as the target's measure, the
  baseline in an extension of ours);
- actions: contained Tasks (R5 has no CarePlan.activity.detail: an activity
  is a `plannedActivityReference`), owned by the assigned agency, due by
  `restriction.period.end`, for the goal they serve when it was released;
- reviews: `note`s at the time of the review, with their kind, stage and
  measures in an extension;
- the team is the `careTeam`; the Blue Card procedure the plan belongs to, if
  the reader may see it, is `supportingInfo`.

An item whose category was withheld is absent (the reader's own action keeps
its metadata without its title, as in GET plans/{id}); `meta.security` names
the categories held and withheld."""

import json

from fhir.resources.careplan import CarePlan

from referrals.plans import lifecycle
from referrals.plans.selectors import PlanView

from .common import (
    build,
    concept,
    instant,
    organization_reference,
    patient_reference,
    security_labels,
    team_reference,
)

PLAN_STAGE = "urn:welfare-hub:plan-stage"
REVIEW_KIND = "urn:welfare-hub:plan-review-kind"
GOAL_BASELINE = "urn:welfare-hub:fhir:goal-baseline"
PLAN_REVIEW = "urn:welfare-hub:fhir:plan-review"
BLUE_CARD = "urn:welfare-hub:blue-card"

# Action status -> Task status: a planned action is ready to be done.
ACTION_STATUS = {
    lifecycle.PLANNED: "ready", lifecycle.IN_PROGRESS: "in-progress", lifecycle.DONE: "completed",
    lifecycle.CANCELLED: "cancelled",
}


def care_plan_from_plan(view: PlanView, *, blue_card_id=None) -> CarePlan:
    plan = view.plan
    closed = plan.stage == lifecycle.CLOSED
    goals = {str(goal.id): _goal(goal, text, plan, closed) for goal, text in view.goals}
    actions = [_action(action, text, plan, goals) for action, text in view.actions]
    data = {
        "resourceType": "CarePlan",
        "id": str(plan.id),
        "meta": {
            "versionId": str(plan.version),
            "lastUpdated": instant(plan.updated_at),
            "security": security_labels(
                released=view.disclosed.released_categories, withheld=view.disclosed.withheld_categories
            ),
        },
        "status": "completed" if closed else "active",
        "intent": "plan",
        "category": [concept(PLAN_STAGE, plan.stage)],
        "subject": patient_reference(plan.subject_id),
        "period": {"start": instant(plan.created_at), **({"end": instant(plan.stage_changed_at)} if closed else {})},
        "created": instant(plan.created_at),
        "custodian": organization_reference(plan.lead_id),
    }
    contained = [*goals.values(), *actions]
    if contained:
        data["contained"] = contained
    if goals:
        data["goal"] = [{"reference": f"#{goal['id']}"} for goal in goals.values()]
    if actions:
        data["activity"] = [{"plannedActivityReference": {"reference": f"#{task['id']}"}} for task in actions]
    notes = [_review_note(review, text) for review, text in view.reviews]
    if notes:
        data["note"] = notes
    if plan.team_id:
        data["careTeam"] = [team_reference(plan.team_id)]
    if blue_card_id:
        data["supportingInfo"] = [{"identifier": {"system": BLUE_CARD, "value": str(blue_card_id)}}]
    return build(CarePlan, data)


def _goal(goal, text: dict, plan, closed: bool) -> dict:
    data = {
        "resourceType": "Goal",
        "id": f"goal-{goal.id}",
        "lifecycleStatus": "completed" if closed else "active",
        "description": {"text": text["title"]},
        "subject": patient_reference(plan.subject_id),
        "startDate": goal.created_at.date().isoformat(),
    }
    if text.get("indicator"):
        data["target"] = [{"measure": {"text": text["indicator"]}}]
    baseline = text.get("baseline")
    if baseline not in (None, ""):
        data["extension"] = [{"url": GOAL_BASELINE, **_value(baseline)}]
    return data


def _value(value) -> dict:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, float):
        return {"valueDecimal": value}
    return {"valueString": str(value)}


def _action(action, text: dict | None, plan, goals: dict) -> dict:
    data = {
        "resourceType": "Task",
        "id": f"action-{action.id}",
        "status": ACTION_STATUS[action.status],
        "intent": "plan",
        "for": patient_reference(plan.subject_id),
        "owner": organization_reference(action.agency_id),
        "authoredOn": instant(action.created_at),
        "lastModified": instant(action.updated_at),
        "restriction": {"period": {"end": action.due_on.isoformat()}},
    }
    if text and text.get("title"):
        data["description"] = text["title"]
    if action.goal_id and str(action.goal_id) in goals:
        data["reason"] = [{"reference": {"reference": f"#goal-{action.goal_id}"}}]
    return data


def _review_note(review, text: dict) -> dict:
    parts = [{"url": "kind", "valueCoding": {"system": REVIEW_KIND, "code": review.kind}},
             {"url": "stage", "valueCoding": {"system": PLAN_STAGE, "code": review.stage}}]
    measures = text.get("measures")
    if measures is not None:
        parts.append({"url": "measures", "valueString": json.dumps(measures, ensure_ascii=False, sort_keys=True)})
    summary = text.get("summary") or parts[0]["valueCoding"]["code"]
    return {"time": instant(review.at), "text": summary, "extension": [{"url": PLAN_REVIEW, "extension": parts}]}
