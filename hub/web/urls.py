"""URLs of the login flow (/accounts/) and of the composition root's own staff
pages (/app/); each app's pages are included under /app/ by hub/urls.py."""

from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from . import accounts, views

accounts_urls = [
    path("login/", accounts.StaffLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("otp/", accounts.otp_verify, name="otp-verify"),
    path("otp/enrol/", accounts.otp_enrol, name="otp-enrol"),
]

app_urls = [
    path("", views.app_home, name="app-home"),
    path("agency", views.agency_choose, name="agency-choose"),
    path("account", views.account, name="account"),
    path("account/backup-codes", views.backup_codes, name="account-backup-codes"),
    path("account/logout-everywhere", accounts.logout_everywhere, name="logout-everywhere"),
    path("session/extend", views.session_extend, name="session-extend"),
]


class _Favicon(RedirectView):
    """Browsers ask for /favicon.ico whatever the page links to. The static URL
    is looked up per request: with the manifest storage it exists only after
    collectstatic."""

    permanent = True

    def get_redirect_url(self, *args, **kwargs):
        return static("hub/favicon.svg")


favicon = _Favicon.as_view()
