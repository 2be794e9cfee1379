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


@transaction.atomic
def disclose(
    *,
    subject: Subject,
    caller: Caller,
    purpose: str,
    document,
    schema: str,
    originator_id=None,
    withhold: Iterable[str] = (),
    provisions=None,
    recipient=None,
) -> Disclosed:
    """Return `document` pruned to what the caller's agency may receive.

    `originator_id` is the agency that supplied the document (the subject's
    owner for a profile, the sender for a referral payload). Giving data back
    to its originator, or to the subject's owner (the controller of the
    person's case, to whom the loop closes), is not a disclosure and records
    nothing. `withhold` lists categories the originator chose never to release
    to this recipient, whatever the ledger allows. A caller disclosing several
    documents in one transaction may pass the subject's `provisions` and the
    `recipient` it loaded once. Otherwise one `disclosure`
    entry records what was released and withheld, on which bases, with the
    request id and the released document's sha256, in this transaction.
    """
    require_purpose(purpose)
    registry = get_registry()
    if caller.agency.id in (originator_id or subject.owner_id, subject.owner_id):
        present = sorted(registry.categories_present(schema, document))
        return Disclosed(document=document, withheld_categories=[], released_categories=present, entry=None)
    now = timezone.now()
    present = registry.categories_present(schema, document)
    if provisions is None:
        provisions = provisions_in_force(subject.id, now)
    decision = decide(provisions, recipient or recipient_of(caller.agency, provisions), present, purpose, now)
    permitted = set(decision.permitted) - set(withhold)
    pruned, withheld = registry.prune(schema, document, permitted)
    released = sorted(present - set(withheld))
    body = {
        "recipient": str(caller.agency.id),
        "purpose": purpose,
        "schema": registry.schema_id(schema),
        "categories": released,
        "withheld_categories": sorted(withheld),
        "bases": [
            {"category": c, "basis": d.basis, "entry": d.entry_id}
            for c, d in sorted(decision.by_category.items())
            if d.permitted and c in released
        ],
        "request_id": current_request_id.get(),
        "document_sha256": hashlib.sha256(canonical_bytes(pruned)).hexdigest(),
    }
    entry = ledger_append(kind=EntryKind.DISCLOSURE, subject=subject, caller=caller, body=body)
    return Disclosed(document=pruned, withheld_categories=sorted(withheld), released_categories=released, entry=entry)
