"""The accounting of disclosures as people read it (HIPAA §164.528, LED
art. 25, GDPR art. 15(1)(c)): one row per `disclosure` entry, with agency and
client names and vocabulary labels. Users stay pseudonymous (`user:<id>`).

A row names who supplied the data as well as who received it: the subject's
owner reading another agency's document is a disclosure by that agency
(DESIGN.md 4.3, issue 12 item 4), and the row then says what the documents
belonged to (`about`: the referral they answer, the team's plan or
procedure, the placement) and which bases were the reply basis."""

import uuid

from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, AgencyApplication
from schemas.vocabularies import DATA_CATEGORIES, LEGAL_BASES, PURPOSES, term

# The records a disclosure's documents may belong to, by model name
# (disclosure.disclose_together records "<model name>:<id>").
ABOUT_LABELS = {
    "referral": _("Referral"),
    "plan": _("Support plan"),
    "bluecardprocedure": _("Blue Card procedure"),
    "placement": _("Placement"),
}


def label(vocabulary: str, code: str, language: str) -> str:
    try:
        return term(vocabulary, code).label(language)
    except KeyError:
        return code


def entry_suppliers(entry) -> list[str]:
    """The agencies that supplied the documents of one disclosure, each once,
    in the order of its documents. Entries recorded before suppliers were
    (issue 5) name none: the ledger is never rewritten."""
    suppliers = (document.get("supplied_by") for document in entry.body["documents"])
    return list(dict.fromkeys(s for s in suppliers if s is not None))


def entry_about(entry) -> str | None:
    """"<kind>:<id>" of the record the documents belonged to, for an owner's
    read of another agency's documents; None otherwise."""
    return entry.body.get("about")


def _actor_names(entries) -> dict[str, str]:
    """client:<id> -> the client's name."""
    client_ids = {e.actor.removeprefix("client:") for e in entries if e.actor.startswith("client:")}
    names = dict(AgencyApplication.objects.filter(client_id__in=client_ids).values_list("client_id", "name"))
    return {f"client:{cid}": name for cid, name in names.items()}


def _agency_names(entries) -> dict[str, str]:
    """Every recipient's and supplier's name, by id (one query)."""
    ids = {e.body["recipient"] for e in entries} | {s for e in entries for s in entry_suppliers(e)}
    return {str(pk): name for pk, name in Agency.objects.filter(id__in=[uuid.UUID(i) for i in ids]).values_list("id", "name")}


def _about(entry) -> dict | None:
    about = entry_about(entry)
    if about is None:
        return None
    kind, _sep, record_id = about.partition(":")
    return {"label": ABOUT_LABELS.get(kind, kind), "id": record_id}


def _bases(entry, language: str) -> list[dict]:
    """Each distinct basis of a disclosure once (the entry names one per
    category), with the categories it released."""
    categories = {}
    for basis in entry.body["bases"]:
        key = (basis["basis"], basis["entry"], basis.get("reply", False))
        categories.setdefault(key, []).append(label(DATA_CATEGORIES, basis["category"], language))
    return [
        {"label": label(LEGAL_BASES, code, language), "entry": entry_id, "reply": reply, "categories": released}
        for (code, entry_id, reply), released in categories.items()
    ]


def accounting_rows(entries, language: str) -> list[dict]:
    """`entries`: ledger entries of kind `disclosure` (selectors.disclosure_list_for_subject)."""
    entries = list(entries)
    agencies = _agency_names(entries)
    actors = _actor_names(entries)
    return [
        {
            "at": e.recorded_at,
            "suppliers": [agencies.get(s, s) for s in entry_suppliers(e)],
            "recipient": agencies.get(e.body["recipient"], e.body["recipient"]),
            "actor": actors.get(e.actor, e.actor),
            "categories": [label(DATA_CATEGORIES, c, language) for c in e.body["categories"]],
            "withheld": [label(DATA_CATEGORIES, c, language) for c in e.body["withheld_categories"]],
            "purpose": label(PURPOSES, e.body["purpose"], language),
            "purpose_code": e.body["purpose"],
            "bases": _bases(e, language),
            "about": _about(e),
            "request_id": e.body["request_id"],
            "entry": e.id,
        }
        for e in entries
    ]
