from django.urls import path

from . import directory_urls, event_views, hsds_urls, team_views
from .views import AgencyListApi, AgencyMeApi

urlpatterns = [
    path("agencies/", AgencyListApi.as_view(), name="agency-list"),
    path("agencies/me", AgencyMeApi.as_view(), name="agency-me"),
]

urlpatterns += [
    path("events/", event_views.EventFeedApi.as_view(), name="event-feed"),
    path("webhook-endpoints/", event_views.WebhookEndpointListCreateApi.as_view(), name="webhook-endpoint-list"),
    path("webhook-endpoints/<uuid:endpoint_id>", event_views.WebhookEndpointDetailApi.as_view(), name="webhook-endpoint-detail"),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/enable",
        event_views.WebhookEndpointEnableApi.as_view(),
        name="webhook-endpoint-enable",
    ),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/deliveries/",
        event_views.DeliveryListApi.as_view(),
        name="webhook-delivery-list",
    ),
    path("deliveries/<uuid:delivery_id>/replay", event_views.DeliveryReplayApi.as_view(), name="delivery-replay"),
]

urlpatterns += [
    path("teams/", team_views.TeamListCreateApi.as_view(), name="team-list"),
    path("teams/<uuid:team_id>", team_views.TeamDetailApi.as_view(), name="team-detail"),
    path("teams/<uuid:team_id>/members/", team_views.TeamMemberCreateApi.as_view(), name="team-member-list"),
    path(
        "teams/<uuid:team_id>/members/<uuid:agency_id>",
        team_views.TeamMemberDeleteApi.as_view(),
        name="team-member-detail",
    ),
]

# The service directory and its HSDS export (issue 14).
urlpatterns += directory_urls.urlpatterns + hsds_urls.urlpatterns
