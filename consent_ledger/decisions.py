"""The decision engine (DESIGN.md 4.2): for one subject, recipient agency,
purpose and time, which categories may be disclosed, and on which basis.

Precedence, per category:
  1. an active statutory basis (vital_interest, legal_obligation, court_order,
     blue_card_procedure) covering it -> permit (the law overrides the person);
  2. else an active refusal covering it -> deny;
  3. else an active consent covering it -> permit;
  4. else deny (default deny).
Before all of these, one allow-list (DESIGN.md 4.6): see `decide_category`.
Pure functions over the subject's provisions: no queries here.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from .models import Provision, ProvisionKind


@dataclass(frozen=True, slots=True)
class ProvisionTerms:
    """What the engine reads of a provision: the choke point loads these
    columns alone (consent_ledger.selectors.decision_inputs), without a model
    instance per row. A Provision has the same attributes; either will do."""

    kind: str
    basis: str
    recipient_agencies: list
    recipient_kinds: list
    recipient_teams: list
    categories: list
    purposes: list
    valid_from: datetime
    valid_until: datetime | None
    ended_at: datetime | None
    granted_entry_id: object

    is_active = Provision.is_active  # the same rule over the same three times


@dataclass(frozen=True)
class Recipient:
    agency_id: str
    kind: str
    team_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CategoryDecision:
    category: str
    permitted: bool
    basis: str | None  # the legal-basis code that permitted, None when denied
    entry_id: str | None  # the ledger entry that decided, None for default deny
    # Permitted to the subject's owner on the supplier's provision (the reply
    # basis of decide_reply), not on one that names the owner.
    reply: bool = False


@dataclass(frozen=True)
class Decision:
    by_category: dict[str, CategoryDecision] = field(default_factory=dict)

    @property
    def permitted(self) -> list[str]:
        return sorted(c for c, d in self.by_category.items() if d.permitted)

    @property
    def denied(self) -> list[str]:
        return sorted(c for c, d in self.by_category.items() if not d.permitted)

    @property
    def basis_entries(self) -> list[str]:
        return sorted({d.entry_id for d in self.by_category.values() if d.permitted and d.entry_id})


def names_recipient(provision: Provision, recipient: Recipient) -> bool:
    """Recipients match by agency, by agency kind, or by a team the agency is in."""
    return (
        recipient.agency_id in provision.recipient_agencies
        or recipient.kind in provision.recipient_kinds
        or not recipient.team_ids.isdisjoint(provision.recipient_teams)
    )


def covers(provision: Provision, recipient: Recipient, category: str, purpose: str, at: datetime) -> bool:
    return (
        provision.is_active(at)
        and category in provision.categories
        and purpose in provision.purposes
        and names_recipient(provision, recipient)
    )


def _first(provisions, kinds, recipient, category, purpose, at):
    # Oldest first, so the same history always names the same deciding entry.
    matching = [p for p in provisions if p.kind in kinds and covers(p, recipient, category, purpose, at)]
    return min(matching, key=lambda p: (p.valid_from, str(p.granted_entry_id)), default=None)


_STATUTORY = (ProvisionKind.LEGAL_BASIS, ProvisionKind.EMERGENCY)

# DESIGN.md 4.6: the only categories an employer is ever released for a placement.
EMPLOYER_KIND = "employer"
EMPLOYMENT_PLACEMENT = "employment_placement"
EMPLOYER_PLACEMENT_CATEGORIES = frozenset({"identity", "contact", "employment"})


def decide_category(provisions, recipient: Recipient, category: str, purpose: str, at: datetime) -> CategoryDecision:
    """Whether `recipient` may receive `category` for `purpose` at `at`, and on
    which provision (the precedence in the module docstring).

    THE EMPLOYER ALLOW-LIST comes first (DESIGN.md 4.6, issue 9): under the
    purpose `employment_placement` an agency of kind `employer` is never
    permitted any category other than identity, contact and employment,
    whatever a consent, a statutory basis or an emergency disclosure names.
    An employer takes the person on as a full member of staff and must never
    learn that she experienced violence: a code word for safe contact, a note
    on her health or her therapy, a risk level or a case note would each tell
    it exactly that, and a consent form on which "everything" was ticked for
    the placement must not let it through. No provision decides such a
    category (entry None), the rule does. This is the one place the rule is
    enforced: every read through the choke point, every send-time basis check
    and every visibility test (has_any_basis) asks this function."""
    employer_placement = recipient.kind == EMPLOYER_KIND and purpose == EMPLOYMENT_PLACEMENT
    if employer_placement and category not in EMPLOYER_PLACEMENT_CATEGORIES:
        return CategoryDecision(category, False, None, None)
    statutory = _first(provisions, _STATUTORY, recipient, category, purpose, at)
    if statutory is not None:
        return CategoryDecision(category, True, statutory.basis, str(statutory.granted_entry_id))
    refusal = _first(provisions, (ProvisionKind.REFUSAL,), recipient, category, purpose, at)
    if refusal is not None:
        return CategoryDecision(category, False, None, str(refusal.granted_entry_id))
    consent = _first(provisions, (ProvisionKind.CONSENT,), recipient, category, purpose, at)
    if consent is not None:
        return CategoryDecision(category, True, "consent", str(consent.granted_entry_id))
    return CategoryDecision(category, False, None, None)


def decide(
    provisions: Iterable[Provision], recipient: Recipient, categories: Iterable[str], purpose: str, at: datetime
) -> Decision:
    provisions = list(provisions)
    return Decision({c: decide_category(provisions, recipient, c, purpose, at) for c in set(categories)})


def decide_reply(
    provisions: Iterable[Provision], owner: Recipient, supplier: Recipient, categories: Iterable[str], purpose: str,
    at: datetime,
) -> Decision:
    """What the subject's owner may receive of a document another agency (the
    supplier) wrote about the person (DESIGN.md 4.3). A category is permitted
    when a provision names the owner, or else when the supplier's consent
    covers it for this purpose: the exchange the person agreed to runs both
    ways (the reply basis, recorded as that consent). A statutory basis of
    the supplier's is no reply basis: the law names its own recipients (a
    GDP's NK-D on the person suspected of violence does not flow back to an
    owner outside the GDP). A refusal naming either still denies. A category
    permitted on the reply basis is marked `reply`, so the accounting says so."""
    provisions = list(provisions)
    own = decide(provisions, owner, categories, purpose, at)
    agreed = [p for p in provisions if p.kind in (ProvisionKind.CONSENT, ProvisionKind.REFUSAL)]
    reply = decide(agreed, supplier, categories, purpose, at)
    return Decision({
        category: mine if mine.permitted or mine.entry_id is not None else _as_reply(reply.by_category[category])
        for category, mine in own.by_category.items()
    })


def _as_reply(decision: CategoryDecision) -> CategoryDecision:
    return replace(decision, reply=True) if decision.permitted else decision


def has_any_basis(provisions: Iterable[Provision], recipient: Recipient, at: datetime) -> bool:
    """Whether the recipient may learn the subject exists: some category is
    actually permitted to it, for some purpose, by an active provision naming
    it. A consent fully overridden by a refusal reveals nothing."""
    provisions = list(provisions)
    return any(
        decide_category(provisions, recipient, category, purpose, at).permitted
        for p in provisions
        if p.kind != ProvisionKind.REFUSAL and p.is_active(at) and names_recipient(p, recipient)
        for category in p.categories
        for purpose in p.purposes
    )
