from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = "Hub"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .web import sessions  # noqa: F401  (records staff sessions at login)


class HubAdminConfig(admin_apps.AdminConfig):
    """Django's admin, on the site of hub/admin_site.py (named in INSTALLED_APPS)."""

    default = False  # HubConfig is the `hub` app's
    default_site = "hub.admin_site.HubAdminSite"
