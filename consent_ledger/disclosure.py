"""The disclosure choke point (DESIGN.md 4.3): the only way person data leaves
the hub. Decide per category, prune, record, return."""

import hashlib
from dataclasses import dataclass
from functools import cached_property

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.callers import Caller
from agencies.models import Agency
from hub.api.errors import ValidationFailed
from hub.api.request_id import current_request_id
from schemas.registry import get_registry
from schemas.vocabularies import PURPOSES, codes

from .decisions import Decision, decide, decide_reply
from .ledger import ledger_append
from .merkle import canonical_bytes
from .models import EntryKind, LedgerEntry, Subject
from .sealing import SubjectErased, unsealed
from .selectors import decision_inputs, recipient_of

UNKNOWN_PURPOSE = "unknown_purpose"


@dataclass(frozen=True)
class Disclosed:
    document: object
    withheld_categories: list[str]
    released_categories: list[str]
    entry: LedgerEntry | None  # None when the caller supplied the data itself


# What a read of an erased subject's record shows in place of their data.
ERASED = Disclosed(None, [], [], None)


def require_purpose(purpose: str | None) -> str:
    if purpose not in codes(PURPOSES):
        allowed = ", ".join(codes(PURPOSES))
        if purpose is None:
            detail = _("Missing purpose. One of: %(allowed)s.") % {"allowed": allowed}
        else:
            detail = _("Unknown purpose %(purpose)s. One of: %(allowed)s.") % {"purpose": repr(purpose), "allowed": allowed}
        raise ValidationFailed(
            _("Say why you need the data: purpose must be one of %(allowed)s.") % {"allowed": allowed},
            code=UNKNOWN_PURPOSE,
            errors=[{"parameter": "purpose", "detail": detail}],
        )
    return purpose


@dataclass(frozen=True)
class Part:
    """One document of a disclosure: its schema, the agency that supplied it
    (default: the subject's owner) and categories it must never release."""

    document: object
    schema: str
    originator_id: object = None
    withhold: tuple = ()
    only: frozenset | None = None  # categories outside it are cut before deciding, and not named as withheld


def disclose(
    *, subject: Subject, caller: Caller, purpose: str, document, schema: str, originator_id=None, withhold=()
) -> Disclosed:
    """Return one document pruned to what the caller's agency may receive
    (see disclose_together)."""
    part = Part(document, schema, originator_id, tuple(withhold))
    return disclose_together(subject=subject, caller=caller, purpose=purpose, parts=[part])[0]


def disclose_together(
    *, subject: Subject, caller: Caller, purpose: str, parts: list[Part], about: Model | None = None
) -> list[Disclosed]:
    """Return each document pruned to what the caller's agency may receive.

    Giving a document back to the agency that supplied it is not a
    disclosure. Any other document is decided per category, pruned and
    recorded, for the subject's owner too: the owner receives what a
    provision names it for or what the supplier's basis covers
    (decisions.decide_reply). A part's `withhold`, and every withholding
    another agency imposed on the caller for this subject, always hold.
    Everything released in this one read is ONE `disclosure` entry, in this
    transaction: categories released and withheld, the basis of each, the
    request id and each document's schema, supplier and sha256.

    `about` is the record the documents belong to (the referral they answer,
    a plan, a Blue Card procedure, a placement). When the subject's owner
    receives another agency's documents, the entry names it as
    "<model>:<id>", and each basis that is the supplier's provision is
    marked `reply`: the accounting says on what ground the data flowed back
    (issue 12, item 4). Another reader's entry is as it was, so the
    recipient's read (the hot path, issue 11) does no more work.
    """
    require_purpose(purpose)
    if subject.erased_at is not None:
        raise SubjectErased(subject.id)
    # Sealed person data opens here and nowhere else on its way out (sealing.py).
    parts = [Part(_opened(p), p.schema, p.originator_id, p.withhold) for p in parts]
    # The caller's transaction when there is one (every read service has),
    # without a savepoint: nothing here is retried after a failure, which
    # aborts the whole read (issue 11: a savepoint is two more round trips).
    with transaction.atomic(savepoint=False):
        context = _Context(subject, caller, purpose)
        results = [context.own(part) for part in parts]
        decided = {index: context.decide(part) for index, part in enumerate(parts) if results[index] is None}
        if decided:
            body = _disclosure_body(caller, purpose, list(decided.values()))
            if about is not None and context.owner_reads:
                body["about"] = f"{about._meta.model_name}:{about.pk}"
            entry = ledger_append(kind=EntryKind.DISCLOSURE, subject=subject, caller=caller, body=body)
            for index, release in decided.items():
                results[index] = Disclosed(release.document, release.withheld, release.released, entry)
    return results


