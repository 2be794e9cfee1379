"""What the FHIR exports share: our code systems, codings with their labels,
references, times, security labels, and `build`.

Our code systems are URNs of the hub's own (FHIR R5 "Using Codes" §4.1: a
code system is identified by any URI); each takes the codes of the
vocabulary of DESIGN.md 4.1 that it is named after, and those codes never
change meaning. Displays are the vocabulary's labels in the answer's language
(Accept-Language, hub/api/language.py)."""

from datetime import UTC, datetime

from django.utils import translation
from pydantic import BaseModel

from schemas.vocabularies import term

FHIR_JSON = "application/fhir+json"

# --- Code systems and identifier systems of ours --------------------------------------------

DATA_CATEGORY = "urn:welfare-hub:data-category"
# A category the reader did not receive: the same codes as DATA_CATEGORY, in
# a system of its own, because a security label in DATA_CATEGORY says what a
# resource holds (FHIR R5 security labels), and a withheld category is the
# opposite.
WITHHELD_CATEGORY = "urn:welfare-hub:withheld-category"
PURPOSE = "urn:welfare-hub:purpose"
LEGAL_BASIS = "urn:welfare-hub:legal-basis"
AGENCY_KIND = "urn:welfare-hub:agency-kind"
SECTOR = "urn:welfare-hub:sector"
REFERRAL_SERVICE = "urn:welfare-hub:referral-service"
SUBJECT = "urn:welfare-hub:subject"
TEAM = "urn:welfare-hub:team"
TERYT = "urn:welfare-hub:teryt"

# --- HL7 code systems ------------------------------------------------------------------------

# v3 ObservationValue REDACTED: "the IT resource has been redacted" (FHIR R5
# security labels, integrity/handling caveats).
V3_OBSERVATION_VALUE = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
V3_PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

_VOCABULARY = {
    DATA_CATEGORY: "data_categories",
    WITHHELD_CATEGORY: "data_categories",
    PURPOSE: "purposes",
    LEGAL_BASIS: "legal_bases",
    AGENCY_KIND: "agency_kinds",
    SECTOR: "sectors",
    REFERRAL_SERVICE: "referral_services",
}


def build(model: type[BaseModel], data: dict) -> BaseModel:
    """The resource `data` describes, validated by its fhir.resources model:
    an element the model does not know, a missing required element or a
    malformed value raises here, at build time."""
    return model.model_validate(data)


def coding(system: str, code: str, display: str | None = None) -> dict:
    """A Coding; in a system of ours, displayed with the vocabulary's label."""
    if display is None and system in _VOCABULARY:
        display = term(_VOCABULARY[system], code).label(translation.get_language() or "en")
    return {"system": system, "code": code, **({"display": display} if display else {})}


def concept(system: str, code: str, display: str | None = None, *, text: str | None = None) -> dict:
    """A CodeableConcept of one coding."""
    return {"coding": [coding(system, code, display)], **({"text": text} if text else {})}


def instant(moment: datetime) -> str:
    """A FHIR instant/dateTime: UTC, with 'Z'."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def organization_reference(agency_id, name: str | None = None) -> dict:
    """A literal reference to the agency's Organization (fhir/Organization/{id}),
    resolved against the same base as the resource that holds it."""
    return {"reference": f"Organization/{agency_id}", "type": "Organization", **({"display": name} if name else {})}


def patient_reference(subject_id) -> dict:
    """The person by her pseudonymous id only: never a name. The hub serves
    no Patient resource; the id is the one every other answer uses."""
    return {"reference": f"Patient/{subject_id}", "type": "Patient"}


def team_reference(team_id) -> dict:
    """A ZI or GDP: a CareTeam the hub knows by its id (it serves no CareTeam)."""
    return {"type": "CareTeam", "identifier": {"system": TEAM, "value": str(team_id)}}


def security_labels(*, released=(), withheld=()) -> list[dict]:
    """meta.security of a resource that holds disclosed data: the categories it
    holds (DATA_CATEGORY), and each category withheld from the reader
    (WITHHELD_CATEGORY) with REDACTED, so the recipient knows that something
    was left out, and what."""
    labels = [coding(DATA_CATEGORY, category) for category in sorted(set(released))]
    withheld = sorted(set(withheld))
    if withheld:
        labels.append(coding(V3_OBSERVATION_VALUE, "REDACTED", "redacted"))
        labels += [coding(WITHHELD_CATEGORY, category) for category in withheld]
    return labels
