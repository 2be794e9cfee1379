"""Every write to Blue Card procedures: open (NK-A), record a step, close,
record a ZI meeting, escalate missed deadlines. Each service is one
transaction that also writes its ledger entries and thin outbox events; a
change that depends on the procedure's state locks its row first.

Who may do what (rules.RECORDED_BY):
- open: an agency of a kind that fills in the NK-A (rules.NKA_OPENER_KINDS)
  with access to the ZI, about a person it may see (the owner, or an agency
  with a basis for the person);
- nka_to_chair, gdp_formed, close: the ZI's chair;
- gdp_meeting, nkc, nkd: the GDP's members; monitoring: those or the chair.

The legal basis (art. 9c; rules.BASIS_CATEGORIES): opening records a
`blue_card_procedure` basis for the ZI, forming the GDP one for the GDP,
closing ends both. The statute grants it, not the person's owner, so it is
recorded through consent_ledger's procedure services, with the acting agency
as the recorder."""

from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import status

from agencies.callers import Caller
from agencies.events import event_emit
from agencies.models import Team
from agencies.selectors import team_access_ids, team_get_for_member, team_is_chair, team_member_agency_ids
from consent_ledger.selectors import subject_get_for_caller
from consent_ledger.services import statutory_basis_assert_for_procedure, statutory_basis_end_for_procedure
from hub.api.errors import ApplicationError, Conflict, NotFoundError, PreconditionFailed, ValidationFailed
from schemas.registry import get_registry

from ..working_days import polish_date, today_in_poland
from . import rules
from .deadlines import deadline_for
from .models import (
    BlueCardBasis,
    BlueCardDeadline,
    BlueCardPerpetratorRecord,
    BlueCardProcedure,
    BlueCardStep,
    ZiMeeting,
)
from .selectors import blue_card_for_member

# Stable error codes (tests and clients use these, never the text).
INVALID = "blue_card_invalid"
ALREADY_OPEN = "blue_card_already_open"
OUT_OF_ORDER = "blue_card_step_out_of_order"
PROCEDURE_CLOSED = "blue_card_closed"
NOT_PERMITTED = "blue_card_not_permitted"
BASIS_ENDED = "blue_card_basis_ended"

# Outbox event types (schemas/vocabularies/event_types.json): ids and codes only.
EVENT_OPENED = "blue_card.opened"
EVENT_STEP_RECORDED = "blue_card.step_recorded"
EVENT_CLOSED = "blue_card.closed"
EVENT_DEADLINE_MISSED = "blue_card.deadline_missed"
EVENT_ZI_MEETING = "blue_card.zi_meeting_recorded"

# A moment "in the future" by more than this is a mistake, not clock skew.
CLOCK_SKEW = timedelta(minutes=5)
# Nothing in a procedure happened before the procedure existed (the Blue Card
# provisions of the Act date from 2010).
EARLIEST = datetime(2010, 1, 1, tzinfo=UTC)
# Who records a step (rules.RECORDED_BY), as a refusal says it.
_RECORDED_BY = {
    (rules.CHAIR,): gettext_lazy("%(step)s is recorded by the ZI's chair."),
    (rules.GDP_MEMBER,): gettext_lazy("%(step)s is recorded by the GDP's members."),
    (rules.GDP_MEMBER, rules.CHAIR): gettext_lazy("%(step)s is recorded by the GDP's members or the ZI's chair."),
}


class BlueCardForbidden(ApplicationError):
    """The caller sees the procedure, but its role does not allow the change."""

    code = NOT_PERMITTED
    status = status.HTTP_403_FORBIDDEN
    title = gettext_lazy("Not allowed.")


# --- Opening (NK-A) ------------------------------------------------------------------------


