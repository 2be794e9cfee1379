"""The team pages under /app/ (DESIGN.md 7): teams, Blue Card procedures and
shared plans. Ids only in URLs."""

from django.urls import path

from . import views

urlpatterns = [
    path("teams/", views.team_list, name="team-list"),
    path("teams/<uuid:team_id>", views.team_page, name="team-page"),
    path("blue-cards/<uuid:procedure_id>", views.blue_card_page, name="blue-card-page"),
    path("blue-cards/<uuid:procedure_id>/steps", views.blue_card_step, name="blue-card-page-step"),
    path("blue-cards/<uuid:procedure_id>/close", views.blue_card_close, name="blue-card-page-close"),
    path("plans/<uuid:plan_id>", views.plan_page, name="plan-page"),
    path("plans/<uuid:plan_id>/actions/<uuid:action_id>/transition", views.plan_action_transition,
         name="plan-page-action-transition"),
    path("plans/<uuid:plan_id>/goals", views.plan_goal_add, name="plan-page-goal"),
    path("plans/<uuid:plan_id>/actions", views.plan_action_add, name="plan-page-action"),
    path("plans/<uuid:plan_id>/reviews", views.plan_review_add, name="plan-page-review"),
    path("plans/<uuid:plan_id>/stage", views.plan_stage_change, name="plan-page-stage"),
]
