from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "hub.api"
    label = "hub_api"
    verbose_name = "API conventions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The schema registry imports no Django: give it Django's translation,
        # so its validation details answer in the request's language.
        from django.utils import translation

        from schemas.registry import use_translation

        use_translation(translation)
