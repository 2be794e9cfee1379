"""Schemathesis against the published schema, in-process through the WSGI app
(issue 16, acceptance): every operation, as an agency whose client holds
every scope, with bounded, derandomized examples. Path parameters name the
objects of a small world (tests/api_contract/world.py) so that answers are
real objects as well as 404s.

Checks: the response matches its documented schema, content type and status
code, and is never a server error. PITFALLS: schemathesis sends
`Host: localhost` (allowed in test settings); every 4xx is documented as
application/problem+json (hub.api.schema)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .world import application, build

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def world(party):
    return build(party)


@schema.parametrize()
@settings(
    max_examples=5, derandomize=True, deadline=None, phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, world):
    for name in case.path_parameters or {}:
        if name in world.ids:
            case.path_parameters[name] = world.ids[name]
    case.call_and_validate(headers={"Authorization": f"Bearer {world.ops.token}"}, checks=CHECKS)
