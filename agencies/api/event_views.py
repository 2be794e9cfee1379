"""The pull feed, webhook endpoints and their deliveries (DESIGN.md section 6)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiCallback, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.errors import ApplicationError, ValidationFailed
from hub.api.idempotency import IdempotentCreateMixin
from hub.api.params import choice_param
from hub.api.serializers import CodeField, InputSerializer, ServiceCheckedCodeField
from schemas.vocabularies import EVENT_TYPES, codes, terms

from ..events import event_feed_end, event_feed_for_agency
from ..models import Delivery, WebhookEndpoint
from ..webhooks import (
    delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_enable,
    webhook_endpoint_get,
)

FEED_PAGE = 100
DELIVERY_STATUSES = (Delivery.PENDING, Delivery.DELIVERED, Delivery.DEAD)
CURSOR_AHEAD = "cursor_ahead_of_feed"

# What `data` holds, by event type (ids and codes only, never person data).
# Documentation: each producer writes its own `data` (agencies.events.event_emit).
EVENT_DATA = {
    "referral.*": "`version` (the referral's, as in its ETag)",
    "referral.update_added": "`version`, `update` (the case update's id), `kind`",
    "referral.overdue": "`version`, `escalate_to_role`, `acknowledge_by`",
    "plan.updated": "`version`, `change`, and the id of what changed (`goal`, `action`, `review`)",
    "plan.action_due": "`plan`, `agency`, `due_on`",
    "consent.revoked": "`subject`, `categories`, `provision` (acknowledge with POST notices/{id}/ack)",
    "consent.revocation_unacknowledged": "`subject`",
    "consent.expiring": "`subject`, `valid_until`",
    "team.*": "`team_kind`, `parent`, `agency` (the member), `role`, `changes`",
    "blue_card.*": "`version`, `team`, `gdp`; a step adds `step`, `step_id`; closure `ground`; "
                   "a missed deadline `step`, `due`, `escalate_to_role`",
    "blue_card.zi_meeting_recorded": "`meeting`",
    "placement.*": "`version`, and the ids of what changed",
}


def _event_description() -> str:
    types = "\n".join(f"- `{t.code}`: {t.label_en}" for t in terms(EVENT_TYPES))
    data = "\n".join(f"- `{kind}`: {members}" for kind, members in EVENT_DATA.items())
    return (
        "A thin event, as webhooks deliver it (signed per Standard Webhooks: webhook-id, "
        "webhook-timestamp, webhook-signature) and the pull feed lists it. It carries ids, codes and "
        "statuses, never person data: fetch the object through the API. Delivery is at least once: "
        "deduplicate by `id`.\n\nTypes (schemas/vocabularies/event_types.json):\n" + types
        + "\n\n`data` by type:\n" + data
    )


class EventObjectOutput(serializers.Serializer):
    type = serializers.CharField(help_text="referral, plan, action, blue_card, team, subject, ...")
    id = serializers.UUIDField()


class EventOutput(serializers.Serializer):
    id = serializers.UUIDField()
    type = CodeField(codes(EVENT_TYPES))
    occurred_at = serializers.DateTimeField()
    object = EventObjectOutput()
    status = serializers.CharField(allow_blank=True, help_text="The object's status after the event, if it has one.")
    agencies = serializers.ListField(child=serializers.UUIDField(), help_text="The agencies the event concerns.")
    data = serializers.DictField(help_text="Ids and codes by type (see the description).")


EventOutput.__doc__ = _event_description()


class FeedEventOutput(EventOutput):
    cursor = serializers.IntegerField(help_text="This event's position in the feed: pass it as `after`.")


FeedEventOutput.__doc__ = "An event of the pull feed: the webhook event with its `cursor`."


class EventFeedOutput(serializers.Serializer):
    results = FeedEventOutput(many=True)
    cursor = serializers.IntegerField(help_text="Store it and pass it as `after` next time (the same when no events).")


class EventFeedApi(APIView):
    """The caller's thin events in order, the same as webhooks carry. Page with
    `after` = the last `cursor` you saw (0 to start). An `after` beyond the
    end of the feed is refused (400, `cursor_ahead_of_feed`, with the feed's
    current `cursor`): a client that stored a wrong cursor would otherwise
    skip every event until the feed reached it."""

    required_scopes = ["events:read"]

    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, required=False, description="The last cursor you processed; 0 to start."),
            OpenApiParameter("limit", int, required=False, description=f"At most 500; default {FEED_PAGE}."),
        ],
        responses=EventFeedOutput,
    )
    def get(self, request):
        after = _non_negative(request, "after", 0)
        limit = min(_non_negative(request, "limit", FEED_PAGE) or FEED_PAGE, 500)
        events = list(event_feed_for_agency(request.caller.agency, after=after)[:limit])
        if not events and after > (end := event_feed_end()):
            raise ApplicationError(
                _(
                    "after=%(after)s is beyond the end of the feed (cursor %(end)s): no event has that position yet. "
                    "Resume from the last cursor you processed, or from %(end)s to take only new events."
                ) % {"after": after, "end": end},
                code=CURSOR_AHEAD, cursor=end,
                errors=[{"parameter": "after", "detail": _("At most %(end)s, the feed's current cursor.") % {"end": end}}],
            )
        results = [{**e.as_message(), "cursor": e.feed_position} for e in events]
        return Response({"results": results, "cursor": events[-1].feed_position if events else after})


def _non_negative(request, name, default):
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise ValidationFailed(
            _("%(parameter)s must be a non-negative integer.") % {"parameter": name},
            errors=[{"parameter": name, "detail": _("A non-negative integer.")}],
        )
    return int(raw)


_EVENTS_HELP = "The event types to receive; empty (or omitted) means every type, including types added later."


class WebhookEndpointOutput(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField()
    events = serializers.ListField(source="event_types", child=CodeField(codes(EVENT_TYPES)), help_text=_EVENTS_HELP)
    active = serializers.BooleanField()
    disabled_reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class WebhookEndpointCreatedOutput(WebhookEndpointOutput):
    secret = serializers.CharField(
        help_text="The signing secret (whsec_..., Standard Webhooks). Shown here once: store it now."
    )


class WebhookEndpointListOutput(serializers.Serializer):
    results = WebhookEndpointOutput(many=True)


class WebhookEndpointListCreateApi(IdempotentCreateMixin, APIView):
    """Your agency's webhook endpoints."""

    required_scopes = ["webhooks:manage"]

    class WebhookEndpointInput(InputSerializer):
        url = serializers.URLField(max_length=2048, help_text="https; never a private, loopback or link-local address.")
        events = serializers.ListField(
            child=ServiceCheckedCodeField(codes(EVENT_TYPES)), required=False, default=list, max_length=50,
            help_text=_EVENTS_HELP,
        )

    @extend_schema(
        operation_id="webhook_endpoints_list", description="Your agency's webhook endpoints, oldest first.",
        responses=WebhookEndpointListOutput,
    )
    def get(self, request):
        endpoints = WebhookEndpoint.objects.filter(agency=request.caller.agency).order_by("created_at")
        return Response({"results": WebhookEndpointOutput(endpoints, many=True).data})

    @extend_schema(
        description=(
            "Register an endpoint. Each event (the `EventOutput` schema) is POSTed to it as JSON, signed "
            "per Standard Webhooks with the `secret` answered here once. Delivery is at least once, "
            "retried with backoff for about a day; 410 disables the endpoint."
        ),
        request=WebhookEndpointInput, responses={201: WebhookEndpointCreatedOutput},
        callbacks=[OpenApiCallback("event", "{$request.body#/url}", extend_schema(
            summary="An event, delivered to your endpoint",
            description=(
                "Headers webhook-id (the event id), webhook-timestamp and webhook-signature "
                "(Standard Webhooks, v1 HMAC-SHA256 with your secret over id.timestamp.body). Answer "
                "2xx to acknowledge; 410 disables the endpoint; anything else is retried."
            ),
            request=EventOutput, responses={200: None, 410: None},
        ))],
    )
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
    """One of your webhook endpoints (never its secret)."""

    required_scopes = ["webhooks:manage"]

    @extend_schema(responses=WebhookEndpointOutput)
    def get(self, request, endpoint_id):
        return Response(WebhookEndpointOutput(webhook_endpoint_get(request.caller, endpoint_id)).data)

    @extend_schema(description="Delete the endpoint: nothing more is delivered to it.", responses={204: None})
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
    event_type = CodeField(codes(EVENT_TYPES), source="event.type")
    status = CodeField(DELIVERY_STATUSES)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    delivered_at = serializers.DateTimeField(allow_null=True)


