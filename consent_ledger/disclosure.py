"""The disclosure choke point (DESIGN.md 4.3): the only way person data leaves
the hub. Decide per category, prune, record, return."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from agencies.callers import Caller
from hub.api.errors import ValidationFailed
from hub.api.request_id import current_request_id
from schemas.registry import get_registry
from schemas.vocabularies import PURPOSES, codes

from .decisions import decide
from .ledger import ledger_append
from .merkle import canonical_bytes
from .models import EntryKind, LedgerEntry, Subject
from .selectors import provisions_in_force, recipient_of

UNKNOWN_PURPOSE = "unknown_purpose"


@dataclass(frozen=True)
class Disclosed:
    document: object
    withheld_categories: list[str]
    released_categories: list[str]
    entry: LedgerEntry | None  # None when the caller supplied the data itself


def require_purpose(purpose: str | None) -> str:
    if purpose not in codes(PURPOSES):
        raise ValidationFailed(
            f"Say why you need the data: purpose must be one of {', '.join(codes(PURPOSES))}.",
            code=UNKNOWN_PURPOSE,
            errors=[{"parameter": "purpose", "detail": f"Unknown or missing purpose {purpose!r}."}],
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


@transaction.atomic
def disclose(
    *, subject: Subject, caller: Caller, purpose: str, document, schema: str, originator_id=None, withhold=()
) -> Disclosed:
    """Return one document pruned to what the caller's agency may receive
    (see disclose_together)."""
    part = Part(document, schema, originator_id, tuple(withhold))
    return disclose_together(subject=subject, caller=caller, purpose=purpose, parts=[part])[0]


@transaction.atomic
def disclose_together(*, subject: Subject, caller: Caller, purpose: str, parts: list[Part]) -> list[Disclosed]:
    """Return each document pruned to what the caller's agency may receive.

    Giving a document back to its originator, or to the subject's owner (the
    controller of the person's case, to whom the loop closes), is not a
    disclosure. Everything else released in this one read is recorded as ONE
    `disclosure` entry, in this transaction: categories released and withheld,
    the basis of each, the request id and each released document's sha256.
    A part's `withhold` stays withheld whatever the ledger allows.
    """
    require_purpose(purpose)
    registry = get_registry()
    now = timezone.now()
    results: list[Disclosed | None] = [None] * len(parts)
    pruned_parts = []
    provisions = recipient = None
    for index, part in enumerate(parts):
        present = registry.categories_present(part.schema, part.document)
        if caller.agency.id in (part.originator_id or subject.owner_id, subject.owner_id):
            results[index] = Disclosed(part.document, [], sorted(present), None)
            continue
        if provisions is None:  # loaded once, for every part
            provisions = provisions_in_force(subject.id, now)
            recipient = recipient_of(caller.agency, provisions)
        decision = decide(provisions, recipient, present, purpose, now)
        pruned, withheld = registry.prune(part.schema, part.document, set(decision.permitted) - set(part.withhold))
        pruned_parts.append((index, part, sorted(present - set(withheld)), sorted(withheld), decision, pruned))
    if pruned_parts:
        entry = ledger_append(
            kind=EntryKind.DISCLOSURE, subject=subject, caller=caller,
            body=_disclosure_body(caller, purpose, pruned_parts, registry),
        )
        for index, _, released, withheld, _, pruned in pruned_parts:
            results[index] = Disclosed(pruned, withheld, released, entry)
    return results


def _disclosure_body(caller: Caller, purpose: str, pruned_parts, registry) -> dict:
    bases = {
        (c, d.basis, d.entry_id)
        for _, _, released, _, decision, _ in pruned_parts
        for c, d in decision.by_category.items()
        if d.permitted and c in released
    }
    return {
        "recipient": str(caller.agency.id),
        "purpose": purpose,
        "categories": sorted({c for _, _, released, _, _, _ in pruned_parts for c in released}),
        "withheld_categories": sorted({c for _, _, _, withheld, _, _ in pruned_parts for c in withheld}),
        "bases": [{"category": c, "basis": b, "entry": e} for c, b, e in sorted(bases)],
        "request_id": current_request_id.get(),
        "documents": [
            {"schema": registry.schema_id(part.schema), "sha256": hashlib.sha256(canonical_bytes(pruned)).hexdigest()}
            for _, part, _, _, _, pruned in pruned_parts
        ],
    }
