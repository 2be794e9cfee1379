"""Read-only FHIR R5 exports (DESIGN.md 6.2; issue 14, item 4): GET
fhir/Task/{id}, fhir/Consent/{id}, fhir/AuditEvent/{id}, fhir/Organization/{id},
fhir/CarePlan/{id} and fhir/Bundle/referral/{id}.

A resource answers as `application/fhir+json` (FHIR R5 RESTful API, "Content Types")
whether the request accepts that or `application/json`; errors stay the
hub's problem+json (hub.api.errors), as on every other endpoint. Each view
is the FHIR form of one of our reads, with its tenancy, its scope and, where
person data is released, its `disclosure` entry (referrals.fhir.selectors)."""

import re
import uuid

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.errors import ValidationFailed
from hub.api.schema import etag_header

from ..fhir import selectors
from ..fhir.bundle import bundle_of
from ..fhir.common import FHIR_JSON
from ..plans.selectors import PURPOSE as PLAN_PURPOSE


class FhirJSONRenderer(BaseRenderer):
    """The resource's FHIR JSON, as fhir.resources serialises it."""

    media_type = FHIR_JSON
    format = "fhir"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data.model_dump_json().encode("utf-8")


class FhirContentNegotiation(DefaultContentNegotiation):
    """`Accept: application/json` asks for the FHIR JSON too (FHIR R5 RESTful API,
    "Content Types": a server accepts it for application/fhir+json). One renderer,
    so the schema has no `?format=` to document."""

    def get_accept_list(self, request):
        return [_JSON.sub(FHIR_JSON, token.strip()) for token in super().get_accept_list(request)]


_JSON = re.compile(r"^application/json(?=\s*(?:;|$))")


# Each resource type: its URL's name and path parameter.
_ROUTES = {
    "Task": ("fhir-task", "referral_id"),
    "Consent": ("fhir-consent", "provision_id"),
    "AuditEvent": ("fhir-audit-event", "entry_id"),
    "Organization": ("fhir-organization", "agency_id"),
    "CarePlan": ("fhir-care-plan", "plan_id"),
}

_ERRORS_NOTE = (
    "\n\nThe answer is FHIR R5 JSON (`application/fhir+json`, also for `Accept: application/json`), "
    "validated with the fhir.resources models as it is built. Errors are not FHIR OperationOutcomes: "
    "they are the hub's RFC 9457 `application/problem+json`, as on every other endpoint."
)


def _documented(resource_type: str, description: str, *, operation_id: str = "", parameters=()) -> dict:
    """extend_schema arguments of a FHIR read: the 200 as application/fhir+json."""
    schema = {
        "type": "object",
        "description": f"A FHIR R5 {resource_type} (https://hl7.org/fhir/R5/{resource_type.lower()}.html).",
        "properties": {
            "resourceType": {"type": "string", "pattern": f"^{resource_type}$"},
            "id": {"type": "string"},
        },
        "required": ["resourceType", "id"],
    }
    return {
        "operation_id": operation_id or f"fhir_{_snake(resource_type)}_retrieve",
        "description": description + _ERRORS_NOTE,
        "responses": {(200, FHIR_JSON): OpenApiResponse(schema, description=f"The {resource_type}.")},
        "parameters": list(parameters),
    }


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


class FhirApi(APIView):
    """Base of the FHIR reads (not an operation: each subclass says what it
    answers)."""

    renderer_classes = [FhirJSONRenderer]
    content_negotiation_class = FhirContentNegotiation

    @staticmethod
    def answer(resource, **headers) -> Response:
        return Response(resource, content_type=FHIR_JSON, headers=headers)

    def options(self, request, *args, **kwargs):
        # The metadata OPTIONS answers is the hub's JSON, as on every other
        # endpoint, not a FHIR resource.
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().options(request, *args, **kwargs)


class FhirTaskApi(FhirApi):
    required_scopes = ["referrals:read"]

    @extend_schema(**_documented(
        "Task",
        "The referral as a FHIR Task, disclosed to you exactly as GET referrals/{referral_id} discloses it "
        "(the same read, recorded once in the person's accounting of disclosures): its status is the "
        "referral's (the codes are FHIR's), `focus` the contained ServiceRequest (the service, the reason "
        "and the payload's released values as `orderDetail`), `for` the contained Patient (her released "
        "profile), `requester` and `owner` the two agencies. `meta.security` names each category withheld "
        "from you (system urn:welfare-hub:withheld-category) and those the Task holds.",
        parameters=[etag_header(200)],
    ))
    def get(self, request, referral_id):
        task = selectors.task_read(request.caller, referral_id)
        return self.answer(task, ETag=f'"{task.id}-{task.meta.versionId}"')


