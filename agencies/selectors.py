"""Every read of agencies and teams. The directory is public to any
authenticated agency: it holds only organisations, never people. Teams are
visible only to their members with access (see the access rule below)."""

import uuid

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from hub.api.compiled_queries import CompiledQuery
from hub.api.errors import NotFoundError

from .models import Agency, Team, TeamMembership, TeamMembershipChange


def agency_list(*, kind: str | None = None) -> QuerySet[Agency]:
    agencies = Agency.objects.filter(active=True)
    if kind:
        agencies = agencies.filter(kind=kind)
    return agencies


# The recipient of every referral sent: compiled once (issue 11).
_ACTIVE_AGENCY = CompiledQuery(lambda agency: agency_list().filter(pk=agency)[:1], agency=Agency._meta.pk)


def agency_get_active(agency_id) -> Agency | None:
    """The agency if it exists and is active; None otherwise."""
    return _ACTIVE_AGENCY.first(agency=agency_id)


# --- Teams (ZI, GDP) ------------------------------------------------------------
#
# Access rule (art. 9c of the Act on Counteracting Domestic Violence: a
# member processes the team's data only after signing a confidentiality
# declaration): an agency has access to a team while it has an active
# membership (not removed) whose declaration has been received. Everything
# that gives team data away goes through these selectors, so a removed member
# loses access on its very next request.


def _memberships_with_access() -> QuerySet[TeamMembership]:
    return TeamMembership.objects.filter(removed_at__isnull=True, confidentiality_declaration_at__isnull=False)


def uuid_or_none(value) -> uuid.UUID | None:
    """An id given by a client as a UUID, or None when it is not one: an
    unknown id is then a 404 or a 422, never a 500."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def team_get_for_member(team_id, agency: Agency) -> Team:
    """The team if `agency` has access to it; otherwise NotFoundError (404), also
    for a member without a declaration and for a removed one, so a team's
    existence is not revealed."""
    team_id = uuid_or_none(team_id)
    team = None
    if team_id is not None:
        team = Team.objects.filter(
            pk=team_id, pk__in=_memberships_with_access().filter(agency=agency).values("team_id")
        ).first()
    if team is None:
        raise NotFoundError(_("No such team."))
    return team


def team_list_for_agency(agency: Agency) -> QuerySet[Team]:
    """The teams `agency` has access to."""
    return Team.objects.filter(pk__in=_memberships_with_access().filter(agency=agency).values("team_id"))


def team_summaries_for_agency(agency: Agency, *, kind: str | None = None) -> QuerySet[Team]:
    """The teams `agency` has access to, each with `caller_role` (its role in it)."""
    role = TeamMembership.objects.filter(team=OuterRef("pk"), agency=agency, removed_at__isnull=True).values("role")
    teams = team_list_for_agency(agency).annotate(caller_role=Subquery(role[:1]))
    return teams.filter(kind=kind) if kind else teams


def team_access_ids(agency_id) -> frozenset[str]:
    """Ids (str) of the teams the agency has access to: what a provision naming
    a team is matched against (consent_ledger.selectors.recipient_of)."""
    return frozenset(str(t) for t in _memberships_with_access().filter(agency_id=agency_id).values_list("team_id", flat=True))


def team_member_agency_ids(team: Team) -> list[str]:
    """Ids (str, sorted) of the agencies with access to `team`."""
    return sorted(str(a) for a in _memberships_with_access().filter(team=team).values_list("agency_id", flat=True))


def team_is_chair(team: Team, agency: Agency) -> bool:
    """Whether `agency` is the team's chair (and has access to it)."""
    return _memberships_with_access().filter(team=team, agency=agency, role=TeamMembership.CHAIR).exists()


def team_active_memberships(team: Team) -> QuerySet[TeamMembership]:
    """The team's current members, with or without a declaration (the chair
    needs to see whose declaration is missing): for members with access only."""
    return team.memberships.filter(removed_at__isnull=True).order_by("joined_at", "id")


def team_membership_history(team: Team) -> QuerySet[TeamMembershipChange]:
    return team.membership_changes.order_by("at", "id")
