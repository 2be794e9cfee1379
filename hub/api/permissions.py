from oauth2_provider.contrib.rest_framework import TokenHasScope


class HasScopes(TokenHasScope):
    """Every endpoint declares `required_scopes` (one list, or a dict by HTTP
    method); a request without a valid token is 401, a token lacking a scope 403.

    Subclassing DOT's TokenHasScope lets drf-spectacular document the scopes.
    A view that forgets to declare its scopes is denied rather than opened.
    """

    def get_scopes(self, request, view):
        scopes = getattr(view, "required_scopes", None)
        if isinstance(scopes, dict):
            scopes = scopes.get(request.method if request else "GET")
        return list(scopes) if scopes else None

    def has_permission(self, request, view):
        if not _implements(view, request.method):
            return True  # the view answers 405 (RFC 9110 §15.5.6) and does nothing
        if self.get_scopes(request, view) is None:
            return False
        return super().has_permission(request, view)


def _implements(view, method: str) -> bool:
    name = method.lower()
    return name in view.http_method_names and hasattr(view, name)
