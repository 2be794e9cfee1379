"""The accounting of disclosures as people read it (HIPAA §164.528, LED
art. 25, GDPR art. 15(1)(c)): one row per `disclosure` entry, with agency and
client names and vocabulary labels. Users stay pseudonymous (`user:<id>`)."""

import uuid

from agencies.models import Agency, AgencyApplication
from schemas.vocabularies import DATA_CATEGORIES, LEGAL_BASES, PURPOSES, term


def label(vocabulary: str, code: str, language: str) -> str:
    try:
        return term(vocabulary, code).label(language)
    except KeyError:
        return code


def _actor_names(entries) -> dict[str, str]:
    """client:<id> -> the client's name."""
    client_ids = {e.actor.removeprefix("client:") for e in entries if e.actor.startswith("client:")}
    names = dict(AgencyApplication.objects.filter(client_id__in=client_ids).values_list("client_id", "name"))
    return {f"client:{cid}": name for cid, name in names.items()}


def accounting_rows(entries, language: str) -> list[dict]:
    """`entries`: ledger entries of kind `disclosure` (selectors.disclosure_list_for_subject)."""
    entries = list(entries)
    agencies = dict(Agency.objects.filter(id__in={e.body["recipient"] for e in entries}).values_list("id", "name"))
    actors = _actor_names(entries)
    return [
        {
            "at": e.recorded_at,
            "recipient": agencies.get(uuid.UUID(e.body["recipient"]), e.body["recipient"]),
            "actor": actors.get(e.actor, e.actor),
            "categories": [label(DATA_CATEGORIES, c, language) for c in e.body["categories"]],
            "withheld": [label(DATA_CATEGORIES, c, language) for c in e.body["withheld_categories"]],
            "purpose": label(PURPOSES, e.body["purpose"], language),
            "purpose_code": e.body["purpose"],
            "bases": [(label(LEGAL_BASES, b["basis"], language), b["entry"]) for b in e.body["bases"]],
            "request_id": e.body["request_id"],
            "entry": e.id,
        }
        for e in entries
    ]
