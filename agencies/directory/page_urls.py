"""The service directory's pages under /app/directory/ (DESIGN.md 7); ids only in URLs."""

from django.urls import path

from . import page_views

urlpatterns = [
    path("", page_views.directory_search_page, name="directory-search"),
    path("ours", page_views.our_services, name="directory-ours"),
    path("ours/<uuid:service_id>/capacity", page_views.capacity_update, name="directory-capacity"),
    path("ours/<uuid:service_id>/places", page_views.places_update, name="directory-places"),
]
