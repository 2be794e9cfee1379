"""The person as a contained Patient, from her profile (schemas/subject) as the
choke point released it to the reader: each element only when its category
was released, so a withheld category leaves no trace here.

- identity: name, birthDate, PESEL (the Polish national identifier's OID);
- contact: telecom (phone, e-mail), address;
- demographics: communication (languages), gender, interpreter needed;
- safe_contact: an extension of ours (channel, safe hours, code word, channels
  never to use), so a recipient's system never shows the phone number without
  the rules that keep contacting her safe."""

from .common import SUBJECT

SAFE_CONTACT = "urn:welfare-hub:fhir:safe-contact"
# The HL7 core extension for "an interpreter is required" (FHIR R5 Patient).
INTERPRETER_REQUIRED = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
# The PESEL's OID in the Polish HL7 implementation (CSIOZ root 2.16.840.1.113883.3.4424).
PESEL = "urn:oid:2.16.840.1.113883.3.4424.1.1.616"
BCP_47 = "urn:ietf:bcp:47"

_GENDER = {"female": "female", "male": "male", "other": "other", "not_stated": "unknown"}


def patient(local_id: str, subject_id, profile: dict | None) -> dict:
    """A Patient to contain, with id `local_id`: `profile` is the released
    profile, None when there is nothing to release (the person's data erased)."""
    data = {"resourceType": "Patient", "id": local_id, "identifier": [{"system": SUBJECT, "value": str(subject_id)}]}
    if not profile:
        return data
    data.update(_identity(profile.get("person") or {}, data["identifier"]))
    data.update(_contact(profile.get("contact") or {}))
    data.update(_demographics(profile))
    safe_contact = _safe_contact(profile.get("safe_contact") or {})
    if safe_contact:
        data.setdefault("extension", []).append(safe_contact)
    return data


def _identity(person: dict, identifiers: list) -> dict:
    out = {}
    name = {}
    if person.get("family_name"):
        name["family"] = person["family_name"]
    if person.get("given_name"):
        name["given"] = person["given_name"].split()
    if name:
        out["name"] = [{"use": "official", **name}]
    if person.get("birth_date"):
        out["birthDate"] = person["birth_date"]
    if person.get("pesel"):
        identifiers.append({"system": PESEL, "value": person["pesel"]})
    return out


def _contact(contact: dict) -> dict:
    out = {}
    telecom = [
        {"system": system, "value": contact[member]}
        for member, system in (("phone", "phone"), ("email", "email")) if contact.get(member)
    ]
    if telecom:
        out["telecom"] = telecom
    address = contact.get("address") or {}
    if address:
        line = [address["street"]] if address.get("street") else []
        parts = {"line": line, "postalCode": address.get("postal_code"), "city": address.get("city"),
                 "country": address.get("country")}
        out["address"] = [{k: v for k, v in parts.items() if v}]
    return out


def _demographics(profile: dict) -> dict:
    out = {}
    languages = profile.get("languages") or []
    if languages:
        out["communication"] = [
            {"language": {"coding": [{"system": BCP_47, "code": tag}]}, "preferred": index == 0}
            for index, tag in enumerate(languages)
        ]
    if profile.get("gender") in _GENDER:
        out["gender"] = _GENDER[profile["gender"]]
    if "interpreter_needed" in profile:
        out["extension"] = [{"url": INTERPRETER_REQUIRED, "valueBoolean": bool(profile["interpreter_needed"])}]
    return out


def _safe_contact(safe: dict) -> dict | None:
    parts = []
    if safe.get("channel"):
        parts.append({"url": "channel", "valueCode": safe["channel"]})
    for window in safe.get("safe_hours") or []:
        days = " ".join(window.get("days", []))
        parts.append({"url": "safeHours", "valueString": f"{days} {window.get('from')}-{window.get('to')}"})
    if safe.get("codeword"):
        parts.append({"url": "codeword", "valueString": safe["codeword"]})
    parts += [{"url": "doNotContactVia", "valueCode": channel} for channel in safe.get("do_not_contact_via") or []]
    return {"url": SAFE_CONTACT, "extension": parts} if parts else None
