"""A placement's person data as documents for the disclosure choke point
(schemas/json/placement-*.json), built from the columns at read time, and the
validation of new values against the same schemas.

- placement-employment/1: the employment terms (employment), supplied by the
  coordinating agency;
- placement-check-in/1: one check-in's content, supplied by the side that
  recorded it (employer: employment; coordinator: case_notes, mental_health);
- placement-outcome/1: the outcome, supplied by whoever recorded it, and the
  follow-up, supplied by the coordinating agency (employment)."""

from schemas.registry import get_registry

EMPLOYMENT_SCHEMA = "placement-employment/1"
CHECK_IN_SCHEMA = "placement-check-in/1"
OUTCOME_SCHEMA = "placement-outcome/1"


def _present(**members) -> dict:
    return {name: value for name, value in members.items() if value not in (None, "")}


def _day(value):
    return value.isoformat() if value is not None else None


def _number(value):
    return None if value is None else float(value)


def employment_document(placement) -> dict:
    return _present(
        role=placement.role, hours_per_week=placement.hours_per_week, start_on=_day(placement.start_on),
        planned_end_on=_day(placement.planned_end_on), ended_on=_day(placement.ended_on),
    )


def check_in_document(check_in) -> dict:
    return _present(
        days_worked=check_in.days_worked, days_absent=check_in.days_absent,
        employer_feedback=check_in.employer_feedback, coordinator_notes=check_in.coordinator_notes,
        who5=check_in.who5,
    )


def outcome_document(placement) -> dict | None:
    if not placement.outcome:
        return None
    document = _present(
        outcome=placement.outcome, contract_type=placement.contract_type, fte=_number(placement.fte),
        reason=placement.outcome_reason,
    )
    if placement.outcome == "hired":
        document["contract_months"] = _number(placement.contract_months)  # null: open-ended
    return document


def follow_up_document(placement) -> dict | None:
    if placement.employed_90d is None:
        return None
    return {"still_employed": placement.employed_90d, "followed_up_on": _day(placement.followed_up_on)}


def schema_errors(schema: str, document: dict, *, members: dict[str, str] | None = None) -> list[dict]:
    """The problems of a new document as {pointer, detail}, with pointers into
    the request body: `members` maps a document member to the body member it
    came from (default: the same name)."""
    members = members or {}
    errors = []
    for problem in get_registry().validate(schema, document):
        head, _, rest = problem.pointer.lstrip("/").partition("/")
        pointer = f"/{members.get(head, head)}" + (f"/{rest}" if rest else "") if head else ""
        errors.append({"pointer": pointer, "detail": problem.detail, "code": problem.code})
    return errors
