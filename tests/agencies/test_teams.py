"""Interdisciplinary teams (ZI) and their GDPs: who may form them, who is in
them, who has access (art. 9c declaration, not removed), the history of every
change, and how a provision naming a team reaches its members."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies import teams
from agencies.models import OutboxEvent, Team, TeamMembership, TeamMembershipChange
from agencies.selectors import (
    team_access_ids,
    team_get_for_member,
    team_is_chair,
    team_list_for_agency,
    team_member_agency_ids,
)
from agencies.teams import team_create, team_member_add, team_member_remove
from consent_ledger.decisions import decide
from consent_ledger.models import LedgerEntry
from consent_ledger.selectors import provisions_in_force, recipient_of
from consent_ledger.services import Terms, consent_grant, subject_create
from hub.api.errors import (
    INSUFFICIENT_SCOPE,
    NOT_FOUND,
    PROBLEM_CONTENT_TYPE,
    Conflict,
    NotFoundError,
    ValidationFailed,
)
from hub.api.idempotency import REPLAYED_HEADER
from tests.conftest import ALL_SCOPES, bearer

PLAN_SCOPES = (*ALL_SCOPES, "plans:read", "plans:write")
TEAMS = "/api/v1/teams/"
EVIDENCE = "ab" * 32
OUTSIDER_KINDS = ("ops", "police", "school", "health", "ngo")


@pytest.fixture
def member(party):
    """member(name, kind) -> Party whose token holds the plans scopes too."""

    def make(name, kind="ops", **kwargs):
        return party(name, kind, scopes=PLAN_SCOPES, **kwargs)

    return make


@pytest.fixture
def wroclaw(member):
    """A ZI chaired by MOPS Wrocław, with police (declared) and a school (declared)."""
    mops = member("MOPS Wrocław", "ops", teryt="0264011")
    police = member("KMP Wrocław", "police")
    school = member("SP 12 Wrocław", "school")
    zi = team_create(caller=mops.caller, name="ZI Wrocław", kind=Team.ZI)
    for other in (police, school):
        add(mops, zi, other, declared=days_ago(3))
    return mops, police, school, zi


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def add(chair, team, other, role="member", declared=None):
    return team_member_add(
        caller=chair.caller, team_id=team.id, agency_id=other.agency.id, role=role, confidentiality_declaration_at=declared
    )


def delete(party, path):
    return party.client.delete(path, **bearer(party.token))


def counts() -> tuple[int, ...]:
    """Everything a team write could touch: nothing may change on a refused one."""
    return (
        Team.objects.count(), TeamMembership.objects.count(), TeamMembershipChange.objects.count(),
        OutboxEvent.objects.count(), LedgerEntry.objects.count(),
        TeamMembership.objects.filter(removed_at__isnull=False).count(),
    )


def pointers(problem) -> list[str]:
    return sorted(e["pointer"] for e in problem["errors"])


def history(team) -> list[tuple[str, str]]:
    return [(str(c.agency_id), c.change) for c in team.membership_changes.order_by("at", "id")]


# --- Forming teams ---------------------------------------------------------------------------


def test_an_ops_creates_the_zi_of_its_gmina_and_chairs_it(member):
    mops = member("MOPS Wrocław", "ops", teryt="0264011")

    response = mops.post(TEAMS, {"name": "ZI Wrocław", "kind": "zi"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/teams/{body['id']}"
    assert (body["kind"], body["parent"], body["teryt"]) == ("zi", None, "0264011")
    [chair] = body["members"]
    assert (chair["agency"], chair["role"]) == (str(mops.agency.id), "chair")
    assert chair["confidentiality_declaration_at"] is not None  # defaults to now: the chair has access at once
    team = Team.objects.get(pk=body["id"])
    assert team_is_chair(team, mops.agency)
    assert history(team) == [(str(mops.agency.id), "added")]


@pytest.mark.parametrize("kind", ["pcpr", "police", "school", "health", "ngo"])
def test_only_an_ops_creates_a_zi(member, kind):
    other = member(f"Agencja {kind}", kind)
    before = counts()

    response = other.post(TEAMS, {"name": "ZI Testowo", "kind": "zi"})

    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == teams.ZI_CREATOR_NOT_OPS
    assert counts() == before


def test_a_gmina_has_one_zi_and_an_ops_creates_only_its_own(member):
    mops = member("MOPS Wrocław", "ops", teryt="0264011")
    other_ops = member("MOPS Oleśnica", "ops", teryt="0214011")
    assert mops.post(TEAMS, {"name": "ZI Wrocław", "kind": "zi"}).status_code == 201

    again = mops.post(TEAMS, {"name": "ZI Wrocław 2", "kind": "zi"})
    foreign = other_ops.post(TEAMS, {"name": "ZI Wrocław", "kind": "zi", "teryt": "0264011"})

    assert (again.status_code, again.json()["code"]) == (409, teams.ZI_EXISTS)
    assert (foreign.status_code, pointers(foreign.json())) == (422, ["/teryt"])
    assert Team.objects.count() == 1


def test_only_the_zi_chair_forms_a_gdp_and_chairs_it(wroclaw):
    mops, police, _, zi = wroclaw
    body = {"name": "GDP 1/2026", "kind": "gdp", "parent": str(zi.id)}

    refused = police.post(TEAMS, body)
    formed = mops.post(TEAMS, body)

    assert (refused.status_code, refused.json()["code"]) == (403, teams.TEAM_CHAIR_REQUIRED)
    assert formed.status_code == 201, formed.content
    gdp = Team.objects.get(pk=formed.json()["id"])
    assert (gdp.kind, gdp.parent_id, gdp.teryt) == ("gdp", zi.id, zi.teryt)
    assert team_is_chair(gdp, mops.agency)
    assert Team.objects.filter(kind="gdp").count() == 1


def test_a_gdp_needs_a_zi_of_the_callers_as_parent(wroclaw, member):
    mops, _, _, zi = wroclaw
    gdp = team_create(caller=mops.caller, name="GDP 1/2026", kind=Team.GDP, parent_id=zi.id)
    stranger = member("MOPS Oleśnica", "ops")
    before = counts()

    missing = mops.post(TEAMS, {"name": "GDP", "kind": "gdp"})
    under_gdp = mops.post(TEAMS, {"name": "GDP", "kind": "gdp", "parent": str(gdp.id)})
    not_theirs = stranger.post(TEAMS, {"name": "GDP", "kind": "gdp", "parent": str(zi.id)})
    zi_with_parent = mops.post(TEAMS, {"name": "ZI", "kind": "zi", "parent": str(zi.id)})

    for response in (missing, under_gdp, not_theirs, zi_with_parent):
        assert response.status_code == 422, response.content
        assert pointers(response.json()) == ["/parent"]
        assert response.json()["code"] == teams.TEAM_PARENT_INVALID
    assert counts() == before


def test_bad_team_bodies_are_422_at_their_pointers(member):
    mops = member("MOPS Wrocław", "ops")
    future = (timezone.now() + timedelta(days=1)).isoformat()

    response = mops.post(TEAMS, {"name": "", "kind": "zespół"})
    future_declaration = mops.post(TEAMS, {"name": "ZI", "kind": "zi", "confidentiality_declaration_at": future})

    assert response.status_code == 422
    assert pointers(response.json()) == ["/kind", "/name"]
    assert (future_declaration.status_code, pointers(future_declaration.json())) == (422, ["/confidentiality_declaration_at"])
    with pytest.raises(ValidationFailed) as caught:
        team_create(caller=mops.caller, name="ZI", kind="zi", confidentiality_declaration_at=timezone.now() + timedelta(hours=1))
    assert caught.value.errors[0]["pointer"] == "/confidentiality_declaration_at"
    assert caught.value.code == teams.DECLARATION_INVALID
    assert Team.objects.count() == 0


def test_creating_a_team_is_idempotent_by_key(member):
    mops = member("MOPS Wrocław", "ops")
    body = {"name": "ZI Wrocław", "kind": "zi"}

    first = mops.post(TEAMS, body, HTTP_IDEMPOTENCY_KEY="zi-1")
    again = mops.post(TEAMS, body, HTTP_IDEMPOTENCY_KEY="zi-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again[REPLAYED_HEADER] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again["Location"] == first["Location"]
    assert Team.objects.count() == 1


# --- Members ------------------------------------------------------------------------------------


def test_the_chair_adds_a_member_through_the_api(wroclaw, member):
    mops, _, _, zi = wroclaw
    ngo = member("Fundacja Bezpieczny Dom", "ngo")
    declared = days_ago(1).isoformat()

    response = mops.post(f"{TEAMS}{zi.id}/members/", {"agency": str(ngo.agency.id), "role": "member",
                                                       "confidentiality_declaration_at": declared})

    assert response.status_code == 201, response.content
    assert (response.json()["agency"], response.json()["changes"]) == (str(ngo.agency.id), ["added"])
    assert str(zi.id) in team_access_ids(ngo.agency.id)


def test_a_gdp_member_outside_the_zi_is_422_at_agency_and_nothing_is_written(wroclaw, member):
    mops, police, _, zi = wroclaw
    gdp = team_create(caller=mops.caller, name="GDP 1/2026", kind=Team.GDP, parent_id=zi.id)
    health = member("Przychodnia Wrocław", "health")  # not in the ZI
    before = counts()

    outside = mops.post(f"{TEAMS}{gdp.id}/members/", {"agency": str(health.agency.id), "role": "member"})
    inside = mops.post(f"{TEAMS}{gdp.id}/members/", {"agency": str(police.agency.id), "role": "member"})

    assert outside.status_code == 422
    assert outside["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert outside.json()["errors"] == [
        {"pointer": "/agency", "detail": "A GDP's members must be members of its ZI.", "code": teams.TEAM_MEMBER_NOT_IN_ZI}
    ]
    assert inside.status_code == 201
    assert counts()[1:3] == (before[1] + 1, before[2] + 1)  # only the police's row and its history


def test_bad_member_input_is_422_at_each_pointer(wroclaw):
    mops, _, _, zi = wroclaw
    unknown = "00000000-0000-4000-8000-000000000000"
    future = (timezone.now() + timedelta(days=2)).isoformat()
    before = counts()

    response = mops.post(f"{TEAMS}{zi.id}/members/", {"agency": unknown, "role": "member",
                                                       "confidentiality_declaration_at": future})
    with pytest.raises(ValidationFailed) as caught:
        team_member_add(caller=mops.caller, team_id=zi.id, agency_id=unknown, role="boss")

    assert response.status_code == 422
    assert pointers(response.json()) == ["/agency", "/confidentiality_declaration_at"]
    assert {e["pointer"]: e["code"] for e in caught.value.errors} == {
        "/role": teams.TEAM_ROLE_UNKNOWN, "/agency": teams.TEAM_AGENCY_UNKNOWN,
    }
    assert mops.post(f"{TEAMS}{zi.id}/members/", {"agency": unknown, "role": "boss"}).json()["errors"][0]["pointer"] == "/role"
    assert counts() == before


def test_adding_a_member_again_is_409_unless_it_brings_a_new_declaration(wroclaw, member):
    mops, _, _, zi = wroclaw
    ngo = member("Fundacja Bezpieczny Dom", "ngo")
    add(mops, zi, ngo)  # no declaration yet: a member without access
    path = f"{TEAMS}{zi.id}/members/"

    assert str(zi.id) not in team_access_ids(ngo.agency.id)
    duplicate = mops.post(path, {"agency": str(ngo.agency.id), "role": "member"})
    recorded = mops.post(path, {"agency": str(ngo.agency.id), "role": "member",
                                "confidentiality_declaration_at": days_ago(0).isoformat()})

    assert (duplicate.status_code, duplicate.json()["code"]) == (409, teams.TEAM_MEMBER_EXISTS)
    assert (recorded.status_code, recorded.json()["changes"]) == (200, ["declaration_recorded"])
    assert str(zi.id) in team_access_ids(ngo.agency.id)
    assert TeamMembership.objects.filter(team=zi, agency=ngo.agency).count() == 1
    assert history(zi)[-2:] == [(str(ngo.agency.id), "added"), (str(ngo.agency.id), "declaration_recorded")]


def test_naming_another_member_chair_hands_the_chair_over(wroclaw):
    mops, police, school, zi = wroclaw

    result = add(mops, zi, police, role="chair")

    assert result.changes == ("role_changed",)
    assert team_is_chair(zi, police.agency) and not team_is_chair(zi, mops.agency)
    assert history(zi)[-2:] == [(str(mops.agency.id), "role_changed"), (str(police.agency.id), "role_changed")]
    with pytest.raises(teams.TeamForbidden):
        team_member_remove(caller=mops.caller, team_id=zi.id, agency_id=school.agency.id)
    team_member_remove(caller=police.caller, team_id=zi.id, agency_id=mops.agency.id)
    assert str(zi.id) not in team_access_ids(mops.agency.id)


def test_a_chair_needs_a_declaration(wroclaw, member):
    mops, _, _, zi = wroclaw
    ngo = member("Fundacja Bezpieczny Dom", "ngo")

    with pytest.raises(ValidationFailed) as caught:
        add(mops, zi, ngo, role="chair")

    assert caught.value.code == teams.CHAIR_NEEDS_DECLARATION
    assert team_is_chair(zi, mops.agency)
    assert not TeamMembership.objects.filter(agency=ngo.agency).exists()


def test_the_chair_cannot_remove_or_demote_itself(wroclaw):
    mops, _, _, zi = wroclaw
    before = counts()

    removal = delete(mops, f"{TEAMS}{zi.id}/members/{mops.agency.id}")
    with pytest.raises(Conflict) as caught:
        add(mops, zi, mops, role="member")

    assert (removal.status_code, removal.json()["code"]) == (409, teams.TEAM_NEEDS_CHAIR)
    assert caught.value.code == teams.TEAM_NEEDS_CHAIR
    assert counts() == before


def test_a_member_that_is_not_chair_may_not_change_the_membership(wroclaw, member):
    mops, police, school, zi = wroclaw
    ngo = member("Fundacja Bezpieczny Dom", "ngo")
    before = counts()

    adding = police.post(f"{TEAMS}{zi.id}/members/", {"agency": str(ngo.agency.id), "role": "member"})
    removing = delete(police, f"{TEAMS}{zi.id}/members/{school.agency.id}")

    assert (adding.status_code, adding.json()["code"]) == (403, teams.TEAM_CHAIR_REQUIRED)
    assert (removing.status_code, removing.json()["code"]) == (403, teams.TEAM_CHAIR_REQUIRED)
    assert counts() == before


def test_removing_a_zi_member_removes_it_from_the_zis_gdps_and_keeps_the_rows(wroclaw):
    mops, police, school, zi = wroclaw
    gdp = team_create(caller=mops.caller, name="GDP 1/2026", kind=Team.GDP, parent_id=zi.id)
    add(mops, gdp, police, declared=days_ago(1))

    response = delete(mops, f"{TEAMS}{zi.id}/members/{police.agency.id}")

    assert response.status_code == 204
    assert team_access_ids(police.agency.id) == frozenset()
    rows = TeamMembership.objects.filter(agency=police.agency)
    assert rows.count() == 2 and all(row.removed_at is not None for row in rows)
    assert history(zi)[-1] == (str(police.agency.id), "removed")
    assert history(gdp)[-1] == (str(police.agency.id), "removed")
    removed = OutboxEvent.objects.filter(type=teams.MEMBER_REMOVED).order_by("seq")
    assert [str(e.object_id) for e in removed] == [str(zi.id), str(gdp.id)]
    assert all(str(police.agency.id) in e.agencies and str(mops.agency.id) in e.agencies for e in removed)
    assert str(school.agency.id) in removed[0].agencies and str(school.agency.id) not in removed[1].agencies
    assert delete(mops, f"{TEAMS}{zi.id}/members/{police.agency.id}").status_code == 404


def test_a_member_chairing_a_gdp_is_not_removed_from_the_zi_until_it_hands_over(wroclaw):
    mops, police, _, zi = wroclaw
    gdp = team_create(caller=mops.caller, name="GDP 1/2026", kind=Team.GDP, parent_id=zi.id)
    add(mops, gdp, police, role="chair", declared=days_ago(1))
    before = counts()

    response = delete(mops, f"{TEAMS}{zi.id}/members/{police.agency.id}")

    assert (response.status_code, response.json()["code"]) == (409, teams.TEAM_MEMBER_CHAIRS_GDP)
    assert response.json()["gdps"] == [str(gdp.id)]
    assert counts() == before


def test_a_removed_member_added_again_gets_a_new_row(wroclaw):
    mops, police, _, zi = wroclaw
    team_member_remove(caller=mops.caller, team_id=zi.id, agency_id=police.agency.id)

    add(mops, zi, police, declared=days_ago(0))

    rows = TeamMembership.objects.filter(team=zi, agency=police.agency).order_by("joined_at")
    assert [row.removed_at is None for row in rows] == [False, True]
    assert str(zi.id) in team_access_ids(police.agency.id)


def test_every_change_leaves_a_history_row_with_its_actor(wroclaw, member):
    mops, police, _, zi = wroclaw
    ngo = member("Fundacja Bezpieczny Dom", "ngo")
    before = TeamMembershipChange.objects.count()

    add(mops, zi, ngo)
    add(mops, zi, ngo, declared=days_ago(0))
    add(mops, zi, police, role="chair")
    team_member_remove(caller=police.caller, team_id=zi.id, agency_id=ngo.agency.id)

    changes = list(TeamMembershipChange.objects.order_by("at", "id")[before:])
    assert [(c.agency_id, c.change) for c in changes] == [
        (ngo.agency.id, "added"), (ngo.agency.id, "declaration_recorded"),
        (mops.agency.id, "role_changed"), (police.agency.id, "role_changed"), (ngo.agency.id, "removed"),
    ]
    assert [c.acting_agency_id for c in changes] == [mops.agency.id] * 4 + [police.agency.id]
    assert changes[0].actor == f"client:{mops.application.client_id}"
    assert (changes[2].role, changes[3].role) == ("member", "chair")


def test_thin_events_carry_ids_and_codes_never_names(wroclaw, member):
    mops, police, _, zi = wroclaw
    ngo = member("Fundacja Bezpieczny Dom", "ngo")
    add(mops, zi, ngo, declared=days_ago(0))
    team_member_remove(caller=mops.caller, team_id=zi.id, agency_id=ngo.agency.id)

    events = list(OutboxEvent.objects.filter(object_type="team").order_by("seq"))

    assert [e.type for e in events] == [teams.MEMBER_ADDED] * 4 + [teams.MEMBER_REMOVED]
    text = json.dumps([e.as_message() for e in events])
    for name in ("Wrocław", "Wroc", "Fundacja", "KMP", "MOPS", "SP 12"):
        assert name not in text
    assert events[-1].data == {"team_kind": "zi", "parent": None, "agency": str(ngo.agency.id),
                               "role": "member", "changes": ["removed"]}
    assert str(ngo.agency.id) in events[-1].agencies


# --- Access: who sees a team --------------------------------------------------------------------


def test_selectors_give_access_only_with_a_declaration_and_until_removal(wroclaw, member):
    mops, police, school, zi = wroclaw
    ngo = member("Fundacja Bezpieczny Dom", "ngo")
    add(mops, zi, ngo)  # no declaration

    assert team_member_agency_ids(zi) == sorted(str(p.agency.id) for p in (mops, police, school))
    assert list(team_list_for_agency(ngo.agency)) == []
    assert team_get_for_member(zi.id, police.agency) == zi
    for team_id, agency in ((zi.id, ngo.agency), ("not-a-uuid", police.agency), (None, police.agency)):
        with pytest.raises(NotFoundError):
            team_get_for_member(team_id, agency)
    team_member_remove(caller=mops.caller, team_id=zi.id, agency_id=police.agency.id)
    with pytest.raises(NotFoundError):
        team_get_for_member(zi.id, police.agency)
    assert team_is_chair(zi, mops.agency) and not team_is_chair(zi, school.agency)


ENDPOINTS = ("get_team", "add_member", "remove_member")
STANDINGS = ("no_declaration", "non_member", "removed")


@pytest.mark.parametrize("standing", STANDINGS)
@pytest.mark.parametrize("kind", OUTSIDER_KINDS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_agencies_without_access_get_404_on_every_team_endpoint_and_write_nothing(wroclaw, member, endpoint, kind, standing):
    mops, police, school, zi = wroclaw
    caller = member(f"Agencja {kind}", kind)
    candidate = member("Fundacja Bezpieczny Dom", "ngo")
    if standing != "non_member":
        add(mops, zi, caller, declared=None if standing == "no_declaration" else days_ago(2))
    if standing == "removed":
        team_member_remove(caller=mops.caller, team_id=zi.id, agency_id=caller.agency.id)
    before = counts()

    response = {
        "get_team": lambda: caller.get(f"{TEAMS}{zi.id}"),
        "add_member": lambda: caller.post(f"{TEAMS}{zi.id}/members/", {"agency": str(candidate.agency.id), "role": "member"}),
        "remove_member": lambda: delete(caller, f"{TEAMS}{zi.id}/members/{school.agency.id}"),
    }[endpoint]()

    assert response.status_code == 404, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == NOT_FOUND
    assert counts() == before
    assert caller.get(TEAMS).json()["results"] == []


# --- A provision naming a team ------------------------------------------------------------------


def test_a_consent_naming_a_team_reaches_only_members_with_access_and_stops_at_removal(wroclaw, member):
    mops, police, _, zi = wroclaw
    ngo = member("Fundacja Bezpieczny Dom", "ngo")
    add(mops, zi, ngo)  # a member whose declaration has not been received
    subject = subject_create(caller=mops.caller, external_ref="ZI/1/2026", profile={"person": {"given_name": "Anna"}})
    consent_grant(
        caller=mops.caller, subject_id=subject.id, form="written", grantor="subject", evidence_sha256=EVIDENCE,
        terms=Terms(categories=["identity"], purposes=["team_plan"], teams=[str(zi.id)]),
    )

    def permitted(party) -> list[str]:
        provisions = provisions_in_force(subject.id)
        return decide(provisions, recipient_of(party.agency, provisions), ["identity"], "team_plan", timezone.now()).permitted

    assert permitted(police) == ["identity"]
    assert permitted(ngo) == []
    team_member_remove(caller=mops.caller, team_id=zi.id, agency_id=police.agency.id)
    assert permitted(police) == []


def test_a_removed_member_reading_the_subject_gets_404_on_its_next_request(wroclaw):
    mops, police, _, zi = wroclaw
    subject = mops.post("/api/v1/subjects/", {"external_ref": "ZI/2/2026", "profile": {"person": {"given_name": "Anna"}}})
    subject_path = f"/api/v1/subjects/{subject.json()['id']}"
    granted = mops.post(f"{subject_path}/consents/", {
        "recipients": {"teams": [str(zi.id)]}, "categories": ["identity"], "purposes": ["team_plan"],
        "form": "written", "grantor": "subject", "evidence_sha256": EVIDENCE,
    })
    assert granted.status_code == 201, granted.content

    before = police.get(subject_path, purpose="team_plan")
    assert delete(mops, f"{TEAMS}{zi.id}/members/{police.agency.id}").status_code == 204
    after = police.get(subject_path, purpose="team_plan")

    assert before.status_code == 200
    assert before.json()["profile"] == {"person": {"given_name": "Anna"}}
    assert after.status_code == 404


# --- Reading teams ------------------------------------------------------------------------------


def test_a_team_shows_its_current_members_only(wroclaw):
    mops, police, school, zi = wroclaw
    team_member_remove(caller=mops.caller, team_id=zi.id, agency_id=school.agency.id)

    response = police.get(f"{TEAMS}{zi.id}")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["name"], body["kind"], body["parent"]) == (str(zi.id), "ZI Wrocław", "zi", None)
    roles = {m["agency"]: m["role"] for m in body["members"]}
    assert roles == {str(mops.agency.id): "chair", str(police.agency.id): "member"}
    assert all(m["confidentiality_declaration_at"] for m in body["members"])


def test_the_team_list_is_the_callers_and_filters_by_kind(wroclaw, member):
    mops, police, _, zi = wroclaw
    gdp = team_create(caller=mops.caller, name="GDP 1/2026", kind=Team.GDP, parent_id=zi.id)
    member("MOPS Oleśnica", "ops")

    everything = mops.get(TEAMS).json()["results"]
    groups = mops.get(TEAMS, kind="gdp").json()["results"]
    polices = police.get(TEAMS).json()["results"]
    bad = mops.get(TEAMS, kind="gang")

    assert {t["id"] for t in everything} == {str(zi.id), str(gdp.id)}
    assert [(t["id"], t["role"]) for t in groups] == [(str(gdp.id), "chair")]
    assert [(t["id"], t["role"]) for t in polices] == [(str(zi.id), "member")]
    assert (bad.status_code, bad.json()["errors"][0]["parameter"]) == (422, "kind")


def test_the_team_list_costs_the_same_queries_for_one_team_or_many(member, django_assert_max_num_queries):
    mops = member("MOPS Wrocław", "ops")
    zi = team_create(caller=mops.caller, name="ZI Wrocław", kind=Team.ZI)
    with CaptureQueriesContext(connection) as one:
        assert len(mops.get(TEAMS).json()["results"]) == 1
    for number in range(6):
        team_create(caller=mops.caller, name=f"GDP {number}/2026", kind=Team.GDP, parent_id=zi.id)

    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(mops.get(TEAMS).json()["results"]) == 7


@pytest.mark.parametrize("method,path_suffix", [("get", ""), ("post", ""), ("get", "{id}"), ("post", "{id}/members/"),
                                                ("delete", "{id}/members/{agency}")])
def test_a_token_without_plans_scopes_gets_403_insufficient_scope(wroclaw, party, method, path_suffix):
    mops, _, _, zi = wroclaw
    caseworker = party("OPS bez planów", "ops")  # ALL_SCOPES: no plans:read / plans:write
    path = TEAMS + path_suffix.format(id=zi.id, agency=mops.agency.id)

    if method == "delete":
        response = delete(caseworker, path)
    else:
        response = getattr(caseworker, method)(path, {"name": "ZI", "kind": "zi"}) if method == "post" else caseworker.get(path)

    assert response.status_code == 403
    assert response.json()["code"] == INSUFFICIENT_SCOPE
