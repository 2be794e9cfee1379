"""A ledger entry (DESIGN.md 4.2-4.4) as a FHIR R5 AuditEvent. Entries hold
ids, codes, times and hashes, never names or notes, and so does this.

- `code`/`category`: the entry's kind (our code system); a `disclosure` is
  also a DICOM "Export" (DCM 110106): data leaving the hub for a recipient.
- `agent`: the agency that recorded it (a disclosure's recipient, as the
  choke point records it) and the actor label (`client:<id>`, `user:<pk>`).
- `source`: the hub's ledger, by its origin line (LEDGER_ORIGIN).
- `entity`: the person (`Patient/{id}`) with the entry's leaf hash (hex, RFC
  9162 §2.1.1) and leaf index, the categories concerned (`securityLabel`)
  and, for a disclosure, each withheld category and its purpose; for a
  disclosure each basis it relied on (the provision as `Consent/{id}`) and
  each document released (by its SHA-256, with its schema and supplier); for
  an entry that records or ends a provision, that provision.
- `authorization`: the purposes (the entry's `purpose` or `purposes`)."""

from django.conf import settings
from fhir.resources.auditevent import AuditEvent

from consent_ledger.models import EntryKind, LedgerEntry

from .common import (
    DATA_CATEGORY,
    LEGAL_BASIS,
    PURPOSE,
    V3_PARTICIPATION_TYPE,
    WITHHELD_CATEGORY,
    build,
    coding,
    concept,
    instant,
    organization_reference,
    patient_reference,
)

LEDGER_ENTRY_KIND = "urn:welfare-hub:ledger-entry-kind"
AUDIT_DETAIL = "urn:welfare-hub:audit-detail"
ENTITY_ROLE = "urn:welfare-hub:audit-entity-role"
ACTOR = "urn:welfare-hub:actor"
LEDGER = "urn:welfare-hub:ledger"
LEDGER_ENTRY = "urn:welfare-hub:ledger-entry"
DOCUMENT_SHA256 = "urn:welfare-hub:document-sha256"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
OUTCOME = "http://terminology.hl7.org/CodeSystem/audit-event-outcome"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"

# FHIR R5 AuditEvent.action: C(reate), R(ead), U(pdate), D(elete).
_ACTION = {
    EntryKind.DISCLOSURE: "R",
    EntryKind.CONSENT_REVOKED: "U", EntryKind.REFUSAL_WITHDRAWN: "U", EntryKind.LEGAL_BASIS_ENDED: "U",
    EntryKind.SUBJECT_ERASED: "D", EntryKind.RETENTION_ERASURE: "D",
}


def audit_event_from_entry(entry: LedgerEntry, *, provisions: dict[str, str], leaf_index: int | None) -> AuditEvent:
    """`provisions` maps the ids of the ledger entries that record a provision
    to the provision's id (for the bases of a disclosure and the provision an
    entry records or ends)."""
    body = entry.body
    disclosure = entry.kind == EntryKind.DISCLOSURE
    category = [concept(LEDGER_ENTRY_KIND, entry.kind)]
    if disclosure:
        category.append(concept(DICOM, "110106", "Export"))
    data = {
        "resourceType": "AuditEvent",
        "id": str(entry.id),
        "category": category,
        "code": concept(LEDGER_ENTRY_KIND, entry.kind),
        "action": _ACTION.get(entry.kind, "C"),
        "occurredDateTime": instant(entry.recorded_at),
        "recorded": instant(entry.recorded_at),
        "outcome": {"code": coding(OUTCOME, "0", "Success")},
        "patient": patient_reference(entry.subject_id),
        "agent": _agents(entry, disclosure),
        "source": {
            "observer": {"identifier": {"system": LEDGER, "value": settings.LEDGER_ORIGIN},
                         "display": settings.LEDGER_ORIGIN},
            "type": [concept(SOURCE_TYPE, "4", "Application Server")],
        },
        "entity": [_subject_entity(entry, leaf_index), *_provision_entities(entry, provisions)],
    }
    purposes = [body["purpose"]] if body.get("purpose") else body.get("purposes") or []
    if purposes:
        data["authorization"] = [concept(PURPOSE, purpose) for purpose in purposes]
    if disclosure:
        data["entity"] += [_document_entity(document) for document in body.get("documents", [])]
    return build(AuditEvent, data)


