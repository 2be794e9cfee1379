"""The composition root's URLs: the only module that knows every app."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from oauth2_provider import views as oauth2_views

from agencies.api.oauth_views import AgencyAuthorizationView, AgencyIntrospectTokenView, AgencyTokenView
from consent_ledger import views as ledger_views

from hub.api import errors

from . import metrics, views
from .web import urls as web_urls

api_v1 = [
    path("", include("agencies.api.urls")),
    path("", include("consent_ledger.api.urls")),
    path("", include("referrals.api.urls")),
]

# Only the protocol endpoints of django-oauth-toolkit: its application-management
# pages would let any logged-in user register clients outside an agency.
oauth2 = [
    path("authorize/", AgencyAuthorizationView.as_view(), name="authorize"),
    path("token/", AgencyTokenView.as_view(), name="token"),
    path("revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", AgencyIntrospectTokenView.as_view(), name="introspect"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    # Prometheus, with a bearer token of its own; a 404 to anyone else (hub/metrics.py).
    path("metrics", metrics.metrics, name="metrics"),
    path("problems/<slug:code>", views.problem_doc, name="problem-doc"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Docs pages without inline script or style (the CSP): the split view serves
    # Swagger UI's init script from a URL; both templates drop the inline styles.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="hub/api_docs/swagger_ui.html"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="hub/api_docs/redoc.html"), name="api-redoc"),
    path("o/", include((oauth2, "oauth2_provider"))),
    path(
        "ledger/subjects/<uuid:subject_id>/disclosures",
        ledger_views.disclosure_accounting,
        name="disclosure-accounting",
    ),
    path("ledger/emergency-reviews", ledger_views.emergency_reviews, name="emergency-reviews"),
    path("ledger/notices", ledger_views.revocation_notices, name="revocation-notices"),
    path(
        "ledger/emergency-reviews/<int:review_id>",
        ledger_views.emergency_review_submit,
        name="emergency-review-submit",
    ),
    # Staff pages (DESIGN.md 7): login with a second factor, then /app/.
    path("accounts/", include(web_urls.accounts_urls)),
    path("favicon.ico", web_urls.favicon),
    path("app/", include(web_urls.app_urls)),
    path("app/referrals/", include("referrals.urls")),
    path("app/subjects/", include("consent_ledger.page_urls")),
    path("app/placements/", include("referrals.placements.page_urls")),
    path("app/directory/", include("agencies.directory.page_urls")),
    path("app/", include("referrals.plans.page_urls")),
    path("app/dpo/", ledger_views.dpo_home, name="dpo-home"),
    path("app/dpo/verify", ledger_views.dpo_verify, name="dpo-verify"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # Anything else under /api/ is a problem+json 404, also in DEBUG (where
    # Django would show its technical 404 page instead of handler404). It is
    # csrf-exempt: otherwise CsrfViewMiddleware answers a POST to an unknown URL
    # with its HTML 403 before this view runs (PITFALLS, "Databases"); the view
    # changes nothing and API clients send no CSRF token.
    re_path(r"^(?:api|o)/", csrf_exempt(errors.page_not_found)),
]

handler400 = "hub.api.errors.bad_request"
handler404 = "hub.api.errors.page_not_found"
handler500 = "hub.api.errors.server_error"
