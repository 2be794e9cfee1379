"""The service directory in Open Referral HSDS 3.1 (issue 14, item 3): the
HSDS API's read operations under /api/v1/directory/hsds (`/`, `/services`,
`/services/{id}`, `/organizations`, `/organizations/{id}`), its page-number
paging (the HSDS API Page object) and its JSON. The documents are built by
agencies/directory/hsds.py for the calling agency: a confidential location's
name and address reach only the agency that runs it.

The directory holds organisations and their services, never people: any
agency with `agencies:read` reads it, like the agency directory."""

import re

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.errors import ValidationFailed
from hub.api.params import choice_param, uuid_param
from hub.api.schema import ProblemAutoSchema
from schemas.vocabularies import REFERRAL_SERVICES, codes

from ..directory import hsds
from ..models import SERVICE_STATUSES

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_TERYT = re.compile(r"^(\d{4}|\d{7})$")
_HSDS = "https://docs.openreferral.org/en/latest/hsds/schema_reference.html"


# --- Query parameters ----------------------------------------------------------------


def _positive(params, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
        raise ValidationFailed(
            _("%(parameter)s is not valid.") % {"parameter": name},
            errors=[{"parameter": name, "detail": _("A whole number, at least 1.")}],
        )
    return int(raw)


def _paging(params) -> tuple[int, int]:
    """(page, per_page): per_page above the maximum is the maximum, as the
    hub's other lists do; the page object says what was answered."""
    return _positive(params, "page", 1), min(_positive(params, "per_page", PAGE_SIZE), MAX_PAGE_SIZE)


def _teryt(params) -> str | None:
    value = params.get("teryt")
    if value is not None and not _TERYT.match(value):
        # The directory search's own words for the same parameter (directory_views.py).
        raise ValidationFailed(
            _("%(parameter)s is not valid.") % {"parameter": "teryt"},
            errors=[{"parameter": "teryt", "detail": _("A gmina (7 digits) or powiat (4 digits) TERYT code.")}],
        )
    return value


PAGING_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number, from 1. A page past the last is empty (`empty: true`)."),
    OpenApiParameter("per_page", int, description=f"Items per page, 1 to {MAX_PAGE_SIZE} (more is {MAX_PAGE_SIZE}); "
                                                  f"default {PAGE_SIZE}."),
]


# --- OpenAPI: the documents, in outline ------------------------------------------------
#
# The full shape is the HSDS JSON Schemas (vendored in
# agencies/directory/hsds_schemas/); these serializers only document it.


class HsdsOrganization(serializers.Serializer):
    """An HSDS organization (organization.json): an agency, organisation data only."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField(help_text="The agency's kind, in the language of the answer.")


class HsdsUnit(serializers.Serializer):
    """An HSDS unit (unit.json)."""

    id = serializers.UUIDField()
    name = serializers.CharField(help_text="`places` (Polish: miejsca).")
    identifier = serializers.CharField(required=False)


class HsdsServiceCapacity(serializers.Serializer):
    """Live capacity as an HSDS 3.1 service_capacity (service_capacity.json)."""

    id = serializers.UUIDField()
    service_id = serializers.UUIDField()
    unit = HsdsUnit()
    unit_id = serializers.UUIDField()
    available = serializers.IntegerField(help_text="Free places now.")
    maximum = serializers.IntegerField(help_text="All places.")
    updated = serializers.DateTimeField(help_text="When the free places were last counted.")


def _objects(what: str) -> serializers.ListField:
    return serializers.ListField(child=serializers.DictField(), help_text=f"HSDS {what} objects ({_HSDS}).")


class HsdsService(serializers.Serializer):
    """An HSDS service (service.json) with its service_at_location and
    location. A confidential location shows no name and no address to any
    agency but the one that runs it; its `attributes` say it is confidential."""

    id = serializers.UUIDField()
    organization_id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField(required=False)
    status = serializers.CharField(help_text="HSDS service status: " + ", ".join(SERVICE_STATUSES) + ".")
    eligibility_description = serializers.CharField(required=False)
    minimum_age = serializers.IntegerField(required=False)
    maximum_age = serializers.IntegerField(required=False)
    last_modified = serializers.DateTimeField(required=False)
    languages = _objects("language (ISO 639-1 `code`)")
    schedules = _objects("schedule (weekly `byday`, `opens_at`, `closes_at` with the UTC offset)")
    contacts = _objects("contact (for professionals) with `phones`")
    capacities = HsdsServiceCapacity(many=True, help_text="Empty when the service has no places to count.")
    service_areas = _objects("service_area (the TERYT code of the area the agency serves)")
    service_at_locations = _objects("service_at_location with its `location` (and `addresses` where visible)")
    attributes = _objects(
        "attribute: the referral service code (taxonomy `welfare-hub-referral-services`) and the eligibility "
        "codes (`welfare-hub-eligibility-groups`) as taxonomy terms"
    )
    organization = HsdsOrganization(required=False, help_text="Left out inside an organization.")


class HsdsFullOrganization(HsdsOrganization):
    """An HSDS organization with its active services and their locations."""

    locations = _objects("location")
    services = HsdsService(many=True)


class HsdsPage(serializers.Serializer):
    """The HSDS API's Page object (openapi.json, components/schemas/Page)."""

    total_items = serializers.IntegerField()
    total_pages = serializers.IntegerField()
    page_number = serializers.IntegerField()
    size = serializers.IntegerField(help_text="The number of items in this page.")
    first_page = serializers.BooleanField()
    last_page = serializers.BooleanField()
    empty = serializers.BooleanField(help_text="True when this page has no items.")


