"""drf-spectacular: document our authentication as OAuth2 with per-view scopes."""

from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme


class AgencyTokenScheme(DjangoOAuthToolkitScheme):
    target_class = "agencies.api.authentication.AgencyTokenAuthentication"
