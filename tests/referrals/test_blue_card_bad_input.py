"""Bad input to the Blue Card endpoints: always a problem+json 4xx naming what
is wrong (a JSON pointer for the body, the parameter for the query), never a
500, and never a partial write."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from agencies.teams import team_create
from hub.api.errors import PROBLEM_CONTENT_TYPE

from .blue_card_world import BLUE_CARDS, NKC, World, iso, recently, url, written


@pytest.fixture
def world(party) -> World:
    return World(party)


def refused(response, status: int, pointer: str | None = None, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    if pointer is not None:
        assert pointer in [e.get("pointer") for e in body.get("errors", [])], body
    if code is not None:
        assert body["code"] == code, body
    return body


FUTURE = iso(timezone.now() + timedelta(days=2))

BAD_NKA = [
    ({"team": str(uuid.uuid4())}, "/team"),
    ({"subject": str(uuid.uuid4())}, "/subject"),
    ({"opened_by_kind": "ops"}, "/opened_by_kind"),  # not the police's own kind
    ({"opened_by_kind": "employer"}, "/opened_by_kind"),  # not a kind the statute names
    ({"forms_of_violence": []}, "/forms_of_violence"),
    ({"forms_of_violence": ["physical", "spiritual"]}, "/forms_of_violence/1"),
    ({"children_in_household": -1}, "/children_in_household"),
    ({"children_in_household": "two"}, "/children_in_household"),
    ({"opened_at": "2025-12-23T10:00:00"}, "/opened_at"),  # no zone
    ({"opened_at": FUTURE}, "/opened_at"),
    ({"opened_at": "yesterday"}, "/opened_at"),
    ({"opened_at": "0001-01-01T00:00:00Z"}, "/opened_at"),
    ({"subject": "not-a-uuid"}, "/subject"),
    ({"colour": "blue"}, "/colour"),
]


@pytest.mark.parametrize(("changes", "pointer"), BAD_NKA, ids=[p for _, p in BAD_NKA])
def test_a_bad_nka_is_refused_at_its_pointer(world, changes, pointer):
    before = written()

    refused(world.police.post(BLUE_CARDS, world.nka(**changes)), 422, pointer)

    assert written() == before


def test_a_gdp_is_not_a_zi_for_opening(world):
    refused(world.police.post(BLUE_CARDS, world.nka(team=str(world.gdp.id))), 422, "/team")


def test_an_opener_who_may_not_see_the_person_is_told_to_register_them(world):
    # The school is a ZI member but has no basis for Anna and does not own her record.
    before = written()

    body = refused(world.school.post(BLUE_CARDS, world.nka(opened_by_kind="school")), 422, "/subject")

    assert "register" in body["errors"][0]["detail"]
    assert written() == before


@pytest.fixture
def procedure_id(world) -> str:
    return world.open()


def test_steps_out_of_order_are_conflicts(world, procedure_id):
    before = written()
    body = refused(world.step(world.mops, procedure_id, "gdp_formed", gdp=str(world.gdp.id)), 409,
                   code="blue_card_step_out_of_order")
    assert body["needs"] == "nka_to_chair"
    refused(world.step(world.school, procedure_id, "nkc", content=NKC), 409, code="blue_card_step_out_of_order")
    assert written() == before

    world.record(world.mops, procedure_id, "nka_to_chair")
    refused(world.step(world.mops, procedure_id, "nka_to_chair"), 409, code="blue_card_step_out_of_order")


def test_a_gdp_outside_the_procedures_zi_is_refused(world, procedure_id, party):
    world.record(world.mops, procedure_id, "nka_to_chair")
    other_ops = party("MOPS Legnica", "ops", scopes=["plans:write"])
    other_zi = team_create(caller=other_ops.caller, name="ZI Legnica", kind="zi")
    other_gdp = team_create(caller=other_ops.caller, name="GDP Legnica", kind="gdp", parent_id=other_zi.id)
    before = written()

    for gdp in (str(other_gdp.id), str(other_zi.id), str(world.zi.id), str(uuid.uuid4()), None):
        body = {"gdp": gdp} if gdp else {}
        refused(world.step(world.mops, procedure_id, "gdp_formed", **body), 422, "/gdp")

    assert written() == before


def test_a_gdp_serves_one_procedure(world, procedure_id, party):
    world.up_to_gdp(procedure_id)
    world.record(world.mops, procedure_id, "gdp_meeting")
    world.record(world.mops, procedure_id, "nkc", content=NKC)
    assert world.mops.post(url(procedure_id, "/close"), {"ground": "violence_ceased", "at": recently(0.5)}).status_code == 200
    again = world.open()
    world.record(world.mops, again, "nka_to_chair")

    refused(world.step(world.mops, again, "gdp_formed", gdp=str(world.gdp.id)), 422, "/gdp")


@pytest.mark.parametrize(
    ("who", "step"),
    [("ngo", "nka_to_chair"), ("police", "nka_to_chair"), ("school", "nka_to_chair")],
)
def test_only_the_chair_receives_the_nka(world, procedure_id, who, step):
    before = written()

    refused(world.step(getattr(world, who), procedure_id, step), 403, code="blue_card_not_permitted")

    assert written() == before


def test_only_gdp_members_record_the_gdps_work(world, procedure_id):
    world.up_to_gdp(procedure_id)
    before = written()

    refused(world.step(world.ngo, procedure_id, "gdp_meeting"), 403, code="blue_card_not_permitted")
    refused(world.step(world.ngo, procedure_id, "nkc", content=NKC), 403, code="blue_card_not_permitted")
    assert written() == before


BAD_STEPS = [
    ({"step": "nke"}, "/step"),
    ({"at": "2026-01-02T08:00:00"}, "/at"),
    ({"at": FUTURE}, "/at"),
    ({"at": "2025-12-01T08:00:00+01:00"}, "/at"),  # before the opening
    ({"gdp": str(uuid.uuid4())}, "/gdp"),  # only gdp_formed names a GDP
    ({"content": {"plan": "x"}}, "/content"),  # only nkc and nkd carry content
    ({"extra": 1}, "/extra"),
]


@pytest.mark.parametrize(("changes", "pointer"), BAD_STEPS, ids=[p for _, p in BAD_STEPS])
def test_a_bad_step_is_refused_at_its_pointer(world, procedure_id, changes, pointer):
    before = written()
    body = {"step": "nka_to_chair", "at": recently(), **changes}

    refused(world.mops.post(url(procedure_id, "/steps/"), body), 422, pointer)

    assert written() == before


@pytest.mark.parametrize(
    ("content", "pointer"),
    [(None, "/content"), ({}, "/content/plan"), ({"plan": ""}, "/content/plan"),
     ({"plan": "x", "risk": {"level": "extreme"}}, "/content/risk/level"), ({"plan": "x", "pesel": "1"}, "/content/pesel"),
     ("text", "/content")],
)
def test_a_bad_nkc_is_refused_at_its_pointer(world, procedure_id, content, pointer):
    world.up_to_gdp(procedure_id)
    before = written()
    body = {"step": "nkc", "at": recently()} | ({"content": content} if content is not None else {})

    refused(world.school.post(url(procedure_id, "/steps/"), body), 422, pointer)

    assert written() == before


def test_a_step_before_the_one_it_follows_is_refused(world, procedure_id):
    world.record(world.mops, procedure_id, "nka_to_chair", at="2026-01-02T08:00:00+01:00")

    refused(world.step(world.mops, procedure_id, "gdp_formed", at="2026-01-01T08:00:00+01:00", gdp=str(world.gdp.id)),
            422, "/at")


def test_a_stale_if_match_is_a_412(world, procedure_id):
    etag = world.police.get(url(procedure_id))["ETag"]
    world.record(world.mops, procedure_id, "nka_to_chair")
    before = written()

    body = refused(world.mops.post(url(procedure_id, "/steps/"), {"step": "gdp_formed", "at": recently(),
                                                                  "gdp": str(world.gdp.id)}, HTTP_IF_MATCH=etag), 412)

    assert body["current_etag"] != etag
    assert written() == before


def test_closing_is_the_chairs_once_on_a_ground_the_regulation_knows(world, procedure_id):
    before = written()
    refused(world.ngo.post(url(procedure_id, "/close"), {"ground": "groundless", "at": recently()}), 403)
    refused(world.mops.post(url(procedure_id, "/close"), {"ground": "bored", "at": recently()}), 422, "/ground")
    refused(world.mops.post(url(procedure_id, "/close"), {"ground": "groundless", "at": FUTURE}), 422, "/at")
    refused(world.mops.post(url(procedure_id, "/close"), {"ground": "groundless", "at": "2025-01-01T00:00:00Z"}), 422, "/at")
    # Violence ceased means the support plan (NK-C) was carried out: there is none yet.
    refused(world.mops.post(url(procedure_id, "/close"), {"ground": "violence_ceased", "at": recently()}), 409,
            code="blue_card_step_out_of_order")
    assert written() == before

    assert world.mops.post(url(procedure_id, "/close"), {"ground": "groundless", "at": recently()}).status_code == 200
    closed = written()
    refused(world.mops.post(url(procedure_id, "/close"), {"ground": "groundless", "at": recently()}), 409,
            code="blue_card_closed")
    assert written() == closed


def test_malformed_bodies_are_problems_not_500s(world, procedure_id):
    for body in ([], "x", {"step": None, "at": None}, {"step": ["nkc"], "at": 5}):
        response = world.mops.post(url(procedure_id, "/steps/"), body)
        assert 400 <= response.status_code < 500, (body, response.content)
        assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert world.mops.get(BLUE_CARDS, team="nope").status_code == 422
    assert world.mops.get(BLUE_CARDS, status="half").status_code == 422
