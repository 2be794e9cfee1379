"""Builders for the consent-ledger tests. State is made through the services
(agency_create, client_create, subject_create); teams are made with the ORM,
since these teams have no OPS chair (agencies/teams.py needs one). Time is
controlled by `Clock`, which replaces django.utils.timezone.now (every
consent_ledger module looks `now` up there)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from agencies.callers import Caller
from agencies.models import Agency, Team, TeamMembership
from agencies.services import agency_create, client_create
from consent_ledger.services import subject_create

T0 = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)
EVIDENCE = "ab" * 32  # a well-formed sha256 of a signed consent form
DECLARED = T0 - timedelta(days=30)  # when team members' confidentiality declarations were received


class Clock:
    """Stands in for django.utils.timezone.now; aware UTC, moved by hand."""

    def __init__(self, start: datetime = T0):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


def caller_for(agency: Agency) -> Caller:
    """A client-credentials caller acting as `agency`."""
    issued = client_create(agency=agency, scopes=["subjects:write", "consents:write"])
    return Caller(agency=agency, application=issued.application)


def team_create(name: str, members: list[Agency], *, kind: str = Team.ZI, parent: Team | None = None) -> Team:
    """Members with access: each with its art. 9c declaration received (a
    member without one is not reached by a provision naming the team)."""
    team = Team.objects.create(name=name, kind=kind, parent=parent)
    for agency in members:
        TeamMembership.objects.create(team=team, agency=agency, confidentiality_declaration_at=DECLARED)
    return team


@dataclass
class Universe:
    """Four agencies of different kinds; a ZI {pcpr, ngo} and its GDP {ngo, police}.
    `ops` owns the subjects."""

    ops: Agency
    pcpr: Agency
    ngo: Agency
    police: Agency
    zi: Team
    gdp: Team
    callers: dict

    @property
    def agencies(self) -> list[Agency]:
        return [self.ops, self.pcpr, self.ngo, self.police]

    @property
    def teams(self) -> list[Team]:
        return [self.zi, self.gdp]

    def caller(self, agency: Agency) -> Caller:
        return self.callers[agency.id]


def universe_create() -> Universe:
    ops = agency_create(name="MOPS Testowo", kind="ops")
    pcpr = agency_create(name="PCPR Testowo", kind="pcpr")
    ngo = agency_create(name="Fundacja Bezpieczny Dom", kind="ngo")
    police = agency_create(name="KPP Testowo", kind="police")
    zi = team_create("ZI Testowo", [pcpr, ngo])
    gdp = team_create("GDP Testowo 1/2030", [ngo, police], kind=Team.GDP, parent=zi)
    callers = {agency.id: caller_for(agency) for agency in (ops, pcpr, ngo, police)}
    return Universe(ops=ops, pcpr=pcpr, ngo=ngo, police=police, zi=zi, gdp=gdp, callers=callers)


def subject_for(universe: Universe, external_ref: str = "KW/1/2030", profile: dict | None = None):
    return subject_create(caller=universe.caller(universe.ops), external_ref=external_ref, profile=profile or {})
