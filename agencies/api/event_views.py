"""The pull feed, webhook endpoints and their deliveries (DESIGN.md section 6)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.errors import ValidationFailed
from hub.api.idempotency import IdempotentCreateMixin
from hub.api.serializers import InputSerializer

from ..events import event_feed_for_agency
from ..models import Delivery, WebhookEndpoint
from ..webhooks import (
    delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_enable,
    webhook_endpoint_get,
)

FEED_PAGE = 100


class EventFeedApi(APIView):
    """The caller's thin events in order. Page with `after` = the last `cursor`
    you saw (0 to start); the same events as the webhooks carry."""

    required_scopes = ["events:read"]

    @extend_schema(
        parameters=[OpenApiParameter("after", int, required=False), OpenApiParameter("limit", int, required=False)],
        responses=inline_serializer("EventFeed", {
            "results": serializers.ListField(child=serializers.DictField()),
            "cursor": serializers.IntegerField(),
        }),
    )
    def get(self, request):
        after = _non_negative(request, "after", 0)
        limit = min(_non_negative(request, "limit", FEED_PAGE) or FEED_PAGE, 500)
        events = list(event_feed_for_agency(request.caller.agency, after=after)[:limit])
        results = [{**e.as_message(), "cursor": e.feed_position} for e in events]
        return Response({"results": results, "cursor": events[-1].feed_position if events else after})


def _non_negative(request, name, default):
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise ValidationFailed(f"{name} must be a non-negative integer.", errors=[{"parameter": name, "detail": "A non-negative integer."}])
    return int(raw)


class WebhookEndpointOutput(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField()
    events = serializers.ListField(source="event_types")
    active = serializers.BooleanField()
    disabled_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class WebhookEndpointListCreateApi(IdempotentCreateMixin, APIView):
    required_scopes = ["webhooks:manage"]

    class WebhookEndpointInput(InputSerializer):
        url = serializers.URLField(max_length=2048)
        events = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list, max_length=50)

    @extend_schema(responses=WebhookEndpointOutput(many=True))
    def get(self, request):
        endpoints = WebhookEndpoint.objects.filter(agency=request.caller.agency).order_by("created_at")
        return Response({"results": WebhookEndpointOutput(endpoints, many=True).data})

    @extend_schema(request=WebhookEndpointInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = self.WebhookEndpointInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_create(
            caller=request.caller, url=data.validated_data["url"], event_types=data.validated_data["events"]
        )
        # The secret is shown here once; the hub never shows it again.
        body = {**WebhookEndpointOutput(endpoint).data, "secret": endpoint.secret}
        return Response(body, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailApi(APIView):
    required_scopes = ["webhooks:manage"]

    @extend_schema(responses=WebhookEndpointOutput)
    def get(self, request, endpoint_id):
        return Response(WebhookEndpointOutput(webhook_endpoint_get(request.caller, endpoint_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, endpoint_id):
        webhook_endpoint_delete(caller=request.caller, endpoint_id=endpoint_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointEnableApi(APIView):
    """Re-enable an endpoint that a 410 disabled; then replay its dead letters."""

    required_scopes = ["webhooks:manage"]

    @extend_schema(request=None, responses=WebhookEndpointOutput)
    def post(self, request, endpoint_id):
        return Response(WebhookEndpointOutput(webhook_endpoint_enable(caller=request.caller, endpoint_id=endpoint_id)).data)


class DeliveryOutput(serializers.Serializer):
    id = serializers.UUIDField()
    event = serializers.UUIDField(source="event.id")
    event_type = serializers.CharField(source="event.type")
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)


class DeliveryListApi(APIView):
    """An endpoint's deliveries; `?status=dead` lists the dead letters."""

    required_scopes = ["webhooks:manage"]

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=[Delivery.PENDING, Delivery.DELIVERED, Delivery.DEAD])],
                   responses=DeliveryOutput(many=True))
    def get(self, request, endpoint_id):
        endpoint = webhook_endpoint_get(request.caller, endpoint_id)
        deliveries = endpoint.deliveries.select_related("event").order_by("-created_at")
        wanted = request.query_params.get("status")
        if wanted is not None:
            if wanted not in (Delivery.PENDING, Delivery.DELIVERED, Delivery.DEAD):
                raise ValidationFailed("Unknown status.", errors=[{"parameter": "status", "detail": "pending, delivered or dead"}])
            deliveries = deliveries.filter(status=wanted)
        return Response({"results": DeliveryOutput(deliveries[:500], many=True).data})


class DeliveryReplayApi(APIView):
    required_scopes = ["webhooks:manage"]

    @extend_schema(request=None, responses=DeliveryOutput)
    def post(self, request, delivery_id):
        delivery = delivery_replay(caller=request.caller, delivery_id=delivery_id)
        return Response(DeliveryOutput(delivery).data)
