"""The service directory (issue 14; DESIGN.md 6.2). Paths as the contract
writes them: `directory/services`, without a trailing slash."""

from django.urls import path

from . import directory_views as views

urlpatterns = [
    path("directory/services", views.DirectoryServiceListCreateApi.as_view(), name="directory-service-list"),
    path("directory/services/<uuid:service_id>", views.DirectoryServiceDetailApi.as_view(), name="directory-service-detail"),
    path(
        "directory/services/<uuid:service_id>/capacity",
        views.DirectoryServiceCapacityApi.as_view(),
        name="directory-service-capacity",
    ),
    path("directory/locations", views.DirectoryLocationListCreateApi.as_view(), name="directory-location-list"),
]
