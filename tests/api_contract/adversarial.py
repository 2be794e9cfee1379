"""What the adversarial API tests share (issue 12, item 6): the published
schema as schemathesis reads it, every operation in it, the world's object
and a well-formed request for each operation that takes an object's id, and a
count of the requests made (printed at the end of the run,
tests/api_contract/conftest.py).

The schema's own links drive the stateful tests: schemathesis' inference of
links of its own is off, so what is followed is what integrators are told."""

import uuid
from collections import Counter
from dataclasses import dataclass

import schemathesis
from django.conf import settings
from django.utils import timezone
from schemathesis.config import SchemathesisConfig

from hub.api.errors import PROBLEM_CONTENT_TYPE

from .test_schemathesis import CHECKS
from .world import EVIDENCE, application

CONFIG = SchemathesisConfig.from_dict({"phases": {"stateful": {"inference": {"algorithms": []}}}})
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)

# Requests made, by test kind: the issue asks for the count.
REQUESTS: Counter = Counter()
# Scenarios per agency of the stateful run; API_FUZZ_EXAMPLES raises it for a longer run.
EXAMPLES = settings.API_FUZZ_EXAMPLES


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    scopes: tuple[str, ...]

    @property
    def parameters(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]

    @property
    def public(self) -> bool:
        return not self.scopes


def operations() -> list[Operation]:
    """Every operation of the published schema."""
    found = []
    for path, item in schema.raw_schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                security = operation.get("security", [])
                scopes = tuple(s for requirement in security for s in requirement.get("oauth2", []))
                found.append(Operation(operation["operationId"], method.upper(), path, scopes))
    return found


def by_id() -> list[Operation]:
    """The operations on one object of an agency (schemas are public documents, not objects)."""
    return [op for op in operations() if op.parameters and not op.public]


def call(operation: Operation, token: str | None, *, kind: str, path_parameters=None, query=None, body=None,
         headers=None):
    """One request, checked against the schema (never a 5xx, answers as
    documented); returns the response."""
    case = schema[operation.path][operation.method].Case(
        path_parameters=path_parameters or {}, query=query or {}, headers=headers or {},
        **({"body": body} if body is not None else {}),
    )
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    response = case.call(headers=auth)
    REQUESTS[kind] += 1
    case.validate_response(response, checks=CHECKS)
    return response


def header(response, name: str) -> str | None:
    values = response.headers.get(name.lower())
    return values[0] if values else None


def is_problem(response, status: int) -> bool:
    return response.status_code == status and (header(response, "Content-Type") or "").startswith(PROBLEM_CONTENT_TYPE)


def well_formed(operation: Operation, caller_agency) -> dict:
    """A request to `operation` that only the object's visibility can refuse:
    every required header, query parameter and member, valid. Where the body
    names an agency it names the caller: an agency trying to consent, join or
    be disclosed to itself on another agency's object."""
    me = str(caller_agency.id)
    now = timezone.now()
    provision = {"recipients": {"agencies": [me]}, "categories": ["identity"], "purposes": ["referral"]}
    consent = {**provision, "form": "written", "grantor": "subject", "evidence_sha256": EVIDENCE}
    conditional = {"headers": {"If-Match": "*"}}
    requests = {
        "subjects_retrieve": {"query": {"purpose": "referral"}},
        "plans_retrieve": {"query": {"purpose": "team_plan"}},
        "placements_retrieve": {"query": {"purpose": "employment_placement"}},
        "subjects_consents_create": {"body": consent},
        "subjects_erasure_create": {"body": {"reason": "subject_request"}},
        "subjects_refusals_create": {"body": consent},
        "subjects_legal_bases_create": {"body": {**provision, "basis": "court_order", "reference": "III RC 2/26"}},
        "subjects_emergency_disclosures_create": {
            "body": {"recipient": me, "categories": ["safe_contact"], "justification": "Threat to life tonight."},
        },
        "consents_revoke_create": {"body": {"reason": "Withdrawn."}},
        "refusals_withdraw_create": {"body": {"reason": "Withdrawn."}},
        "legal_bases_end_create": {"body": {"reason": "The order ended."}},
        "referrals_transition_create": {"body": {"status": "received"}, **conditional},
        "referrals_updates_create": {"body": {"kind": "note", "payload": {"text": "We can help."}}},
        "plans_goals_create": {"body": {"title": "A safe place to live"}},
        "plans_actions_create": {"body": {"agency": me, "title": "Weekly call", "due_on": now.date().isoformat()}},
        "plans_reviews_create": {"body": {"kind": "monitoring", "summary": "Calmer."}},
        "plans_stage_create": {"body": {"stage": "intensive"}, **conditional},
        "actions_transition_create": {"body": {"status": "in_progress"}, **conditional},
        "blue_cards_steps_create": {"body": {"step": "nka_to_chair", "at": now.isoformat()}, **conditional},
        "blue_cards_close_create": {"body": {"ground": "violence_ceased", "at": now.isoformat()}, **conditional},
        "teams_members_create": {
            "body": {"agency": me, "role": "member", "confidentiality_declaration_at": now.isoformat()},
        },
        "teams_zi_meetings_create": {"body": {"at": now.isoformat()}},
        "placements_transition_create": {"body": {"status": "confirmed"}, **conditional},
        "placements_check_ins_create": {"body": {"month": now.strftime("%Y-%m"), "coordinator_notes": "Settling in.",
                                                 "who5": [3, 3, 3, 3, 3]}},
        "placements_outcome_create": {"body": {"outcome": "not_hired", "reason": "no_vacancy"}, **conditional},
        "placements_follow_up_create": {"body": {"still_employed": True}},
        "directory_services_partial_update": {"body": {"description": "Also on Saturdays."}},
        "directory_services_capacity_update": {"body": {"free": 1}},
    }
    return requests.get(operation.id, {})


# Which of the world's objects (world.ids) an operation acts on, where the
# parameter's name does not say it: three kinds of provision share `provision_id`.
_OBJECT = {
    "refusals_withdraw_create": {"provision_id": "refusal_id"},
    "legal_bases_end_create": {"provision_id": "basis_id"},
}


def path_for(operation: Operation, world) -> dict:
    """The path parameters that name the world's objects for `operation`."""
    names = _OBJECT.get(operation.id, {})
    return {name: world.ids[names.get(name, name)] for name in operation.parameters}


def missing_ids(operation: Operation) -> dict:
    return {name: str(uuid.uuid4()) for name in operation.parameters}
