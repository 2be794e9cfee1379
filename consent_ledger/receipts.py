"""Consent receipts, shaped after the Kantara Initiative Consent Receipt v1.1
and ISO/IEC TS 27560:2023 record fields: what the person agreed to, given to
them (or their caseworker) at the moment of consent."""

from .ledger import iso
from .models import Provision

RECEIPT_VERSION = "KI-CR-v1.1.0"


def consent_receipt(provision: Provision, *, controller) -> dict:
    entry = provision.granted_entry
    return {
        "version": RECEIPT_VERSION,
        "receipt_id": str(provision.id),
        "consent_timestamp": iso(entry.recorded_at),
        "collection_method": provision.form,
        "grantor": provision.grantor,
        # The hub never puts a name on a receipt: the person is their pseudonym.
        "pii_principal_id": str(provision.subject_id),
        "controller": {"id": str(controller.id), "name": controller.name},
        "services": [{"purpose": purpose, "pii_categories": provision.categories} for purpose in provision.purposes],
        "recipients": {
            "agencies": provision.recipient_agencies,
            "agency_kinds": provision.recipient_kinds,
            "teams": provision.recipient_teams,
        },
        "valid_from": iso(provision.valid_from),
        "valid_until": iso(provision.valid_until),
        "revocable": True,
        "evidence_sha256": provision.evidence_sha256,
        "ledger_entry": {"id": str(entry.id), "leaf_hash": entry.leaf_hash},
    }
