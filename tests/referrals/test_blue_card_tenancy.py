"""Tenancy (DESIGN.md principle 7): a procedure exists only for agencies with
access to its ZI or GDP. A member without its confidentiality declaration, a
removed member and a non-member each get the same 404 as for a procedure that
does not exist, on every procedure endpoint, and nothing is written for them:
no step, no ledger entry, no event."""

import uuid

import pytest

from hub.api.errors import NOT_FOUND, PROBLEM_CONTENT_TYPE

from .blue_card_world import BLUE_CARDS, World, recently, url, written

OUTSIDERS = ("outsider", "undeclared", "removed")


@pytest.fixture
def world(party) -> World:
    return World(party)


def requests(world: World, procedure_id) -> list[tuple]:
    """Every procedure endpoint, each with a well-formed request, so that only
    tenancy can refuse it."""
    return [
        ("GET", url(procedure_id), None, {}),
        ("POST", url(procedure_id, "/steps/"), {"step": "nka_to_chair", "at": recently()}, {}),
        ("POST", url(procedure_id, "/steps/"), {"step": "gdp_meeting", "at": recently()}, {"HTTP_IDEMPOTENCY_KEY": "k1"}),
        ("POST", url(procedure_id, "/steps/"), {"step": "gdp_formed", "at": recently(), "gdp": str(world.gdp.id)}, {"HTTP_IF_MATCH": "*"}),
        ("POST", url(procedure_id, "/close"), {"ground": "groundless", "at": recently()}, {}),
    ]


def call(party, method, path, body, headers):
    if method == "GET":
        return party.client.get(path, **{"HTTP_AUTHORIZATION": f"Bearer {party.token}"}, **headers)
    return party.post(path, body, **headers)


def without_request_id(problem: dict) -> dict:
    return {k: v for k, v in problem.items() if k != "request_id"}


@pytest.mark.parametrize("who", OUTSIDERS)
def test_every_procedure_endpoint_is_a_404_and_writes_nothing(world, who):
    procedure_id = world.open()
    party = getattr(world, who)
    before = written()

    for method, path, body, headers in requests(world, procedure_id):
        response = call(party, method, path, body, headers)
        assert response.status_code == 404, (who, method, path, response.content)
        assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
        assert response.json()["code"] == NOT_FOUND
        assert "ETag" not in response
        missing = call(party, method, path.replace(procedure_id, str(uuid.uuid4())), body, {})
        assert without_request_id(response.json()) == without_request_id(missing.json())

    assert party.get(BLUE_CARDS).json()["results"] == []
    assert party.get(BLUE_CARDS, team=str(world.zi.id)).json()["results"] == []
    assert party.get(f"/api/v1/teams/{world.zi.id}/blue-cards/overview").status_code == 404
    assert party.post(f"/api/v1/teams/{world.zi.id}/zi-meetings/", {"at": recently()}).status_code == 404
    assert written() == before


@pytest.mark.parametrize("who", OUTSIDERS)
def test_opening_in_a_zi_without_access_is_refused_as_an_unknown_team(world, who):
    party = getattr(world, who)
    before = written()

    opened = party.post(BLUE_CARDS, world.nka(opened_by_kind=party.agency.kind))

    assert opened.status_code == 422, opened.content
    assert {"pointer": "/team", "detail": "No such team among yours."} in opened.json()["errors"]
    assert written() == before


def test_a_member_removed_after_the_opening_loses_access_at_once(world):
    from agencies.teams import team_member_remove

    procedure_id = world.open()
    assert world.ngo.get(url(procedure_id)).status_code == 200

    team_member_remove(caller=world.mops.caller, team_id=world.zi.id, agency_id=world.ngo.agency.id)
    before = written()

    assert world.ngo.get(url(procedure_id)).status_code == 404
    assert written() == before


def test_reading_needs_plans_read_and_writing_plans_write(world, party):
    procedure_id = world.open()
    reader = party("Szkoła bez zapisu", "school", scopes=["plans:read"])

    assert reader.post(url(procedure_id, "/steps/"), {"step": "nka_to_chair", "at": recently()}).status_code == 403
    assert reader.post(BLUE_CARDS, world.nka()).status_code == 403
