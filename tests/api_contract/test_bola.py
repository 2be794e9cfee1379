"""Broken object-level authorisation (OWASP API1), over the whole published
schema (issue 12, item 6; DESIGN.md principle 7: an object another agency may
not see is a 404, not a 403).

- Every operation on one object, as an agency with every scope that has
  nothing to do with the object, with a request only the object's visibility
  can refuse (tests/api_contract/adversarial.py): a 404 problem, the very
  answer a made-up id gets, and nothing recorded. The owner's same request
  reaches the object (the control: the ids are real and the requests
  well-formed).
- The same for the owner's partner (the referral's recipient, a member of the
  owner's team), except where the contract lets it see the object.
- Two agencies, each with every scope and a world of its own, explore the API
  through the schema's links (schemathesis' stateful tests): no 5xx, no
  answer the schema does not document, and every object either reached is a
  404 to the other."""

from contextlib import ExitStack

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase
from schemathesis.generation.stateful import run_state_machine_as_test

from agencies.models import OutboxEvent
from consent_ledger.models import LedgerEntry
from hub.api.errors import VALIDATION_ERROR
from schemas.vocabularies import SCOPES, codes
from tests.conftest import example_rolled_back

from .adversarial import (
    CHECKS,
    EXAMPLES,
    REQUESTS,
    by_id,
    call,
    is_problem,
    missing_ids,
    operations,
    path_for,
    schema,
    well_formed,
)
from .world import build_everything

STEPS = 10
# What the contract lets the shelter see of the MOPS's objects: it is the
# referral's recipient (DESIGN 4.5), a member of the MOPS's ZI (4.6: the team
# and its Blue Card procedures, art. 9c; what only the chair may do is a 403
# to a member, who sees the team anyway), and Anna consented to it (the
# subject, disclosed). Everything else of the MOPS's is a 404 to it.
PARTNER_MAY = {
    "subjects_retrieve", "referrals_retrieve", "referrals_transition_create", "referrals_updates_list",
    "referrals_updates_create", "teams_retrieve", "teams_blue_cards_overview_retrieve", "teams_members_create",
    "teams_members_destroy", "teams_zi_meetings_create", "blue_cards_retrieve", "blue_cards_steps_create",
    "blue_cards_close_create", "fhir_task_retrieve", "fhir_bundle_referral_retrieve",
}
# The directory is for every agency (issue 14): any agency reads any active
# service (and, in HSDS, any active organization), as it searches for one;
# only its own agency changes it.
EVERY_AGENCY_MAY = {"directory_services_retrieve", "hsds_services_retrieve", "hsds_organizations_retrieve",
                    "fhir_organization_retrieve"}
# The owner's controls change state: reads first, removals last.
ORDER = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}


@pytest.fixture
def world(party):
    return build_everything(party)


def without_request_id(response) -> dict:
    return {k: v for k, v in response.json().items() if k != "request_id"}


def recorded() -> tuple[int, int]:
    return LedgerEntry.objects.count(), OutboxEvent.objects.count()


def assert_not_found_like_a_made_up_id(operation, attacker, path_parameters, kind):
    request = well_formed(operation, attacker.agency)
    theirs = call(operation, attacker.token, kind=kind, path_parameters=path_parameters, **request)
    made_up = call(operation, attacker.token, kind=kind, path_parameters=missing_ids(operation), **request)
    assert is_problem(theirs, 404), (operation.id, theirs.status_code, theirs.text)
    assert without_request_id(theirs) == without_request_id(made_up), operation.id


def assert_the_owner_reaches_it(operation, owner, path_parameters, attacker, kind):
    response = call(operation, owner.token, kind=kind, path_parameters=path_parameters,
                    **well_formed(operation, attacker.agency))
    # A refusal of the step in the object's state (409, 412, or a 422 other
    # than a malformed body: a sender cannot receive its own referral) is the
    # object, reached.
    refused_body = response.status_code == 422 and response.json()["code"] == VALIDATION_ERROR
    assert response.status_code not in (400, 404, 428) and not refused_body, (operation.id, response.text)


