"""The service directory (issue 14; DESIGN.md 6.2): who offers which service
where, for whom, and how many places are free now. Member names follow Open
Referral HSDS 3.1 where it has one (organization_id, eligibility_description,
minimum_age, languages, schedules with byday/opens_at/closes_at, ...).

Scopes: reading needs `agencies:read` (the directory describes agencies, as
GET agencies/ does). Writing (publishing a service or a location, counting
places) reuses `referrals:write` rather than adding a scope to DESIGN 5: an
agency publishes its services and free places so that referrals reach it,
and accepting a referral changes the same count.

Every location in an answer is built by visibility.location_fields: a
confidential one (a shelter's address) shows its name and address only to
its own agency."""

from dataclasses import asdict

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from hub.api.errors import ValidationFailed
from hub.api.idempotency import IdempotentCreateMixin
from hub.api.pagination import CursorPagination
from hub.api.params import choice_param
from hub.api.schema import location_header
from hub.api.serializers import CodeField, InputSerializer, ServiceCheckedCodeField
from schemas.vocabularies import ELIGIBILITY_GROUPS, REFERRAL_SERVICES, codes

from ..directory import services
from ..directory.selectors import (
    DEFAULT_PAGE_SIZE,
    LANGUAGE_CODE,
    MAX_PAGE_SIZE,
    SEARCH_TERYT,
    capacity_of,
    directory_location_list_for_agency,
    directory_search,
    directory_service_get,
)
from ..directory.visibility import location_fields
from ..models import SERVICE_ACTIVE, SERVICE_STATUSES, DirectoryService

READ = ["agencies:read"]
WRITE = ["referrals:write"]  # see the module docstring: no scope of its own
BOOLEANS = ("true", "false")
SERVICES_PATH = "/api/v1/directory/services"

# --- Answers ------------------------------------------------------------------------------------


class DirectoryLocationOutput(serializers.Serializer):
    """A location as you may see it. A confidential one (a shelter) shows its
    name and address to its own agency only: to everyone else they are null
    and only its gmina (teryt) is shown."""

    id = serializers.UUIDField()
    teryt = serializers.CharField(help_text="The gmina's TERYT code (7 digits).")
    confidential = serializers.BooleanField()
    name = serializers.CharField(allow_null=True)
    address_1 = serializers.CharField(allow_null=True, allow_blank=True)
    city = serializers.CharField(allow_null=True, allow_blank=True)
    postal_code = serializers.CharField(allow_null=True, allow_blank=True)


class CapacityOutput(serializers.Serializer):
    total = serializers.IntegerField(help_text="The places there are.")
    free = serializers.IntegerField(help_text="The places free when last counted.")
    updated_at = serializers.DateTimeField(help_text="When the count last changed (the agency, or a referral).")
    stale = serializers.BooleanField(
        help_text="Counted longer ago than DIRECTORY_CAPACITY_STALE_HOURS (24 h by default): phone first."
    )


class ScheduleOutput(serializers.Serializer):
    byday = serializers.CharField(help_text="Days, comma-separated: MO,TU,WE,TH,FR,SA,SU.")
    opens_at = serializers.CharField(help_text="HH:MM, local time.")
    closes_at = serializers.CharField(help_text="HH:MM, local time.")


class ContactOutput(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)


class DirectoryServiceOutput(serializers.Serializer):
    """A service in the directory (HSDS service with its service_at_location
    and service_capacity)."""

    id = serializers.UUIDField()
    organization_id = serializers.UUIDField(help_text="The agency offering it.")
    organization_name = serializers.CharField()
    service = CodeField(codes(REFERRAL_SERVICES), help_text="The referral service it provides (DESIGN 4.1).")
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    status = CodeField(SERVICE_STATUSES)
    eligibility = serializers.ListField(child=CodeField(codes(ELIGIBILITY_GROUPS)), help_text="Who it is for.")
    eligibility_description = serializers.CharField(allow_blank=True)
    minimum_age = serializers.IntegerField(allow_null=True)
    maximum_age = serializers.IntegerField(allow_null=True)
    languages = serializers.ListField(child=serializers.CharField(), help_text="ISO 639-1 codes.")
    schedules = ScheduleOutput(many=True)
    open_24h = serializers.BooleanField()
    contact = ContactOutput(help_text="For professionals: never a person in care.")
    location = DirectoryLocationOutput()
    capacity = CapacityOutput(allow_null=True, help_text="null: the service counts no places.")
    updated_at = serializers.DateTimeField()


