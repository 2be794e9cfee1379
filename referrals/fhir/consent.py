"""A provision of the consent ledger (DESIGN.md 4.2) as a FHIR R5 Consent.

A consent permits, a refusal denies (`decision`); a statutory basis or an
emergency (vital interest) permits on its `regulatoryBasis`. The provision
tree has one provision: who may receive (`actor`: each recipient agency as an
Organization, each agency kind as a definitional Group of the organisations
of that kind, contained, each team as a CareTeam), for which purposes
(`purpose`), which data (`securityLabel`: our data categories), when
(`period`). The person is `Patient/{id}`, her pseudonymous id: no person data.
A basis's reference (a court's case signature may name her) is the text of
its `regulatoryBasis`, read from the note beside the entry that asserted it:
erasure deletes that note, and the reference with it.

The signed form is identified by its SHA-256 as an RFC 6920 `ni:` URI in
`sourceAttachment.url`: FHIR R5 defines `Attachment.hash` as SHA-1, which the
ledger does not keep."""

import base64
from datetime import datetime

from fhir.resources.consent import Consent

from consent_ledger.models import Provision, ProvisionKind

from .common import (
    AGENCY_KIND,
    DATA_CATEGORY,
    LEGAL_BASIS,
    PURPOSE,
    V3_PARTICIPATION_TYPE,
    build,
    coding,
    concept,
    instant,
    organization_reference,
    patient_reference,
    team_reference,
)

PROVISION_KIND = "urn:welfare-hub:provision-kind"
CONSENT_FORM = "urn:welfare-hub:consent-form"
GRANTOR = "urn:welfare-hub:grantor"
CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
INFORMATION_RECIPIENT = coding(V3_PARTICIPATION_TYPE, "IRCP", "information recipient")


def consent_from_provision(provision: Provision, *, now: datetime) -> Consent:
    period = _period(provision)
    data = {
        "resourceType": "Consent",
        "id": str(provision.id),
        "status": "inactive" if _over(provision, now) else "active",
        "category": [concept(PROVISION_KIND, provision.kind)],
        "subject": patient_reference(provision.subject_id),
        "date": provision.granted_entry.recorded_at.date().isoformat(),
        "period": period,
        "controller": [organization_reference(provision.recorded_by_id)],
        "decision": "deny" if provision.kind == ProvisionKind.REFUSAL else "permit",
        "provision": [_provision(provision, period)],
    }
    kinds = sorted(provision.recipient_kinds)
    if kinds:
        data["contained"] = [_kind_group(kind) for kind in kinds]
    if provision.form:
        data["category"].append(concept(CONSENT_FORM, provision.form))
    if provision.grantor:
        data["grantor"] = [_grantor(provision)]
    if provision.basis:
        data["regulatoryBasis"] = [concept(LEGAL_BASIS, provision.basis, text=provision.reference or None)]
    if provision.evidence_sha256:
        data["sourceAttachment"] = [{"url": _named_information(provision.evidence_sha256)}]
    return build(Consent, data)


def _over(provision: Provision, now: datetime) -> bool:
    """Revoked (withdrawn, ended) or expired: FHIR's "inactive". One that is
    not yet valid is active: its period says from when."""
    return any(moment is not None and moment <= now for moment in (provision.ended_at, provision.valid_until))


def _period(provision: Provision) -> dict:
    """When it was in force: from valid_from to the earlier of its end of
    validity and its revocation (or withdrawal, or end)."""
    ends = [moment for moment in (provision.valid_until, provision.ended_at) if moment is not None]
    return {"start": instant(provision.valid_from), **({"end": instant(min(ends))} if ends else {})}


def _provision(provision: Provision, period: dict) -> dict:
    actors = [{"role": {"coding": [INFORMATION_RECIPIENT]}, "reference": organization_reference(agency)}
              for agency in sorted(provision.recipient_agencies)]
    actors += [{"role": {"coding": [INFORMATION_RECIPIENT]}, "reference": {"reference": f"#{_kind_id(kind)}"}}
               for kind in sorted(provision.recipient_kinds)]
    actors += [{"role": {"coding": [INFORMATION_RECIPIENT]}, "reference": team_reference(team)}
               for team in sorted(provision.recipient_teams)]
    return {
        "period": period,
        "actor": actors,
        "action": [concept(CONSENT_ACTION, "disclose", "Disclose")],
        "purpose": [coding(PURPOSE, purpose) for purpose in provision.purposes],
        "securityLabel": [coding(DATA_CATEGORY, category) for category in provision.categories],
    }


def _kind_id(kind: str) -> str:
    return f"kind-{kind.replace('_', '-')}"


def _kind_group(kind: str) -> dict:
    """Every organisation of an agency kind: a definitional Group (FHIR R5
    Group.membership "definitional"), contained, that the provision's actor
    names."""
    return {
        "resourceType": "Group",
        "id": _kind_id(kind),
        "type": "organization",
        "membership": "definitional",
        "characteristic": [{
            "code": {"coding": [coding(AGENCY_KIND, kind)]},
            "valueCodeableConcept": concept(AGENCY_KIND, kind),
            "exclude": False,
        }],
    }


def _grantor(provision: Provision) -> dict:
    """The person herself, or who granted for her (a legal guardian, a court),
    named by role only."""
    if provision.grantor == "subject":
        return patient_reference(provision.subject_id)
    kind = "RelatedPerson" if provision.grantor == "legal_guardian" else "Organization"
    return {"type": kind, "identifier": {"system": GRANTOR, "value": provision.grantor}}


def _named_information(sha256_hex: str) -> str:
    """RFC 6920 §3: ni:///sha-256;<base64url of the digest, unpadded>."""
    digest = base64.urlsafe_b64encode(bytes.fromhex(sha256_hex)).rstrip(b"=").decode()
    return f"ni:///sha-256;{digest}"