class DeliveryListOutput(serializers.Serializer):
    results = DeliveryOutput(many=True)


class DeliveryListApi(APIView):
    """An endpoint's deliveries, newest first (at most 500); `?status=dead` lists the dead letters."""

    required_scopes = ["webhooks:manage"]

    @extend_schema(
        operation_id="webhook_endpoints_deliveries_list",
        parameters=[OpenApiParameter("status", str, enum=list(DELIVERY_STATUSES))], responses=DeliveryListOutput,
    )
    def get(self, request, endpoint_id):
        endpoint = webhook_endpoint_get(request.caller, endpoint_id)
        deliveries = endpoint.deliveries.select_related("event").order_by("-created_at")
        wanted = choice_param(request.query_params, "status", DELIVERY_STATUSES)
        if wanted is not None:
            deliveries = deliveries.filter(status=wanted)
        return Response({"results": DeliveryOutput(deliveries[:500], many=True).data})


class DeliveryReplayApi(APIView):
    """Deliver a dead letter again (a new series of attempts)."""

    required_scopes = ["webhooks:manage"]

    @extend_schema(request=None, responses=DeliveryOutput)
    def post(self, request, delivery_id):
        delivery = delivery_replay(caller=request.caller, delivery_id=delivery_id)
        return Response(DeliveryOutput(delivery).data)