class DirectorySearchResultOutput(DirectoryServiceOutput):
    distance_km = serializers.FloatField(
        required=False, allow_null=True,
        help_text="With `teryt`: km between the two powiats' centroids; null when one has none.",
    )


class DirectorySearchOutput(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DirectorySearchResultOutput(many=True)


_SERVICE = DirectoryServiceOutput()
_RESULT = DirectorySearchResultOutput()
_LOCATION = DirectoryLocationOutput()


def _document(service: DirectoryService, agency, now) -> dict:
    capacity = capacity_of(service, now=now)
    return {
        "id": service.id, "organization_id": service.agency_id, "organization_name": service.agency.name,
        "service": service.service, "name": service.name, "description": service.description,
        "status": service.status, "eligibility": service.eligibility,
        "eligibility_description": service.eligibility_description, "minimum_age": service.minimum_age,
        "maximum_age": service.maximum_age, "languages": service.languages, "schedules": service.schedules,
        "open_24h": service.open_24h,
        "contact": {"name": service.contact_name, "phone": service.contact_phone, "email": service.contact_email},
        "location": location_fields(service.location, agency),
        "capacity": asdict(capacity) if capacity is not None else None,
        "updated_at": service.updated_at,
    }


def service_answer(service: DirectoryService, agency) -> dict:
    """One service as `agency` may see it."""
    return _SERVICE.to_representation(_document(service, agency, timezone.now()))


def _service_url(service) -> str:
    return f"{SERVICES_PATH}/{service.id}"


# --- Requests ------------------------------------------------------------------------------------


class ScheduleInput(InputSerializer):
    byday = serializers.CharField(max_length=32, help_text="MO,TU,WE,TH,FR,SA,SU, comma-separated, each once.")
    opens_at = serializers.CharField(max_length=5, help_text="HH:MM")
    closes_at = serializers.CharField(max_length=5, help_text="HH:MM, after opens_at (split hours across midnight).")


class ContactInput(InputSerializer):
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)


class CapacityCreateInput(InputSerializer):
    total = serializers.IntegerField(min_value=0, max_value=services.MAX_PLACES)
    free = serializers.IntegerField(min_value=0, max_value=services.MAX_PLACES)


def _service_fields(*, creating: bool) -> dict:
    """The members a service is published or changed with: on creation the
    optional ones default; on a change every member is optional, and one
    left out stays as it is."""

    def needed() -> dict:
        return {} if creating else {"required": False}

    def optional(default) -> dict:
        return {"required": False, "default": default} if creating else {"required": False}

    return {
        "location": serializers.UUIDField(help_text="One of your locations (POST directory/locations).", **needed()),
        "name": serializers.CharField(max_length=255, **needed()),
        "description": serializers.CharField(max_length=5000, allow_blank=True, **optional("")),
        "status": ServiceCheckedCodeField(SERVICE_STATUSES, **optional(SERVICE_ACTIVE)),
        "eligibility": serializers.ListField(
            child=ServiceCheckedCodeField(codes(ELIGIBILITY_GROUPS)), max_length=len(codes(ELIGIBILITY_GROUPS)),
            help_text="Who it is for.", **optional(list),
        ),
        "eligibility_description": serializers.CharField(max_length=2000, allow_blank=True, **optional("")),
        "minimum_age": serializers.IntegerField(allow_null=True, **optional(None)),
        "maximum_age": serializers.IntegerField(allow_null=True, **optional(None)),
        "languages": serializers.ListField(
            child=serializers.CharField(max_length=8), max_length=40, help_text="ISO 639-1 codes, e.g. pl, uk, en.",
            **optional(list),
        ),
        "schedules": ScheduleInput(many=True, max_length=services.MAX_SCHEDULES, **optional(list)),
        "open_24h": serializers.BooleanField(**optional(False)),
        "contact": ContactInput(help_text="For professionals.", **optional(dict)),
    }


# Declared from one list of members (SerializerMetaclass collects them), so
# that publishing and changing cannot drift apart.
DirectoryServiceCreateInput = type("DirectoryServiceCreateInput", (InputSerializer,), {
    "__module__": __name__,
    "__doc__": "A service to publish: yours, at one of your locations. With `capacity` its places are counted "
               "from now on.",
    **_service_fields(creating=True),
    "service": ServiceCheckedCodeField(codes(REFERRAL_SERVICES), help_text="The referral service it provides."),
    "capacity": CapacityCreateInput(required=False, allow_null=True, default=None),
})
DirectoryServiceUpdateInput = type("DirectoryServiceUpdateInput", (InputSerializer,), {
    "__module__": __name__,
    "__doc__": "The members to change; those left out stay. The service code stays (publish another service "
               "instead); places are counted with PUT .../capacity.",
    **_service_fields(creating=False),
})