@transaction.atomic
def blue_card_open(
    *,
    caller: Caller,
    subject_id,
    team_id,
    opened_at: datetime,
    opened_by_kind: str,
    forms_of_violence: list[str],
    children_in_household: int,
) -> BlueCardProcedure:
    """Open the procedure from an NK-A. Refused (422, each problem at its
    pointer) for an opener kind the statute does not name or that is not the
    caller's, a team that is not a ZI the caller has access to, a person the
    caller may not see; 409 while the person has an open procedure in that ZI
    (a further NK-A joins it). Records the ZI's basis and the first deadline."""
    now = timezone.now()
    errors = _nka_errors(caller, opened_at, opened_by_kind, forms_of_violence, children_in_household, now)
    team = _zi_of_opener(caller, team_id, errors)
    subject = _subject_of_opener(caller, subject_id, errors)
    _raise_if(errors)
    procedure = BlueCardProcedure(
        subject=subject, team=team, opened_at=opened_at, opened_by=caller.agency,
        opened_by_actor=caller.actor_label, opened_by_kind=opened_by_kind,
        forms_of_violence=sorted(set(forms_of_violence), key=rules.FORMS_OF_VIOLENCE.index),
        children_in_household=children_in_household, created_at=now, updated_at=now,
    )
    _refuse_second_open(procedure)
    try:
        with transaction.atomic():  # the one-open-per-ZI constraint decides a race
            procedure.save(force_insert=True)
    except IntegrityError:
        _refuse_second_open(procedure)
        raise
    deadline_for(procedure, rules.DEADLINES_AFTER[None], opened_at).save()
    _basis_assert(caller, procedure, team, rules.ZI_BASIS_CATEGORIES)
    _emit(procedure, EVENT_OPENED)
    return procedure


def _nka_errors(caller, opened_at, opened_by_kind, forms, children, now) -> list[dict]:
    errors = _moment_errors("/opened_at", opened_at, now)
    if opened_by_kind not in rules.NKA_OPENER_KINDS:
        errors.append(_error(
            "/opened_by_kind",
            _("The NK-A is filled in by: %(allowed)s (art. 9d(2)).") % {"allowed": ", ".join(rules.NKA_OPENER_KINDS)},
        ))
    elif opened_by_kind != caller.agency.kind:
        errors.append(_error(
            "/opened_by_kind",
            _("Your agency is of kind %(kind)s: the NK-A records who filled it.") % {"kind": repr(caller.agency.kind)},
        ))
    if not isinstance(forms, list) or not forms:
        errors.append(_error("/forms_of_violence", _("Tick at least one form of violence.")))
    else:
        errors += [
            _error(f"/forms_of_violence/{index}", _("One of: %(allowed)s.") % {"allowed": ", ".join(rules.FORMS_OF_VIOLENCE)})
            for index, form in enumerate(forms) if form not in rules.FORMS_OF_VIOLENCE
        ]
    if isinstance(children, bool) or not isinstance(children, int) or not 0 <= children <= rules.MAX_CHILDREN:
        errors.append(_error("/children_in_household", _("A whole number from 0 to %(max)s.") % {"max": rules.MAX_CHILDREN}))
    return errors


def _zi_of_opener(caller: Caller, team_id, errors: list[dict]) -> Team | None:
    try:
        team = team_get_for_member(team_id, caller.agency)
    except NotFoundError:
        # A body member, not the URL: 422, worded so as not to reveal the team.
        errors.append(_error("/team", _("No such team among yours.")))
        return None
    if team.kind != Team.ZI:
        errors.append(_error("/team", _("A procedure is run by a ZI: give the ZI, not a GDP.")))
        return None
    return team


def _subject_of_opener(caller: Caller, subject_id, errors: list[dict]):
    try:
        return subject_get_for_caller(subject_id, caller)
    except NotFoundError:
        errors.append(_error("/subject", _("No such person among those you may see: register them first (POST subjects/).")))
        return None


def _refuse_second_open(procedure: BlueCardProcedure) -> None:
    # The caller has access to the ZI, so the open procedure is no secret to it.
    existing = BlueCardProcedure.objects.filter(
        subject=procedure.subject, team=procedure.team, status=BlueCardProcedure.OPEN
    ).values_list("pk", flat=True).first()
    if existing is not None:
        raise Conflict(
            _("This person already has an open Blue Card procedure in this ZI: a further NK-A joins it."),
            code=ALREADY_OPEN, procedure=str(existing),
        )


# --- Steps ---------------------------------------------------------------------------------


