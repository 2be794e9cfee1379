"""The employment placement pages under /app/placements/ (DESIGN.md 7); ids only in URLs."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.placement_list, name="placement-worklist"),
    path("stats", views.placement_stats, name="placement-stats-page"),
    path("stats.csv", views.placement_stats_csv, name="placement-stats-csv"),
    path("<uuid:placement_id>", views.placement_detail, name="placement-page"),
    path("<uuid:placement_id>/transition", views.placement_transition, name="placement-page-transition"),
    path("<uuid:placement_id>/check-in", views.placement_check_in, name="placement-page-check-in"),
    path("<uuid:placement_id>/outcome", views.placement_outcome, name="placement-page-outcome"),
    path("<uuid:placement_id>/follow-up", views.placement_follow_up, name="placement-page-follow-up"),
]