def _service_values(values: dict) -> dict:
    """Request members as the service's keyword arguments."""
    values = dict(values)
    contact = values.pop("contact", None)
    if contact is not None:
        values |= {f"contact_{key}": value for key, value in contact.items()}
    if "schedules" in values:
        values["schedules"] = [dict(item) for item in values["schedules"]]
    return values


# --- Search and publish ------------------------------------------------------------------------


_SEARCH_PARAMETERS = [
    OpenApiParameter("service", str, enum=list(codes(REFERRAL_SERVICES))),
    OpenApiParameter("teryt", str, pattern=r"^(\d{4}|\d{7})$",
                     description="Gmina (7 digits) or powiat (4) to order by distance from."),
    OpenApiParameter("has_capacity", str, enum=list(BOOLEANS),
                     description="true: a free place now (services that count none are left out); false: the others."),
    OpenApiParameter("language", str, pattern=r"^[a-z]{2}$", description="ISO 639-1, e.g. uk."),
    OpenApiParameter("eligibility", str, enum=list(codes(ELIGIBILITY_GROUPS))),
    OpenApiParameter("cursor", str, description="The next or previous link's cursor."),
    OpenApiParameter("page_size", int, description=f"1 to {MAX_PAGE_SIZE}; {DEFAULT_PAGE_SIZE} by default."),
]


def _pattern_param(params, name: str, pattern, detail: str) -> str | None:
    value = params.get(name)
    if value is not None and not pattern.fullmatch(value):
        raise ValidationFailed(
            _("%(parameter)s is not valid.") % {"parameter": name}, errors=[{"parameter": name, "detail": detail}],
        )
    return value


def _page_size(params) -> int:
    value = params.get("page_size")
    if value is None:
        return DEFAULT_PAGE_SIZE
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_PAGE_SIZE):
        raise ValidationFailed(
            _("%(parameter)s is not valid.") % {"parameter": "page_size"},
            errors=[{"parameter": "page_size", "detail": _("A whole number from 1 to %(max)s.") % {"max": MAX_PAGE_SIZE}}],
        )
    return int(value)


class DirectoryServiceListCreateApi(IdempotentCreateMixin, APIView):
    """GET: search the directory. POST: publish a service of your agency."""

    required_scopes = {"GET": READ, "POST": WRITE}

    @extend_schema(
        operation_id="directory_services_list",
        description=(
            "Active services of every agency, nearest first: by distance from `teryt` (powiat centroids; "
            "services whose place has none last), then by how recently their free places were counted "
            "(services that count none after), then name. `capacity.stale` flags a count older than "
            "DIRECTORY_CAPACITY_STALE_HOURS. A confidential location (a shelter) shows only its gmina, "
            "unless it is yours. Follow `next` until it is null."
        ),
        parameters=_SEARCH_PARAMETERS, responses=DirectorySearchOutput,
    )
    def get(self, request):
        params = request.query_params
        teryt = _pattern_param(params, "teryt", SEARCH_TERYT, _("A gmina (7 digits) or powiat (4 digits) TERYT code."))
        has_capacity = choice_param(params, "has_capacity", BOOLEANS)
        page = directory_search(
            agency=request.caller.agency,
            service=choice_param(params, "service", codes(REFERRAL_SERVICES)),
            teryt=teryt,
            has_capacity=None if has_capacity is None else has_capacity == "true",
            language=_pattern_param(params, "language", LANGUAGE_CODE, _("ISO 639-1: two lowercase letters, e.g. uk.")),
            eligibility=choice_param(params, "eligibility", codes(ELIGIBILITY_GROUPS)),
            cursor=params.get("cursor"),
            limit=_page_size(params),
        )
        now, agency, url = timezone.now(), request.caller.agency, request.build_absolute_uri()
        results = []
        for hit in page.results:
            document = _document(hit.service, agency, now)
            if teryt is None:
                results.append(_SERVICE.to_representation(document))
                continue
            document["distance_km"] = round(hit.distance_km, 1) if hit.distance_km is not None else None
            results.append(_RESULT.to_representation(document))
        return Response({
            "next": replace_query_param(url, "cursor", page.next_cursor) if page.next_cursor else None,
            "previous": replace_query_param(url, "cursor", page.previous_cursor) if page.previous_cursor else None,
            "results": results,
        })

    @extend_schema(
        description=(
            "Publish a service of your agency at one of your locations. With `capacity` ({total, free}) its "
            "free places are counted from now on: you update them with PUT directory/services/{id}/capacity, "
            "and accepting or ending a referral to it changes them."
        ),
        request=DirectoryServiceCreateInput, responses={201: DirectoryServiceOutput},
        parameters=[location_header(201)],
    )
    def post(self, request):
        data = DirectoryServiceCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = _service_values(data.validated_data)
        capacity = values.pop("capacity") or {}
        service = services.directory_service_create(
            caller=request.caller, **values, capacity_total=capacity.get("total"), capacity_free=capacity.get("free"),
        )
        return Response(service_answer(service, request.caller.agency), status=status.HTTP_201_CREATED,
                        headers={"Location": _service_url(service)})


