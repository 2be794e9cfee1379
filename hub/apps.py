from django.apps import AppConfig


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = "Hub"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .web import sessions  # noqa: F401  (records staff sessions at login)
