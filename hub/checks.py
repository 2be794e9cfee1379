"""System checks of the composition root."""

from django.core.checks import Error, register

from schemas.registry import check_registry


@register()
def schemas_resolve(app_configs, **kwargs):
    """Fail closed: the hub does not start with a schema whose categories do
    not resolve (DESIGN.md 4.3), or that is not valid JSON Schema 2020-12."""
    return [Error(problem, id="hub.E001") for problem in check_registry()]
