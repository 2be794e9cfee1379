"""Every write to teams and their membership: interdisciplinary teams (ZI) and
their diagnostic-and-support groups (GDP), art. 9a-9c of the Act on
Counteracting Domestic Violence.

- A gmina's ZI is created by that gmina's OPS, which chairs it (the OPS
  serves the team, art. 9a). A GDP is formed for one case by the ZI, here by
  the ZI's chair, who chairs the GDP; its members come from the ZI.
- A member has access to the team's data only with its confidentiality
  declaration (art. 9c) received; see agencies/selectors.py.
- Only the chair changes the membership. A team always has exactly one chair:
  naming another member chair hands the chair over.
- Every change writes a TeamMembershipChange row and a thin outbox event in
  its transaction; a team's changes are serialised on its row lock (a GDP's
  after its ZI's, the order used everywhere).
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import status

from hub.api.errors import ApplicationError, Conflict, NotFoundError, ValidationFailed

from .callers import Caller
from .events import event_emit
from .models import Agency, Team, TeamMembership, TeamMembershipChange
from .selectors import uuid_or_none, team_get_for_member, team_is_chair, team_member_agency_ids

# Stable error codes (tests and clients use these, never the text).
TEAM_NAME_INVALID = "team_name_invalid"
TEAM_KIND_UNKNOWN = "team_kind_unknown"
TEAM_PARENT_INVALID = "team_parent_invalid"
TEAM_TERYT_INVALID = "team_teryt_invalid"
TEAM_ROLE_UNKNOWN = "team_role_unknown"
TEAM_AGENCY_UNKNOWN = "team_agency_unknown"
TEAM_MEMBER_NOT_IN_ZI = "team_member_not_in_zi"
DECLARATION_INVALID = "confidentiality_declaration_invalid"
CHAIR_NEEDS_DECLARATION = "team_chair_needs_declaration"
ZI_CREATOR_NOT_OPS = "team_zi_creator_not_ops"
TEAM_CHAIR_REQUIRED = "team_chair_required"
ZI_EXISTS = "team_zi_exists"
TEAM_MEMBER_EXISTS = "team_member_exists"
TEAM_NEEDS_CHAIR = "team_needs_chair"
TEAM_MEMBER_CHAIRS_GDP = "team_member_chairs_gdp"
TEAM_MEMBER_NOT_FOUND = "team_member_not_found"

# Outbox event types (schemas/vocabularies/event_types.json).
MEMBER_ADDED = "team.member_added"
MEMBER_UPDATED = "team.member_updated"
MEMBER_REMOVED = "team.member_removed"

CHAIR, MEMBER = TeamMembership.CHAIR, TeamMembership.MEMBER
_GMINA_TERYT = re.compile(r"\d{7}")


class TeamForbidden(ApplicationError):
    """The caller sees the team but its role does not allow the change."""

    status = status.HTTP_403_FORBIDDEN
    title = gettext_lazy("Not allowed.")


@dataclass(frozen=True)
class TeamMemberChanged:
    membership: TeamMembership
    changes: tuple[str, ...]  # TeamMembershipChange codes, e.g. ("added",)


# --- Teams -------------------------------------------------------------------------


@transaction.atomic
def team_create(
    *,
    caller: Caller,
    name: str,
    kind: str,
    parent_id=None,
    teryt: str = "",
    confidentiality_declaration_at: datetime | None = None,
) -> Team:
    """Create a ZI (caller: an OPS) or a GDP under a ZI (caller: the ZI's chair).
    The caller becomes the chair; its declaration date defaults to now."""
    now = timezone.now()
    declared = confidentiality_declaration_at or now
    _raise_if(_name_errors(name) + _kind_errors(kind) + _declaration_errors(declared, now))
    if kind == Team.ZI:
        team = _zi_create(caller, name.strip(), parent_id, teryt or "")
    else:
        team = _gdp_create(caller, name.strip(), parent_id, teryt or "")
    membership = TeamMembership.objects.create(
        team=team, agency=caller.agency, role=CHAIR, confidentiality_declaration_at=declared
    )
    _record(caller, membership, TeamMembershipChange.ADDED, now)
    _announce(membership, MEMBER_ADDED, (TeamMembershipChange.ADDED,))
    return team


def _zi_create(caller: Caller, name: str, parent_id, teryt: str) -> Team:
    agency = caller.agency
    if agency.kind != "ops":
        raise TeamForbidden(
            _("Only a gmina's social welfare centre (OPS) creates its interdisciplinary team (art. 9a)."),
            code=ZI_CREATOR_NOT_OPS,
        )
    own = agency.teryt if _GMINA_TERYT.fullmatch(agency.teryt) else ""
    teryt = teryt or own
    errors = []
    if parent_id is not None:
        errors.append(_error("/parent", _("A ZI has no parent team."), TEAM_PARENT_INVALID))
    if teryt and not _GMINA_TERYT.fullmatch(teryt):
        errors.append(_error("/teryt", _("A gmina's TERYT code has 7 digits."), TEAM_TERYT_INVALID))
    elif own and teryt != own:
        errors.append(_error("/teryt", _("An OPS creates the ZI of its own gmina (%(teryt)s).") % {"teryt": own}, TEAM_TERYT_INVALID))
    _raise_if(errors)
    try:
        with transaction.atomic():  # the one-ZI-per-gmina constraint decides a race
            return Team.objects.create(name=name, kind=Team.ZI, teryt=teryt)
    except IntegrityError:
        raise Conflict(_("The gmina %(teryt)s already has an interdisciplinary team.") % {"teryt": teryt}, code=ZI_EXISTS) from None


def _gdp_create(caller: Caller, name: str, parent_id, teryt: str) -> Team:
    if parent_id is None:
        raise _invalid("/parent", _("A GDP is formed by a ZI: give the ZI as `parent`."), TEAM_PARENT_INVALID)
    try:
        parent = _lock_for_chair(caller, parent_id)
    except NotFoundError:
        # A body member, not the URL: 422, worded so as not to reveal the team.
        raise _invalid("/parent", _("No such team among yours."), TEAM_PARENT_INVALID) from None
    if parent.kind != Team.ZI:
        raise _invalid("/parent", _("A GDP's parent must be a ZI."), TEAM_PARENT_INVALID)
    if teryt and teryt != parent.teryt:
        raise _invalid("/teryt", _("A GDP serves its ZI's gmina: leave `teryt` out."), TEAM_TERYT_INVALID)
    return Team.objects.create(name=name, kind=Team.GDP, parent=parent, teryt=parent.teryt)


# --- Membership ---------------------------------------------------------------------


@transaction.atomic
def team_member_add(
    *,
    caller: Caller,
    team_id,
    agency_id,
    role: str = MEMBER,
    confidentiality_declaration_at: datetime | None = None,
) -> TeamMemberChanged:
    """Add an agency to the team (chair only), or for a current member record
    its declaration and/or role. Naming a member `chair` hands the chair over:
    the old chair stays as a member. A GDP's members must be in its ZI."""
    now = timezone.now()
    team = _lock_for_chair(caller, team_id)
    agency = Agency.objects.filter(pk=uuid_or_none(agency_id), active=True).first()
    _raise_if(_member_errors(team, agency, role, confidentiality_declaration_at, now))
    current = TeamMembership.objects.select_for_update().filter(team=team, agency=agency, removed_at__isnull=True).first()
    declared = confidentiality_declaration_at or (current.confidentiality_declaration_at if current else None)
    if role == CHAIR and declared is None:
        raise _invalid(
            "/confidentiality_declaration_at", _("The chair needs a received confidentiality declaration (art. 9c)."),
            CHAIR_NEEDS_DECLARATION,
        )
    if current is not None and current.role == CHAIR and role != CHAIR:
        raise Conflict(_("A team always has a chair: name another member chair instead."), code=TEAM_NEEDS_CHAIR)
    if role == CHAIR and (current is None or current.role != CHAIR):
        _demote_chair(caller, team, now)
    if current is None:
        return _join(caller, team, agency, role, declared, now)
    return _update(caller, current, role, confidentiality_declaration_at, now)


def _member_errors(team: Team, agency: Agency | None, role: str, declared, now) -> list[dict]:
    errors = _declaration_errors(declared, now)
    if role not in TeamMembership.ROLES:
        errors.append(_error("/role", _("Unknown role %(role)s; one of: %(allowed)s.") % {"role": repr(role), "allowed": "chair, member"}, TEAM_ROLE_UNKNOWN))
    if agency is None:
        errors.append(_error("/agency", _("No such active agency."), TEAM_AGENCY_UNKNOWN))
    elif team.kind == Team.GDP and not _is_active_member(team.parent_id, agency):
        # Art. 9a: a GDP is formed from the ZI's members.
        errors.append(_error("/agency", _("A GDP's members must be members of its ZI."), TEAM_MEMBER_NOT_IN_ZI))
    return errors


def _join(caller: Caller, team: Team, agency: Agency, role: str, declared, now) -> TeamMemberChanged:
    membership = TeamMembership.objects.create(team=team, agency=agency, role=role, confidentiality_declaration_at=declared)
    _record(caller, membership, TeamMembershipChange.ADDED, now)
    _announce(membership, MEMBER_ADDED, (TeamMembershipChange.ADDED,))
    return TeamMemberChanged(membership, (TeamMembershipChange.ADDED,))


def _update(caller: Caller, membership: TeamMembership, role: str, declared, now) -> TeamMemberChanged:
    changes = []
    if declared is not None and declared != membership.confidentiality_declaration_at:
        membership.confidentiality_declaration_at = declared
        changes.append(TeamMembershipChange.DECLARATION_RECORDED)
    if role != membership.role:
        membership.role = role
        changes.append(TeamMembershipChange.ROLE_CHANGED)
    if not changes:
        raise Conflict(_("The agency is already a member with this role and declaration."), code=TEAM_MEMBER_EXISTS)
    membership.save(update_fields=["confidentiality_declaration_at", "role"])
    for change in changes:
        _record(caller, membership, change, now)
    _announce(membership, MEMBER_UPDATED, tuple(changes))
    return TeamMemberChanged(membership, tuple(changes))


def _demote_chair(caller: Caller, team: Team, now) -> None:
    # Before the new chair is saved: one active chair per team is a constraint.
    old = TeamMembership.objects.select_for_update().filter(team=team, role=CHAIR, removed_at__isnull=True).first()
    if old is not None:
        old.role = MEMBER
        old.save(update_fields=["role"])
        _record(caller, old, TeamMembershipChange.ROLE_CHANGED, now)
        _announce(old, MEMBER_UPDATED, (TeamMembershipChange.ROLE_CHANGED,))


@transaction.atomic
def team_member_remove(*, caller: Caller, team_id, agency_id) -> None:
    """Remove a member (chair only); its row stays, with `removed_at`. Leaving a
    ZI also means leaving its GDPs. The chair is never removed: hand it over
    first. Access ends at once: every read goes through the access selectors."""
    now = timezone.now()
    team = _lock_for_chair(caller, team_id)
    membership = _active_membership(team, agency_id)
    if membership.role == CHAIR:
        raise Conflict(_("A team always has a chair: name another member chair first."), code=TEAM_NEEDS_CHAIR)
    affected = [membership]
    if team.kind == Team.ZI:
        affected += _groups_to_leave(team, membership.agency_id)
    for leaving in affected:
        leaving.removed_at = now
        leaving.save(update_fields=["removed_at"])
        _record(caller, leaving, TeamMembershipChange.REMOVED, now)
        _announce(leaving, MEMBER_REMOVED, (TeamMembershipChange.REMOVED,))


def _active_membership(team: Team, agency_id) -> TeamMembership:
    membership = (
        TeamMembership.objects.select_for_update()
        .filter(team=team, agency_id=uuid_or_none(agency_id), removed_at__isnull=True)
        .first()
    )
    if membership is None:
        raise NotFoundError(_("The agency is not a member of this team."), code=TEAM_MEMBER_NOT_FOUND)
    return membership


def _groups_to_leave(zi: Team, agency_id) -> list[TeamMembership]:
    groups = list(
        TeamMembership.objects.select_for_update()
        .filter(team__parent=zi, agency_id=agency_id, removed_at__isnull=True)
        .order_by("team_id")
    )
    chaired = sorted(str(m.team_id) for m in groups if m.role == CHAIR)
    if chaired:
        raise Conflict(
            _("The agency chairs GDPs of this ZI: their chair must be handed over first."),
            code=TEAM_MEMBER_CHAIRS_GDP, gdps=chaired,
        )
    return groups


# --- Helpers ----------------------------------------------------------------------


def _lock_for_chair(caller: Caller, team_id) -> Team:
    """The team, locked, if the caller has access (else 404) and chairs it
    (else 403). A GDP's ZI is locked first: a ZI removal cascades into its
    GDPs while a GDP addition checks ZI membership, so both take the locks in
    the same order."""
    team = team_get_for_member(team_id, caller.agency)
    if team.parent_id is not None:
        Team.objects.select_for_update().filter(pk=team.parent_id).first()
    team = Team.objects.select_for_update().get(pk=team.pk)
    if not team_is_chair(team, caller.agency):  # read under the lock
        raise TeamForbidden(_("Only the team's chair changes its membership."), code=TEAM_CHAIR_REQUIRED)
    return team


def _is_active_member(team_id, agency: Agency) -> bool:
    return TeamMembership.objects.filter(team_id=team_id, agency=agency, removed_at__isnull=True).exists()


def _record(caller: Caller, membership: TeamMembership, change: str, at) -> None:
    TeamMembershipChange.objects.create(
        team_id=membership.team_id, agency_id=membership.agency_id, change=change, role=membership.role,
        confidentiality_declaration_at=membership.confidentiality_declaration_at,
        actor=caller.actor_label, acting_agency=caller.agency, at=at,
    )


def _announce(membership: TeamMembership, event_type: str, changes: tuple[str, ...]) -> None:
    """A thin event to the members with access and the agency concerned: ids
    and codes only (DESIGN.md principle 5), never a team's or agency's name."""
    team = membership.team
    event_emit(
        type=event_type, object_type="team", object_id=team.id, status=changes[-1],
        agencies=[*team_member_agency_ids(team), str(membership.agency_id)],
        data={
            "team_kind": team.kind, "parent": str(team.parent_id) if team.parent_id else None,
            "agency": str(membership.agency_id), "role": membership.role, "changes": list(changes),
        },
    )


def _name_errors(name) -> list[dict]:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 255:
        return [_error("/name", _("Give the team's name (1-255 characters)."), TEAM_NAME_INVALID)]
    return []


def _kind_errors(kind) -> list[dict]:
    if kind not in Team.KINDS:
        return [_error("/kind", _("Unknown team kind %(kind)s; one of: %(allowed)s.") % {"kind": repr(kind), "allowed": "zi, gdp"}, TEAM_KIND_UNKNOWN)]
    return []


def _declaration_errors(declared, now) -> list[dict]:
    pointer = "/confidentiality_declaration_at"
    if declared is None:
        return []
    if timezone.is_naive(declared):
        return [_error(pointer, _("Give the time with its zone (UTC)."), DECLARATION_INVALID)]
    if declared > now:
        return [_error(pointer, _("The declaration cannot be received in the future."), DECLARATION_INVALID)]
    return []


def _error(pointer: str, detail: str, code: str) -> dict:
    return {"pointer": pointer, "detail": detail, "code": code}


def _invalid(pointer: str, detail: str, code: str) -> ValidationFailed:
    return ValidationFailed(detail, code=code, errors=[_error(pointer, detail, code)])


def _raise_if(errors: list[dict]) -> None:
    if errors:
        raise ValidationFailed("; ".join(e["detail"] for e in errors), code=errors[0]["code"], errors=errors)
