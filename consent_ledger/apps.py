from django.apps import AppConfig


class ConsentLedgerConfig(AppConfig):
    name = "consent_ledger"
    verbose_name = "Consent ledger"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system check)