def _agents(entry: LedgerEntry, disclosure: bool) -> list[dict]:
    role = ("IRCP", "information recipient") if disclosure else ("AUT", "author (originator)")
    return [
        {"type": concept(V3_PARTICIPATION_TYPE, *role), "who": organization_reference(entry.recorded_by_id),
         "requestor": False},
        {"who": {"identifier": {"system": ACTOR, "value": entry.actor}}, "requestor": True},
    ]


def _detail(code: str, **value) -> dict:
    return {"type": concept(AUDIT_DETAIL, code), **value}


def _subject_entity(entry: LedgerEntry, leaf_index: int | None) -> dict:
    body = entry.body
    details = [_detail("leaf-hash", valueString=entry.leaf_hash)]
    if leaf_index is not None:
        details.append(_detail("leaf-index", valueInteger=leaf_index))
    details += [_detail("withheld-category", valueCodeableConcept=concept(WITHHELD_CATEGORY, category))
                for category in body.get("withheld_categories", [])]
    if body.get("purpose"):
        details.append(_detail("purpose", valueCodeableConcept=concept(PURPOSE, body["purpose"])))
    if body.get("request_id"):
        details.append(_detail("request-id", valueString=body["request_id"]))
    if body.get("about"):
        details.append(_detail("about", valueString=body["about"]))
    entity = {
        "what": patient_reference(entry.subject_id),
        "role": concept(OBJECT_ROLE, "1", "Patient"),
        "detail": details,
    }
    categories = body.get("categories") or []
    if categories:
        entity["securityLabel"] = [concept(DATA_CATEGORY, category) for category in categories]
    return entity


def _provision_entities(entry: LedgerEntry, provisions: dict[str, str]) -> list[dict]:
    """The provisions an entry relied on (a disclosure's bases, one entity per
    provision with the categories released on it) or records or ends."""
    body = entry.body
    if entry.kind == EntryKind.DISCLOSURE:
        by_entry: dict[str, dict] = {}
        for basis in body.get("bases", []):
            found = by_entry.setdefault(basis["entry"], {"basis": basis["basis"], "categories": [], "reply": False})
            found["categories"].append(basis["category"])
            found["reply"] = found["reply"] or bool(basis.get("reply"))
        return [_basis_entity(entry_id, found, provisions) for entry_id, found in by_entry.items() if entry_id]
    recorded = body.get("provision_entry") or str(entry.id)
    if recorded not in provisions:
        return []
    return [{"what": {"reference": f"Consent/{provisions[recorded]}", "type": "Consent"},
             "role": concept(ENTITY_ROLE, "provision")}]


def _basis_entity(entry_id: str, basis: dict, provisions: dict[str, str]) -> dict:
    if entry_id in provisions:
        what = {"reference": f"Consent/{provisions[entry_id]}", "type": "Consent"}
    else:
        what = {"identifier": {"system": LEDGER_ENTRY, "value": entry_id}}
    details = [_detail("basis", valueCodeableConcept=concept(LEGAL_BASIS, basis["basis"]))]
    if basis["reply"]:
        # The subject's owner received another agency's data on that agency's provision.
        details.append(_detail("reply", valueBoolean=True))
    return {
        "what": what,
        "role": concept(ENTITY_ROLE, "basis"),
        "securityLabel": [concept(DATA_CATEGORY, category) for category in sorted(basis["categories"])],
        "detail": details,
    }


def _document_entity(document: dict) -> dict:
    return {
        "what": {"identifier": {"system": DOCUMENT_SHA256, "value": document["sha256"]}},
        "role": concept(ENTITY_ROLE, "document"),
        "detail": [_detail("schema", valueString=document["schema"])],
        "agent": [{"type": concept(V3_PARTICIPATION_TYPE, "AUT", "author (originator)"),
                   "who": organization_reference(document["supplied_by"])}],
    }