def test_every_operation_on_an_object_of_another_agency_is_a_404_and_records_nothing(world, party):
    stranger = party("MOPS Obca", "ops", scopes=codes(SCOPES))
    before = recorded()

    for operation in by_id():
        if operation.id in EVERY_AGENCY_MAY:
            response = call(operation, stranger.token, kind="bola", path_parameters=path_for(operation, world))
            assert response.status_code == 200, (operation.id, response.status_code)
            continue
        assert_not_found_like_a_made_up_id(operation, stranger, path_for(operation, world), "bola")

    assert recorded() == before
    for operation in sorted(by_id(), key=lambda op: ORDER[op.method]):
        assert_the_owner_reaches_it(operation, world.ops, path_for(operation, world), stranger, "bola")


def test_the_owners_partner_reaches_only_what_the_contract_lets_it(world):
    shelter = world.shelter

    for operation in by_id():
        if operation.id not in PARTNER_MAY | EVERY_AGENCY_MAY:
            assert_not_found_like_a_made_up_id(operation, shelter, path_for(operation, world), "bola")
    for operation in by_id():
        if operation.id in PARTNER_MAY:
            response = call(operation, shelter.token, kind="bola", path_parameters=path_for(operation, world),
                            **well_formed(operation, shelter.agency))
            assert response.status_code in (200, 201, 403), (operation.id, response.status_code, response.text)


def test_every_operation_on_an_object_is_the_target_of_a_link():
    targets = {
        link["operationId"]
        for item in schema.raw_schema["paths"].values()
        for operation in item.values() if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
        for link in response.get("links", {}).values()
    }

    assert {operation.id for operation in by_id()} <= targets
    assert targets <= {operation.id for operation in operations()}


def _evaluate(expression: str, case, body):
    """An OpenAPI runtime expression (3.0.3 §4.7.20.4) of the two kinds the schema's links use."""
    if expression.startswith("$request.path."):
        return case.path_parameters.get(expression.removeprefix("$request.path."))
    value = body
    for part in expression.removeprefix("$response.body#/").split("/"):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def _linked(case, response):
    """(operationId, path parameters) of every link this answer can be followed by."""
    links = case.operation.definition.raw["responses"].get(str(response.status_code), {}).get("links", {})
    for link in links.values():
        parameters = {name: _evaluate(expr, case, response.json()) for name, expr in link["parameters"].items()}
        if all(isinstance(value, str) for value in parameters.values()):
            yield link["operationId"], parameters


def explore(owner, other) -> int:
    """Run the schema's stateful tests as `owner`, each scenario from the
    world as built (rolled back after it, so that a replayed scenario meets
    the same state); every object an answer links to is at once asked for as
    `other`, with every operation the link leads to. Returns how many were.
    The owner's requests never name `other` (else it could be a party to
    what the owner made)."""
    replayed = set()
    operation = {op.id: op for op in by_id()}
    token, foreign = owner.token, str(other.agency.id)

    class AsOwner(schema.as_state_machine()):
        def setup(self):
            self.scenario = ExitStack()
            self.scenario.enter_context(example_rolled_back())

        def teardown(self):
            self.scenario.close()

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def before_call(self, case):
            assert foreign not in repr((case.path_parameters, case.query, case.body))

        def after_call(self, response, case):
            super().after_call(response, case)
            REQUESTS["stateful"] += 1
            if 200 <= response.status_code < 300:
                for target, parameters in _linked(case, response):
                    key = (target, tuple(sorted(parameters.items())))
                    complete = target in operation and set(operation[target].parameters) == parameters.keys()
                    complete = complete and target not in EVERY_AGENCY_MAY
                    if complete and key not in replayed:
                        replayed.add(key)
                        assert_not_found_like_a_made_up_id(operation[target], other, parameters, "stateful-bola")

        def validate_response(self, response, case, **kwargs):
            case.validate_response(response, checks=CHECKS)

    run_state_machine_as_test(AsOwner, settings=hypothesis.settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True,
        phases=[Phase.generate], suppress_health_check=list(HealthCheck),
    ))
    return len(replayed)


def test_two_agencies_exploring_through_the_links_never_reach_each_others_objects(party):
    alfa, beta = build_everything(party, "Alfa"), build_everything(party, "Beta")

    assert explore(alfa.ops, beta.ops) and explore(beta.ops, alfa.ops), "the exploration reached no object"