@transaction.atomic
def blue_card_step_record(
    *, caller: Caller, procedure_id, step: str, at: datetime, gdp_id=None, content=None, if_match: str | None = None
) -> BlueCardStep:
    """Record a step (rules.STEPS) that happened `at`. 404 unless the caller has
    access to the procedure; 412 on a stale If-Match; 409 for a step out of
    order (or on a closed procedure); 403 when the caller's role may not record
    it; 422 for bad input, each at its pointer."""
    procedure = blue_card_for_member(procedure_id, caller, lock=True)
    _check_if_match(procedure, if_match)
    if step not in rules.STEPS:
        raise _invalid([_error("/step", _("One of: %(allowed)s.") % {"allowed": ", ".join(rules.STEPS)})])
    recorded = set(procedure.steps.values_list("step", flat=True))
    _check_order(procedure, step, recorded)
    _check_recorder(procedure, caller, step)
    now = timezone.now()
    gdp = _step_input(procedure, step, at, gdp_id, content, now)
    row = BlueCardStep.objects.create(
        procedure=procedure, step=step, at=at, gdp=gdp, recorded_by=caller.agency, actor=caller.actor_label,
        recorded_at=now,
        **({"content": content, "content_schema": _schema_id(step)} if step == rules.NKC else {}),
    )
    if step == rules.NKD:
        BlueCardPerpetratorRecord.objects.create(step=row, document=content, schema=_schema_id(step))
    _deadlines_advance(procedure, step, at)
    fields = ["version", "updated_at"]
    if step == rules.GDP_FORMED:
        procedure.gdp = gdp
        fields.append("gdp")
        _basis_assert(caller, procedure, gdp, rules.GDP_BASIS_CATEGORIES)
    procedure.version += 1
    procedure.updated_at = now
    procedure.save(update_fields=fields)
    _emit(procedure, EVENT_STEP_RECORDED, step=step, step_id=str(row.id))
    return row


def _check_order(procedure: BlueCardProcedure, step: str, recorded: set[str]) -> None:
    if procedure.status == BlueCardProcedure.CLOSED and step != rules.MONITORING:
        raise Conflict(_("The procedure is closed: only monitoring can be recorded."), code=PROCEDURE_CLOSED)
    if step == rules.MONITORING and procedure.status == BlueCardProcedure.OPEN:
        raise Conflict(_("Monitoring follows the closure of the procedure."), code=OUT_OF_ORDER)
    if step in rules.ONCE and step in recorded:
        raise Conflict(_("%(step)s has already been recorded.") % {"step": step}, code=OUT_OF_ORDER)
    needs = rules.NEEDS.get(step)
    if needs is not None and needs not in recorded:
        raise Conflict(_("%(step)s comes after %(needs)s.") % {"step": step, "needs": needs}, code=OUT_OF_ORDER, needs=needs)


def _check_recorder(procedure: BlueCardProcedure, caller: Caller, step: str) -> None:
    allowed = rules.RECORDED_BY[step]
    if rules.CHAIR in allowed and team_is_chair(procedure.team, caller.agency):
        return
    if rules.GDP_MEMBER in allowed and procedure.gdp_id and str(procedure.gdp_id) in team_access_ids(caller.agency.id):
        return
    raise BlueCardForbidden(_RECORDED_BY[tuple(allowed)] % {"step": step})


def _step_input(procedure, step: str, at, gdp_id, content, now) -> Team | None:
    """Check the body of a step (422 with every problem); the GDP it names."""
    errors = _moment_errors("/at", at, now)
    if not errors:
        errors += _order_in_time(procedure, step, at)
    gdp = None
    if step == rules.GDP_FORMED:
        gdp = _gdp_of(procedure, gdp_id, errors)
    elif gdp_id is not None:
        errors.append(_error("/gdp", _("Only gdp_formed names a GDP.")))
    if step in rules.CONTENT_SCHEMAS:
        if content is None:
            errors.append(_error("/content", _("Give the %(form)s form's content.") % {"form": step.upper()}))
        else:
            errors += [
                _error(f"/content{p.pointer}", p.detail)
                for p in get_registry().validate(rules.CONTENT_SCHEMAS[step], content)
            ]
    elif content is not None:
        errors.append(_error("/content", _("Only nkc and nkd carry a form's content.")))
    _raise_if(errors)
    return gdp


def _order_in_time(procedure, step: str, at) -> list[dict]:
    """A step cannot happen before the opening, before the step it follows,
    or (monitoring) before the closure."""
    earliest, refusal = procedure.opened_at, gettext_lazy("Cannot be before the opening (opened_at).")
    needs = rules.NEEDS.get(step)
    if needs is not None:
        before = procedure.steps.filter(step=needs).order_by("at").values_list("at", flat=True).first()
        if before is not None and before > earliest:
            earliest, refusal = before, _("Cannot be before %(step)s.") % {"step": needs}
    if step == rules.MONITORING and procedure.closed_at is not None:
        earliest, refusal = procedure.closed_at, gettext_lazy("Cannot be before the closure.")
    if at < earliest:
        return [_error("/at", str(refusal))]
    return []