class HsdsServicePage(HsdsPage):
    """A page of HSDS services."""

    contents = HsdsService(many=True)


class HsdsOrganizationPage(HsdsPage):
    """A page of HSDS organizations."""

    contents = HsdsOrganization(many=True)


class HsdsApiRoot(serializers.Serializer):
    """The HSDS API's meta information (its `/`)."""

    version = serializers.CharField(help_text="The HSDS version of this API.")
    openapi_url = serializers.URLField(help_text="The OpenAPI document that defines this API.")


class _PageLinkSchema(ProblemAutoSchema):
    """Links a page's first item to the operation that reads one, named by
    the view's `item_link` (operationId, path parameter) (OpenAPI 3.0.3
    §4.7.20): hub.api.schema.add_links knows only `results` lists, and an
    HSDS page lists its `contents`."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction == "response":
            target, parameter = self.view.item_link
            responses["200"]["links"] = {target: {
                "operationId": target, "parameters": {parameter: "$response.body#/contents/0/id"},
            }}
        return responses


# --- Operations ------------------------------------------------------------------------


class HsdsRootApi(APIView):
    """The HSDS API's meta information: the HSDS version its documents follow
    (3.1) and the OpenAPI document of this API."""

    required_scopes = ["agencies:read"]

    @extend_schema(operation_id="hsds_root", responses=HsdsApiRoot)
    def get(self, request):
        return Response(hsds.api_root_document(request.build_absolute_uri("/api/schema/?format=json")))


class HsdsServiceListApi(APIView):
    """Active services of active agencies as HSDS 3.1 services, a page at a
    time (HSDS API paging). `service` keeps one referral service code,
    `organization_id` one agency's services. With `teryt` the order is the
    directory search's: nearest to that gmina (or powiat) first, then the
    most recently counted places, then name; without it, by name."""

    required_scopes = ["agencies:read"]
    schema = _PageLinkSchema()
    item_link = ("hsds_services_retrieve", "service_id")

    @extend_schema(
        operation_id="hsds_services_list",
        parameters=[
            *PAGING_PARAMETERS,
            OpenApiParameter("service", str, enum=list(codes(REFERRAL_SERVICES)), description="A referral service code."),
            OpenApiParameter("teryt", str, pattern=_TERYT.pattern,
                             description="TERYT code of a gmina (7 digits) or powiat (4): nearest services first."),
            OpenApiParameter("organization_id", OpenApiTypes.UUID, description="Only this agency's services."),
        ],
        responses=HsdsServicePage,
    )
    def get(self, request):
        params = request.query_params
        page, per_page = _paging(params)
        services = hsds.hsds_services(
            service=choice_param(params, "service", codes(REFERRAL_SERVICES)),
            organization_id=uuid_param(params, "organization_id"),
        )
        found, total = hsds.hsds_service_page(services, page=page, per_page=per_page, teryt=_teryt(params))
        contents = [hsds.service_document(service, request.caller.agency) for service in found]
        return Response(hsds.page_document(contents, total=total, page_number=page, per_page=per_page))


class HsdsServiceDetailApi(APIView):
    """One active service as an HSDS 3.1 service, with its location as the
    calling agency may see it and its organization."""

    required_scopes = ["agencies:read"]

    @extend_schema(operation_id="hsds_services_retrieve", responses=HsdsService)
    def get(self, request, service_id):
        return Response(hsds.service_document(hsds.hsds_service_get(service_id), request.caller.agency))


class HsdsOrganizationListApi(APIView):
    """Active agencies as HSDS organizations, a page at a time (HSDS API
    paging), by name; their services are in each organization's own answer."""

    required_scopes = ["agencies:read"]
    schema = _PageLinkSchema()
    item_link = ("hsds_organizations_retrieve", "agency_id")

    @extend_schema(operation_id="hsds_organizations_list", parameters=PAGING_PARAMETERS, responses=HsdsOrganizationPage)
    def get(self, request):
        page, per_page = _paging(request.query_params)
        found, total = hsds.hsds_page(hsds.hsds_organizations(), page=page, per_page=per_page)
        contents = [hsds.organization_document(agency) for agency in found]
        return Response(hsds.page_document(contents, total=total, page_number=page, per_page=per_page))


class HsdsOrganizationDetailApi(APIView):
    """An active agency as a full HSDS organization: its active services,
    and their locations as the calling agency may see them."""

    required_scopes = ["agencies:read"]

    @extend_schema(operation_id="hsds_organizations_retrieve", responses=HsdsFullOrganization)
    def get(self, request, agency_id):
        agency = hsds.hsds_organization_get(agency_id)
        return Response(hsds.full_organization_document(agency, agency.hsds_services, request.caller.agency))