class FhirConsentApi(FhirApi):
    required_scopes = ["consents:read"]

    @extend_schema(**_documented(
        "Consent",
        "A consent, refusal, statutory basis or emergency disclosure of a person your agency owns, as a "
        "FHIR Consent: `decision` permit (deny for a refusal), `status` inactive once revoked or expired, "
        "one provision naming the recipients (`actor`), purposes and data categories (`securityLabel`). "
        "The person is `Patient/{id}`, her pseudonymous id.",
    ))
    def get(self, request, provision_id):
        return self.answer(selectors.consent_read(request.caller, provision_id))


class FhirAuditEventApi(FhirApi):
    required_scopes = ["audit:read"]

    @extend_schema(**_documented(
        "AuditEvent",
        "A ledger entry your agency recorded, or one about a person it owns, as a FHIR AuditEvent: for a "
        "disclosure the recipient, the actor (never a name), the categories released and withheld, the "
        "purpose, each basis relied on and each document released by its SHA-256; for every entry its "
        "leaf hash (hex) in the Merkle log.",
    ))
    def get(self, request, entry_id):
        return self.answer(selectors.audit_event_read(request.caller, entry_id))


class FhirOrganizationApi(FhirApi):
    required_scopes = ["agencies:read"]

    @extend_schema(**_documented(
        "Organization",
        "An active agency of the directory as a FHIR Organization: name, kind and sector as `type`, its "
        "TERYT code as `identifier`. Every agency may read the directory.",
    ))
    def get(self, request, agency_id):
        return self.answer(selectors.organization_read(request.caller, agency_id))


class FhirCarePlanApi(FhirApi):
    required_scopes = ["plans:read"]

    @extend_schema(**_documented(
        "CarePlan",
        "A shared support plan as a FHIR CarePlan, disclosed to you for team_plan exactly as GET "
        "plans/{plan_id} discloses it (the same read, recorded once): goals as contained Goals, actions as "
        "contained Tasks (`activity.plannedActivityReference`), reviews as notes, the team as `careTeam`, "
        "the Blue Card procedure you may see as `supportingInfo`.",
        parameters=[OpenApiParameter("purpose", str, enum=[PLAN_PURPOSE], required=False,
                                     description="Always team_plan.")],
    ))
    def get(self, request, plan_id):
        if request.query_params.get("purpose", PLAN_PURPOSE) != PLAN_PURPOSE:
            raise ValidationFailed(
                _("A plan is disclosed for team_plan only."),
                errors=[{"parameter": "purpose", "detail": _("Must be %(value)s.") % {"value": PLAN_PURPOSE}}],
            )
        return self.answer(selectors.care_plan_read(request.caller, plan_id))


class FhirReferralBundleApi(FhirApi):
    required_scopes = ["referrals:read"]

    @extend_schema(**_documented(
        "Bundle",
        "The referral with its context as a FHIR `collection` Bundle, from one read (one entry in the "
        "person's accounting, as GET referrals/{referral_id}): the Task, the sender's and the recipient's "
        "Organizations, the Consents the referral relies on (for the person's owner, when the token also "
        "holds consents:read) and the AuditEvent of this read's disclosure (when the token also holds "
        "audit:read).",
        operation_id="fhir_bundle_referral_retrieve",
    ))
    def get(self, request, referral_id):
        scopes = set(getattr(request.auth, "scope", "").split())
        resources = selectors.referral_context_read(request.caller, referral_id, scopes=scopes)
        entries = [(_full_url(request, resource), resource) for resource in resources]
        return self.answer(bundle_of(entries, bundle_id=str(uuid.uuid4()), at=timezone.now()))


def _full_url(request, resource) -> str:
    name, parameter = _ROUTES[resource.get_resource_type()]
    return request.build_absolute_uri(reverse(name, kwargs={parameter: resource.id}))
