from django.urls import path, re_path

from . import views

urlpatterns = [
    path("referrals/", views.ReferralListCreateApi.as_view(), name="referral-list"),
    path("referrals/<uuid:referral_id>", views.ReferralDetailApi.as_view(), name="referral-detail"),
    path("referrals/<uuid:referral_id>/transition", views.ReferralTransitionApi.as_view(), name="referral-transition"),
    path("referrals/<uuid:referral_id>/updates/", views.CaseUpdateListCreateApi.as_view(), name="referral-updates"),
    path("schemas/", views.SchemaListApi.as_view(), name="schema-list"),
    re_path(r"^schemas/(?P<name>[a-z][a-z0-9_.-]*(?:/[1-9][0-9]*)?)$", views.SchemaDetailApi.as_view(), name="schema-detail"),
]
