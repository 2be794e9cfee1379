"""GET placements/stats (DESIGN 6.2; issue 9, item 5): conversion statistics
of the caller's placements, as JSON or, for `Accept: text/csv`, CSV.

Counts only, small cells suppressed (referrals/placements/stats.py). The
placements counted are the caller's own (coordinated, or for an employer,
hosted), so tenancy holds by construction: there is nothing to 404."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.errors import ValidationFailed
from hub.api.language import api_language
from hub.api.params import choice_param, date_param

from ..placements import stats
from ..placements.stats import placement_stats_for_agency


@extend_schema_field({
    "oneOf": [
        {"type": "integer", "minimum": stats.SMALL_CELL_LIMIT},
        {"type": "string", "enum": [stats.SMALL, stats.COMPLEMENTARY]},
    ],
})
class CountField(serializers.Field):
    def to_representation(self, value):
        return value


class PlacementStatsOutput(serializers.Serializer):
    """Counts only: started = completed + not_completed, completed = hired +
    not_hired, hired = employed_90d + not_employed_90d. A count shows as
    "<5" when it is 0 to 4, and as "#" when it is withheld so that a small
    one cannot be worked out from the others (the sign GUS uses for
    statistical confidentiality); `suppressed` names them."""

    from_ = serializers.DateField(allow_null=True, help_text="first start date counted (inclusive)")
    to = serializers.DateField(allow_null=True, help_text="last start date counted (inclusive)")
    cohort = serializers.CharField(allow_null=True, help_text="start quarter, e.g. 2026Q3")
    started = CountField(help_text="placements that began (active, completed or ended early)")
    not_completed = CountField(help_text="started and still running")
    completed = CountField(help_text="finished: served the full term or ended early (the rate's denominator)")
    hired = CountField(help_text="completed with a hire of at least 3 months and at least half-time (ESF rule)")
    not_hired = CountField()
    employed_90d = CountField(help_text="hires still employed at the 90-day follow-up")
    not_employed_90d = CountField(help_text="hires not (yet) confirmed employed at 90 days")
    conversion_rate = serializers.FloatField(
        allow_null=True, help_text="hired / completed; null when withheld or when nothing has completed"
    )
    ci95 = serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True,
        help_text="95% Wilson score interval of the rate, [lo, hi]",
    )
    benchmark = serializers.FloatField(help_text="the Wrocław Model Wsparcia: 38% of placements ended in employment")
    suppressed = serializers.ListField(
        child=serializers.ChoiceField(choices=stats.SUPPRESSIBLE),
        help_text="the members withheld",
    )

    def get_fields(self):
        # `from` is a Python keyword: declared as from_, published as from.
        return {("from" if name == "from_" else name): field for name, field in super().get_fields().items()}


class PlacementStatsCSVRenderer(BaseRenderer):
    """text/csv (RFC 4180, UTF-8): a header row and one row of values."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        language = getattr(renderer_context["view"], "csv_language", "en")
        return stats.statistics_csv(data, language=language).encode("utf-8")


def csv_language(request) -> str:
    """?lang=pl|en, else the language of the answer (from Accept-Language,
    else English: hub/api/language.py)."""
    language = choice_param(request.query_params, "lang", stats.LANGUAGES)
    return language or api_language(request.headers.get("Accept-Language", ""))


class PlacementStatsApi(APIView):
    """Conversion statistics of your placements (a coordinating agency: those
    it coordinates; an employer: those it hosts), by start date, next to the
    Wrocław model's 38%. Counts under 5 are withheld as "<5" and a further
    cell as "#" wherever the others would give one back. `Accept: text/csv`
    for CSV; its headers are Polish with `lang=pl` or `Accept-Language: pl`."""

    required_scopes = ["placements:read"]
    renderer_classes = [JSONRenderer, PlacementStatsCSVRenderer]

    def perform_content_negotiation(self, request, force=False):
        # ?format= (DRF's override of Accept) names a renderer: another value
        # is a 422 like any bad parameter, not DRF's bare 404.
        if not force:
            choice_param(request.query_params, "format", [r.format for r in self.renderer_classes])
        return super().perform_content_negotiation(request, force)

    @extend_schema(
        operation_id="placements_stats",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="count placements starting on or after"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="count placements starting on or before"),
            OpenApiParameter("cohort", str, pattern=stats.COHORT_PATTERN, description="a start quarter, e.g. 2026Q3"),
            OpenApiParameter(
                "lang", str, enum=list(stats.LANGUAGES), description="CSV headers (default: Accept-Language, else en)"
            ),
        ],
        responses={
            (200, "application/json"): PlacementStatsOutput,
            (200, "text/csv"): OpenApiTypes.STR,
            406: OpenApiResponse(description="Accept names neither application/json nor text/csv."),
        },
    )
    def get(self, request):
        params = request.query_params
        self.csv_language = csv_language(request)  # a bad lang is a 422 whatever the format
        start_from, start_to, cohort = date_param(params, "from"), date_param(params, "to"), _cohort_param(params)
        if start_from and start_to and start_from > start_to:
            raise ValidationFailed(
                _("from is after to."), errors=[{"parameter": "from", "detail": _("Must be on or before to.")}]
            )
        result = placement_stats_for_agency(
            request.caller.agency, start_from=start_from, start_to=start_to, cohort=cohort
        )
        output = PlacementStatsOutput({**result, "from": start_from, "to": start_to, "cohort": cohort}).data
        headers = {"Vary": "Accept, Accept-Language"}
        if request.accepted_renderer.format == "csv":
            headers["Content-Disposition"] = 'attachment; filename="placement-stats.csv"'
        return Response(output, headers=headers)


def _cohort_param(params) -> str | None:
    cohort = params.get("cohort")
    if cohort is not None:
        try:
            stats.cohort_bounds(cohort)
        except ValueError:
            raise ValidationFailed(
                _("cohort must be a start quarter."),
                errors=[{"parameter": "cohort", "detail": _("e.g. %(example)s") % {"example": "2026Q3"}}],
            ) from None
    return cohort
