"""A referral with its context as a FHIR R5 `collection` Bundle: the Task
(with its ServiceRequest and Patient), the two Organizations, the Consents
the referral relied on that the reader may read, and the AuditEvent of this
very read's `disclosure` entry when there is one and the reader may read it
(referrals.fhir.selectors.referral_bundle_read decides which)."""

from datetime import datetime

from fhir.resources.bundle import Bundle
from pydantic import BaseModel

from .common import build, instant


def bundle_of(resources: list[tuple[str, BaseModel]], *, bundle_id: str, at: datetime) -> Bundle:
    """A collection of (fullUrl, resource), in that order."""
    return build(Bundle, {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "collection",
        "timestamp": instant(at),
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in resources],
    })
