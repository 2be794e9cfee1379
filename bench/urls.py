"""hub.urls plus the benchmark's baseline endpoints (bench/baseline.py) under
/api/v1/bench-baseline/. Only hub.settings.bench routes here."""

from django.urls import path

from hub.urls import handler404, handler500, urlpatterns as hub_urlpatterns

from . import baseline

# Before hub.urls: its last pattern answers anything else under /api/ with 404.
urlpatterns = [
    path("api/v1/bench-baseline/referrals/", baseline.BaselineReferralCreateApi.as_view(), name="bench-baseline-referral-list"),
    path(
        "api/v1/bench-baseline/referrals/<uuid:referral_id>",
        baseline.BaselineReferralDetailApi.as_view(),
        name="bench-baseline-referral-detail",
    ),
    *hub_urlpatterns,
]

__all__ = ["handler404", "handler500", "urlpatterns"]