def _gdp_of(procedure: BlueCardProcedure, gdp_id, errors: list[dict]) -> Team | None:
    if gdp_id is None:
        errors.append(_error("/gdp", _("Name the GDP that was formed.")))
        return None
    gdp = Team.objects.filter(pk=gdp_id, kind=Team.GDP, parent_id=procedure.team_id).first()
    if gdp is None:
        errors.append(_error("/gdp", _("No GDP with this id under the procedure's ZI.")))
    elif BlueCardProcedure.objects.filter(gdp=gdp).exists():
        errors.append(_error("/gdp", _("This GDP already works on another procedure: a GDP is formed for one case.")))
    return gdp


def _deadlines_advance(procedure: BlueCardProcedure, step: str, at: datetime) -> None:
    """Meet the deadline `step` meets (the first time), and start the one that
    runs from it."""
    BlueCardDeadline.objects.filter(procedure=procedure, step=step, met_at__isnull=True).update(met_at=at)
    following = rules.DEADLINES_AFTER.get(step)
    if following is not None and not BlueCardDeadline.objects.filter(procedure=procedure, step=following).exists():
        deadline_for(procedure, following, at).save()


# --- Closure -------------------------------------------------------------------------------


@transaction.atomic
def blue_card_close(
    *, caller: Caller, procedure_id, ground: str, at: datetime, if_match: str | None = None
) -> BlueCardProcedure:
    """Close the procedure (the ZI's chair): violence ceased (after the support
    plan, NK-C) or groundless. Ends every basis the procedure asserted;
    deadlines not yet due no longer run. 409 when already closed."""
    procedure = blue_card_for_member(procedure_id, caller, lock=True)
    _check_if_match(procedure, if_match)
    if not team_is_chair(procedure.team, caller.agency):
        raise BlueCardForbidden(_("The procedure is closed by the ZI's chair."))
    if procedure.status == BlueCardProcedure.CLOSED:
        raise Conflict(_("The procedure is already closed."), code=PROCEDURE_CLOSED)
    now = timezone.now()
    errors = _moment_errors("/at", at, now)
    if ground not in rules.GROUNDS:
        errors.append(_error("/ground", _("One of: %(allowed)s.") % {"allowed": ", ".join(rules.GROUNDS)}))
    last = procedure.steps.order_by("-at").values_list("at", flat=True).first()
    if not errors and at < max(filter(None, [procedure.opened_at, last])):
        errors.append(_error("/at", _("Cannot be before the opening or the last step.")))
    _raise_if(errors)
    if ground == rules.VIOLENCE_CEASED and not procedure.steps.filter(step=rules.NKC).exists():
        raise Conflict(
            _("Closing because violence ceased follows the support plan agreed with the person (nkc)."),
            code=OUT_OF_ORDER, needs=rules.NKC,
        )
    procedure.status, procedure.closure_ground, procedure.closed_at, procedure.closed_by = (
        BlueCardProcedure.CLOSED, ground, at, caller.agency,
    )
    procedure.version += 1
    procedure.updated_at = now
    procedure.save(update_fields=["status", "closure_ground", "closed_at", "closed_by", "version", "updated_at"])
    BlueCardDeadline.objects.filter(
        procedure=procedure, met_at__isnull=True, voided_at__isnull=True, due__gte=polish_date(at)
    ).update(voided_at=now)
    for basis in procedure.bases.select_related("provision"):
        statutory_basis_end_for_procedure(caller=caller, legal_basis_id=basis.provision_id, reason=f"blue_card:{procedure.id}:closed")
    _emit(procedure, EVENT_CLOSED, ground=ground)
    return procedure


# --- ZI meetings ---------------------------------------------------------------------------


