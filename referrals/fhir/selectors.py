"""The reads behind the FHIR exports. Each goes through the read of the
matching endpoint of our own API, with its tenancy and, where person data
is released, its one `disclosure` entry: a FHIR read never sees more, nor
records less, than the JSON read beside it.

- Task, Bundle: referrals.selectors.referral_read (GET referrals/{id});
- Consent: the subject's owner only (GET subjects/{id}/consent-state);
- AuditEvent: consent_ledger.selectors.ledger_entry_get_for_caller (the entry's
  recorder or the subject's owner, as GET ledger/entries/{id}/proof);
- Organization: the directory of active agencies (GET agencies/);
- CarePlan: referrals.plans.selectors.plan_read (GET plans/{id})."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import BaseModel

from agencies.callers import Caller
from agencies.selectors import agency_get_active
from consent_ledger.decisions import decide
from consent_ledger.models import LedgerEntry, LedgerLeaf, Provision
from consent_ledger.selectors import (
    ledger_entry_get_for_caller,
    provisions_in_force,
    recipient_of,
    references_load,
    withheld_from,
)
from hub.api.errors import NotFoundError
from referrals.blue_card.selectors import blue_card_list_for_agency
from referrals.plans.selectors import plan_read
from referrals.selectors import ReferralView, referral_read

from .audit_event import audit_event_from_entry
from .care_plan import care_plan_from_plan
from .consent import consent_from_provision
from .organization import organization_from_agency
from .task import task_from_referral

# The scopes a Bundle's reader needs for the resources it may add: the
# scopes of their own endpoints (referrals/api/fhir_views.py).
CONSENT_SCOPE, AUDIT_SCOPE = "consents:read", "audit:read"


def task_read(caller: Caller, referral_id):
    return task_from_referral(referral_read(caller, referral_id))


def consent_read(caller: Caller, provision_id):
    """A provision of a person the caller owns; 404 otherwise, as the
    subject's consent state is the owner's only."""
    provision = (
        Provision.objects.select_related("granted_entry")
        .filter(pk=provision_id, subject__owner=caller.agency).first()
    )
    if provision is None:
        raise NotFoundError(_("No such consent provision."))
    return consent_from_provision(provision, now=timezone.now())


def audit_event_read(caller: Caller, entry_id):
    return _audit_event(ledger_entry_get_for_caller(entry_id, caller))


def organization_read(caller: Caller, agency_id):
    """Any active agency: the directory is open to every agency."""
    agency = agency_get_active(agency_id)
    if agency is None:
        raise NotFoundError(_("No such active agency."))
    return organization_from_agency(agency)


def care_plan_read(caller: Caller, plan_id):
    view = plan_read(caller, plan_id)
    return care_plan_from_plan(view, blue_card_id=_blue_card_of(view.plan, caller))


@transaction.atomic
def referral_context_read(caller: Caller, referral_id, *, scopes: set[str]) -> list[BaseModel]:
    """The resources of a referral's Bundle, in order: the Task, the sender's
    and the recipient's Organizations, the Consents it relied on (to the
    person's owner, with consents:read), and the AuditEvent of this read's
    `disclosure` entry (with audit:read; its recorder, the caller, may read
    it). One read of the referral, so one `disclosure` entry, as GET
    referrals/{id}."""
    view = referral_read(caller, referral_id)
    referral, now = view.referral, timezone.now()
    resources = [
        task_from_referral(view),
        organization_from_agency(referral.sender),
        organization_from_agency(referral.recipient),
    ]
    if CONSENT_SCOPE in scopes:
        resources += [consent_from_provision(p, now=now) for p in _relied_on(view, caller, now)]
    entry = _read_entry(view)
    if entry is not None and AUDIT_SCOPE in scopes:
        resources.append(_audit_event(entry))
    return resources


def _read_entry(view: ReferralView) -> LedgerEntry | None:
    """This read's `disclosure` entry, as the payload's or the profile's
    result names it. When only a text another agency wrote was disclosed
    (the owner-sender reading the recipient's status reason), the view does
    not name the entry and the Bundle goes without its AuditEvent: looking
    it up by time could pick a concurrent read's entry."""
    return view.payload.entry or view.profile.entry


def _relied_on(view: ReferralView, caller: Caller, now) -> list[Provision]:
    """The provisions the referral's exchange relies on, for the person's
    owner (no one else may read them): the bases of this read's entry, and
    what lets the recipient receive the referral's categories for its
    purpose now (the decision GET referrals/{id} makes when the recipient
    reads, without recording anything)."""
    referral = view.referral
    if referral.subject.owner_id != caller.agency.id:
        return []
    entry = _read_entry(view)
    entries = {basis["entry"] for basis in (entry.body["bases"] if entry else []) if basis.get("entry")}
    if referral.recipient_id != caller.agency.id:
        categories = {
            category for disclosed in (view.payload, view.profile)
            for category in (*disclosed.released_categories, *disclosed.withheld_categories)
        }
        provisions = provisions_in_force(referral.subject_id, now)
        decision = decide(provisions, recipient_of(referral.recipient, provisions), sorted(categories),
                          referral.purpose, now)
        received = set(decision.permitted) - withheld_from(referral.subject_id, referral.recipient_id)
        entries |= {d.entry_id for c, d in decision.by_category.items() if c in received and d.entry_id}
    provisions = Provision.objects.select_related("granted_entry").filter(
        subject_id=referral.subject_id, granted_entry_id__in=entries
    )
    return references_load(list(provisions.order_by("valid_from", "id")))


def _audit_event(entry: LedgerEntry):
    body = entry.body
    recorded = {basis["entry"] for basis in body.get("bases", []) if basis.get("entry")}
    recorded |= {body.get("provision_entry") or str(entry.id)}
    provisions = Provision.objects.filter(subject_id=entry.subject_id, granted_entry_id__in=recorded)
    leaf_index = LedgerLeaf.objects.filter(entry=entry).values_list("leaf_index", flat=True).first()
    return audit_event_from_entry(
        entry, provisions={str(e): str(p) for e, p in provisions.values_list("granted_entry_id", "id")},
        leaf_index=leaf_index,
    )


def _blue_card_of(plan, caller: Caller):
    """The Blue Card procedure of the plan's person run by the plan's team
    (its ZI or GDP), if the caller may see it (blue_card_list_for_agency)."""
    if plan.team_id is None:
        return None
    procedures = blue_card_list_for_agency(caller, team_id=plan.team_id).prefetch_related(None)
    return procedures.filter(subject_id=plan.subject_id).order_by("-opened_at").values_list("id", flat=True).first()
