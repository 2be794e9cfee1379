"""What a referral asks for, as the contained ServiceRequest its Task is
about (`Task.focus`, the FHIR R5 referral workflow: a Task to fulfil a
request).

The payload reaches it only as the choke point released it: each value of
the released document is one `orderDetail.parameter`, coded by its JSON
pointer (RFC 6901) in the payload schema's own `$id` as code system, with a
value of its JSON type. A withheld property is absent from the released
document, so it has no parameter here. The sender's reason, when released,
is `reason`."""

from referrals.models import Referral

from .common import REFERRAL_SERVICE, concept, instant, organization_reference

# Referral status -> ServiceRequest status (R5 request-status: draft | active |
# on-hold | revoked | completed | entered-in-error | unknown). A referral is
# never forwarded (DESIGN.md 4.5): once rejected, failed or cancelled, its
# request is over ("revoked").
REQUEST_STATUS = {
    "requested": "active", "received": "active", "accepted": "active", "in-progress": "active",
    "on-hold": "on-hold", "completed": "completed", "rejected": "revoked", "failed": "revoked",
    "cancelled": "revoked",
}
# Our urgency -> FHIR request priority (routine | urgent | asap | stat).
PRIORITY = {"emergency": "stat", "urgent": "urgent", "routine": "routine"}


def service_request(local_id: str, referral: Referral, *, payload, reason: str | None, patient: str) -> dict:
    """A ServiceRequest to contain, with id `local_id`; `payload` and `reason`
    as released (None: withheld or erased), `patient` the reference to the
    person."""
    data = {
        "resourceType": "ServiceRequest",
        "id": local_id,
        "status": REQUEST_STATUS[referral.status],
        "intent": "order",
        "priority": PRIORITY[referral.urgency],
        "code": {"concept": concept(REFERRAL_SERVICE, referral.service)},
        "subject": {"reference": patient},
        "authoredOn": instant(referral.created_at),
        "requester": organization_reference(referral.sender_id, referral.sender.name),
        "performer": [organization_reference(referral.recipient_id, referral.recipient.name)],
    }
    if reason:
        data["reason"] = [{"concept": {"text": reason}}]
    parameters = [_parameter(referral.payload_schema, pointer, value) for pointer, value in _leaves(payload, "")]
    if parameters:
        data["orderDetail"] = [{"parameter": parameters}]
    return data


def _leaves(document, pointer: str):
    """(JSON pointer, value) of every scalar of a JSON document."""
    if isinstance(document, dict):
        for name, value in document.items():
            yield from _leaves(value, f"{pointer}/{_escaped(name)}")
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _leaves(value, f"{pointer}/{index}")
    elif document not in (None, ""):  # FHIR has no empty strings
        yield pointer, document


def _escaped(name: str) -> str:
    return str(name).replace("~", "~0").replace("/", "~1")


def _parameter(schema_id: str, pointer: str, value) -> dict:
    parameter = {"code": {"coding": [{"system": schema_id, "code": pointer}]}}
    if isinstance(value, bool):
        parameter["valueBoolean"] = value
    elif isinstance(value, int | float):
        parameter["valueQuantity"] = {"value": value}
    else:
        parameter["valueString"] = str(value)
    return parameter
