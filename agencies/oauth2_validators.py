import hashlib

from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_validators import OAuth2Validator


class AgencyOAuth2Validator(OAuth2Validator):
    """Limits each client to its own `allowed_scopes` (RFC 6749 §3.3: the server
    may fully or partially ignore the requested scope), and refuses clients of
    inactive agencies."""

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        if not client.agency.active:
            return False
        return set(scopes) <= client.allowed_scope_set and super().validate_scopes(
            client_id, scopes, client, request, *args, **kwargs
        )

    def get_default_scopes(self, client_id, request, *args, **kwargs):
        # A token request without `scope` gets the client's full allowance.
        client = request.client or self._load_application(client_id, request)
        return sorted(client.allowed_scope_set) if client else []

    def _load_access_token(self, token):
        # Every API request resolves the token's agency: fetch it in the same query.
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return (
            AccessToken.objects.select_related("application__agency", "user")
            .filter(token_checksum=checksum)
            .first()
        )