class DirectoryServiceDetailApi(APIView):
    """One service: any agency reads an active one; its own agency changes it."""

    required_scopes = {"GET": READ, "PATCH": WRITE}

    @extend_schema(
        description=(
            "One active service of any agency (your own also when inactive). A confidential location "
            "shows only its gmina, unless it is yours."
        ),
        responses=DirectoryServiceOutput,
    )
    def get(self, request, service_id):
        return Response(service_answer(directory_service_get(service_id, request.caller.agency), request.caller.agency))

    @extend_schema(
        description=(
            "Change your service: the members sent change, the others stay (a status other than `active` "
            "takes it out of the search). Another agency's service is a 404."
        ),
        request=DirectoryServiceUpdateInput, responses=DirectoryServiceOutput,
    )
    def patch(self, request, service_id):
        data = DirectoryServiceUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        service = services.directory_service_update(
            caller=request.caller, service_id=service_id, **_service_values(data.validated_data)
        )
        return Response(service_answer(service, request.caller.agency))


class DirectoryServiceCapacityApi(APIView):
    """Your count of a service's free places."""

    required_scopes = WRITE

    class CapacityInput(InputSerializer):
        free = serializers.IntegerField(min_value=0, max_value=services.MAX_PLACES, help_text="Places free now.")
        total = serializers.IntegerField(
            min_value=0, max_value=services.MAX_PLACES, required=False,
            help_text="The places there are, if changed; required to start counting a service that counts none.",
        )

    @extend_schema(
        description=(
            "Count your service's free places now (0 <= free <= total): the time is recorded, and the "
            "`stale` flag clears. A service that counts no places needs `total` too (else 409 "
            "`capacity_not_counted`). Another agency's service is a 404. Answers the service."
        ),
        request=CapacityInput, responses=DirectoryServiceOutput,
    )
    def put(self, request, service_id):
        data = self.CapacityInput(data=request.data)
        data.is_valid(raise_exception=True)
        service = services.capacity_set(
            caller=request.caller, service_id=service_id, free=data.validated_data["free"],
            total=data.validated_data.get("total"),
        )
        return Response(service_answer(service, request.caller.agency))


# --- Locations ----------------------------------------------------------------------------------


class LocationPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class DirectoryLocationListCreateApi(IdempotentCreateMixin, ListAPIView):
    """GET: your agency's locations. POST: add one."""

    required_scopes = {"GET": READ, "POST": WRITE}
    serializer_class = DirectoryLocationOutput
    pagination_class = LocationPagination

    class LocationInput(InputSerializer):
        name = serializers.CharField(max_length=255, help_text="Shown to other agencies only if not confidential.")
        teryt = serializers.CharField(max_length=7, help_text="The gmina's TERYT code (7 digits).")
        address_1 = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
        city = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
        postal_code = serializers.CharField(max_length=6, required=False, allow_blank=True, default="",
                                            help_text="NN-NNN")
        confidential = serializers.BooleanField(
            required=False, default=False,
            help_text="A shelter's address: other agencies see only the gmina, never the name or address.",
        )

    @extend_schema(description="Your agency's locations, newest first, with their addresses.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return directory_location_list_for_agency(self.request.caller.agency)

    def get_serializer(self, *args, **kwargs):
        # The owner's view of each (all of it), through the one visibility rule.
        if args:
            agency = self.request.caller.agency
            args = ([location_fields(location, agency) for location in args[0]], *args[1:])
        return super().get_serializer(*args, **kwargs)

    @extend_schema(
        description="Add a location of your agency. Mark a shelter's address `confidential`.",
        request=LocationInput, responses={201: DirectoryLocationOutput},
    )
    def post(self, request):
        data = self.LocationInput(data=request.data)
        data.is_valid(raise_exception=True)
        location = services.location_create(caller=request.caller, **data.validated_data)
        return Response(_LOCATION.to_representation(location_fields(location, request.caller.agency)),
                        status=status.HTTP_201_CREATED)