@transaction.atomic
def zi_meeting_record(*, caller: Caller, team_id, at: datetime) -> ZiMeeting:
    """The ZI's chair records a meeting of the ZI (at least one every
    BLUE_CARD_ZI_MEETING_MONTHS months)."""
    team = team_get_for_member(team_id, caller.agency)
    if team.kind != Team.ZI or not team_is_chair(team, caller.agency):
        raise BlueCardForbidden(_("The ZI's chair records the ZI's meetings."))
    now = timezone.now()
    _raise_if(_moment_errors("/at", at, now))
    meeting = ZiMeeting.objects.create(team=team, at=at, recorded_by=caller.agency, actor=caller.actor_label, recorded_at=now)
    event_emit(
        type=EVENT_ZI_MEETING, object_type="team", object_id=team.id, status="recorded",
        agencies=team_member_agency_ids(team), data={"meeting": str(meeting.id)},
    )
    return meeting


# --- Escalation ----------------------------------------------------------------------------


@transaction.atomic
def blue_card_deadlines_escalate() -> int:
    """Deadlines of open procedures past their due day (in Poland) and not met:
    one `blue_card.deadline_missed` event each, ever. The rows are marked in
    this transaction, and locked with SKIP LOCKED, so a second run (or a
    concurrent one) finds nothing left to announce."""
    now = timezone.now()
    missed = list(
        BlueCardDeadline.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            met_at__isnull=True, voided_at__isnull=True, missed_notified_at__isnull=True,
            due__lt=today_in_poland(), procedure__status=BlueCardProcedure.OPEN,
        )
        .select_related("procedure")
        .order_by("id")
    )
    for deadline in missed:
        deadline.missed_notified_at = now
        deadline.save(update_fields=["missed_notified_at"])
        _emit(
            deadline.procedure, EVENT_DEADLINE_MISSED, step=deadline.step, due=deadline.due.isoformat(),
            escalate_to_role="chair",
        )
    return len(missed)


# --- Helpers -------------------------------------------------------------------------------


def _basis_assert(caller: Caller, procedure: BlueCardProcedure, team: Team, categories) -> None:
    try:
        provision = statutory_basis_assert_for_procedure(
            caller=caller, subject_id=procedure.subject_id, basis=rules.BASIS, team_ids=[str(team.id)],
            categories=list(categories), purposes=list(rules.BASIS_PURPOSES), reference=f"blue_card:{procedure.id}",
        )
    except NotFoundError:
        # Only when forming the GDP: the ZI's basis was ended by the person's
        # owner, so the chair no longer sees the person.
        raise Conflict(_("The procedure's legal basis has ended: it cannot go on."), code=BASIS_ENDED) from None
    BlueCardBasis.objects.create(procedure=procedure, team=team, provision=provision)


def _emit(procedure: BlueCardProcedure, type_: str, **data) -> None:
    """A thin event to every agency with access to the procedure's ZI and GDP."""
    audience = set(team_member_agency_ids(procedure.team))
    if procedure.gdp_id is not None:
        audience |= set(team_member_agency_ids(procedure.gdp))
    event_emit(
        type=type_, object_type="blue_card", object_id=procedure.id, status=procedure.status, agencies=audience,
        data={"version": procedure.version, "team": str(procedure.team_id),
              "gdp": str(procedure.gdp_id) if procedure.gdp_id else None, **data},
    )


def _check_if_match(procedure: BlueCardProcedure, if_match: str | None) -> None:
    if if_match is not None and if_match not in (procedure.etag, "*"):
        raise PreconditionFailed(_("The procedure changed since you read it; read it again."), current_etag=procedure.etag)


def _moment_errors(pointer: str, moment, now) -> list[dict]:
    if not isinstance(moment, datetime) or timezone.is_naive(moment):
        return [_error(pointer, _("Give the time with its zone, e.g. 2026-03-02T09:30:00+01:00."))]
    if moment > now + CLOCK_SKEW:
        return [_error(pointer, _("Cannot be in the future."))]
    if moment < EARLIEST:
        return [_error(pointer, _("Cannot be before the Blue Card procedure existed (2010)."))]
    return []


def _schema_id(step: str) -> str:
    return get_registry().schema_id(rules.CONTENT_SCHEMAS[step])


def _error(pointer: str, detail: str) -> dict:
    return {"pointer": pointer, "detail": detail}


def _invalid(errors: list[dict]) -> ValidationFailed:
    return ValidationFailed("; ".join(f"{e['pointer']}: {e['detail']}" for e in errors), code=INVALID, errors=errors)


def _raise_if(errors: list[dict]) -> None:
    if errors:
        raise _invalid(errors)