def _opened(part: Part):
    document = unsealed(part.document)
    if part.only is None:
        return document
    return get_registry().prune(part.schema, document, part.only)[0]


@dataclass(frozen=True)
class _Release:
    part: Part
    supplier_id: object
    document: object
    released: list[str]
    withheld: list[str]
    decision: Decision


class _Context:
    """What one read decides on, loaded once and only when needed: the
    subject's provisions and the withholdings imposed on the caller (one
    query), the caller as a recipient, and each supplier as a recipient (for
    the reply basis)."""

    def __init__(self, subject: Subject, caller: Caller, purpose: str):
        self.subject, self.caller, self.purpose = subject, caller, purpose
        self.registry = get_registry()
        self.now = timezone.now()
        self._suppliers = {}

    @cached_property
    def _inputs(self):
        return decision_inputs(self.subject.id, self.caller.agency.id, self.now)

    @cached_property
    def provisions(self):
        return self._inputs.provisions

    @cached_property
    def recipient(self):
        return recipient_of(self.caller.agency, self.provisions)

    @cached_property
    def withheld_from_caller(self) -> set[str]:
        return self._inputs.withheld

    @cached_property
    def owner_reads(self) -> bool:
        return self.caller.agency.id == self.subject.owner_id

    def own(self, part: Part) -> Disclosed | None:
        """The part unchanged when the caller supplied it itself."""
        if self.caller.agency.id != (part.originator_id or self.subject.owner_id):
            return None
        return Disclosed(part.document, [], sorted(self.registry.categories_present(part.schema, part.document)), None)

    def decide(self, part: Part) -> _Release:
        present = self.registry.categories_present(part.schema, part.document)
        if self.owner_reads:
            supplier = self._supplier(part.originator_id)
            decision = decide_reply(self.provisions, self.recipient, supplier, present, self.purpose, self.now)
        else:
            decision = decide(self.provisions, self.recipient, present, self.purpose, self.now)
        permitted = set(decision.permitted) - set(part.withhold) - self.withheld_from_caller
        pruned, withheld = self.registry.prune(part.schema, part.document, permitted)
        supplier_id = part.originator_id or self.subject.owner_id
        return _Release(part, supplier_id, pruned, sorted(present - set(withheld)), sorted(withheld), decision)

    def _supplier(self, agency_id):
        if agency_id not in self._suppliers:
            self._suppliers[agency_id] = recipient_of(Agency.objects.get(pk=agency_id), self.provisions)
        return self._suppliers[agency_id]


def _disclosure_body(caller: Caller, purpose: str, releases: list[_Release]) -> dict:
    bases = {
        (c, d.basis, d.entry_id, d.reply)
        for release in releases
        for c, d in release.decision.by_category.items()
        if d.permitted and c in release.released
    }
    registry = get_registry()
    return {
        "recipient": str(caller.agency.id),
        "purpose": purpose,
        "categories": sorted({c for release in releases for c in release.released}),
        "withheld_categories": sorted({c for release in releases for c in release.withheld}),
        "bases": [_basis(*basis) for basis in sorted(bases)],
        "request_id": current_request_id.get(),
        "documents": [
            {
                "schema": registry.schema_id(release.part.schema),
                "supplied_by": str(release.supplier_id),
                "sha256": hashlib.sha256(canonical_bytes(release.document)).hexdigest(),
            }
            for release in releases
        ],
    }


def _basis(category: str, basis: str, entry: str | None, reply: bool) -> dict:
    """One released category's basis; `reply` when it is the supplier's
    provision the subject's owner receives on (decisions.decide_reply)."""
    if reply:
        return {"category": category, "basis": basis, "entry": entry, "reply": True}
    return {"category": category, "basis": basis, "entry": entry}
