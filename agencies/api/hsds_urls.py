"""The directory in Open Referral HSDS 3.1 (issue 14, item 3): the HSDS API's
paths, without trailing slashes as HSDS has them, under directory/hsds."""

from django.urls import path

from . import hsds_views

urlpatterns = [
    path("directory/hsds/", hsds_views.HsdsRootApi.as_view(), name="hsds-root"),
    path("directory/hsds/services", hsds_views.HsdsServiceListApi.as_view(), name="hsds-service-list"),
    path("directory/hsds/services/<uuid:service_id>", hsds_views.HsdsServiceDetailApi.as_view(),
         name="hsds-service-detail"),
    path("directory/hsds/organizations", hsds_views.HsdsOrganizationListApi.as_view(), name="hsds-organization-list"),
    path("directory/hsds/organizations/<uuid:agency_id>", hsds_views.HsdsOrganizationDetailApi.as_view(),
         name="hsds-organization-detail"),
]
