from django.urls import path, re_path

from . import blue_card_views, fhir_urls, placement_stats_views, placement_views, plan_views, views

urlpatterns = [
    path("referrals/", views.ReferralListCreateApi.as_view(), name="referral-list"),
    path("referrals/<uuid:referral_id>", views.ReferralDetailApi.as_view(), name="referral-detail"),
    path("referrals/<uuid:referral_id>/transition", views.ReferralTransitionApi.as_view(), name="referral-transition"),
    path("referrals/<uuid:referral_id>/updates/", views.CaseUpdateListCreateApi.as_view(), name="referral-updates"),
    # Shared support plans (issue 8, item 4).
    path("plans/", plan_views.PlanListCreateApi.as_view(), name="plan-list"),
    path("plans/<uuid:plan_id>", plan_views.PlanDetailApi.as_view(), name="plan-detail"),
    path("plans/<uuid:plan_id>/stage", plan_views.PlanStageApi.as_view(), name="plan-stage"),
    path("plans/<uuid:plan_id>/goals/", plan_views.PlanGoalCreateApi.as_view(), name="plan-goals"),
    path("plans/<uuid:plan_id>/actions/", plan_views.PlanActionCreateApi.as_view(), name="plan-actions"),
    path("plans/<uuid:plan_id>/reviews/", plan_views.PlanReviewCreateApi.as_view(), name="plan-reviews"),
    path("actions/<uuid:action_id>/transition", plan_views.PlanActionTransitionApi.as_view(), name="plan-action-transition"),
    # The Blue Card procedure (issue 8, items 2-3).
    path("blue-cards/", blue_card_views.BlueCardListCreateApi.as_view(), name="blue-card-list"),
    path("blue-cards/<uuid:procedure_id>", blue_card_views.BlueCardDetailApi.as_view(), name="blue-card-detail"),
    path("blue-cards/<uuid:procedure_id>/steps/", blue_card_views.BlueCardStepCreateApi.as_view(), name="blue-card-steps"),
    path("blue-cards/<uuid:procedure_id>/close", blue_card_views.BlueCardCloseApi.as_view(), name="blue-card-close"),
    path("teams/<uuid:team_id>/blue-cards/overview", blue_card_views.TeamBlueCardOverviewApi.as_view(), name="team-blue-card-overview"),
    path("teams/<uuid:team_id>/zi-meetings/", blue_card_views.ZiMeetingCreateApi.as_view(), name="team-zi-meetings"),
    # Placement statistics (issue 9, item 5).
    path("placements/stats", placement_stats_views.PlacementStatsApi.as_view(), name="placement-stats"),
    # Employment placements (issue 9): agreements, placements, check-ins, outcome, follow-up.
    # Ids are uuid-converted, so placements/stats above is never taken for a placement.
    path("placement-agreements/", placement_views.PlacementAgreementListCreateApi.as_view(), name="placement-agreement-list"),
    path("placement-agreements/<uuid:agreement_id>", placement_views.PlacementAgreementDetailApi.as_view(), name="placement-agreement-detail"),
    path("placements/", placement_views.PlacementListCreateApi.as_view(), name="placement-list"),
    path("placements/<uuid:placement_id>", placement_views.PlacementDetailApi.as_view(), name="placement-detail"),
    path("placements/<uuid:placement_id>/transition", placement_views.PlacementTransitionApi.as_view(), name="placement-transition"),
    path("placements/<uuid:placement_id>/check-ins/", placement_views.PlacementCheckInCreateApi.as_view(), name="placement-check-ins"),
    path("placements/<uuid:placement_id>/outcome", placement_views.PlacementOutcomeApi.as_view(), name="placement-outcome"),
    path("placements/<uuid:placement_id>/follow-up", placement_views.PlacementFollowUpApi.as_view(), name="placement-follow-up"),
    path("schemas/", views.SchemaListApi.as_view(), name="schema-list"),
    re_path(r"^schemas/(?P<name>[a-z][a-z0-9_.-]*(?:/[1-9][0-9]*)?)$", views.SchemaDetailApi.as_view(), name="schema-detail"),
]

# FHIR R5 exports (issue 14, item 4).
urlpatterns += fhir_urls.urlpatterns
