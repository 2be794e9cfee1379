"""Every write to agencies, memberships and OAuth2 clients."""

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from hub.api.errors import ValidationFailed
from schemas.vocabularies import AGENCY_KINDS, ROLES, SCOPES, SECTORS, codes, term

from .models import Agency, AgencyApplication, Membership

UNKNOWN_CODE = "unknown_code"
INVALID_FIELD = "invalid_field"


def _require_code(vocabulary: str, field: str, value: str) -> None:
    if value not in codes(vocabulary):
        raise ValidationFailed(
            _("%(value)s is not a known %(field)s; one of: %(allowed)s.")
            % {"value": repr(value), "field": field, "allowed": ", ".join(codes(vocabulary))},
            code=UNKNOWN_CODE,
            errors=[{"pointer": f"/{field}", "detail": _("Unknown %(field)s %(value)s.") % {"field": field, "value": repr(value)}}],
        )


def _full_clean(instance) -> None:
    try:
        instance.full_clean()
    except ValidationError as exc:
        errors = [
            {"pointer": f"/{field}", "detail": str(message)}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
        raise ValidationFailed("; ".join(e["detail"] for e in errors), code=INVALID_FIELD, errors=errors)


@transaction.atomic
def agency_create(*, name: str, kind: str, sector: str | None = None, teryt: str = "") -> Agency:
    """Register an agency; the sector defaults to the kind's usual sector."""
    _require_code(AGENCY_KINDS, "kind", kind)
    sector = sector or term(AGENCY_KINDS, kind).extra["default_sector"]
    _require_code(SECTORS, "sector", sector)
    agency = Agency(name=name.strip(), kind=kind, sector=sector, teryt=teryt)
    _full_clean(agency)
    agency.save()
    return agency


@transaction.atomic
def user_create(*, agency: Agency, username: str, password: str, role: str, email: str = ""):
    """Create a login for a person working at `agency`, in `role`."""
    _require_code(ROLES, "role", role)
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValidationFailed(
            _("The username %(username)s is taken.") % {"username": repr(username)},
            code=INVALID_FIELD,
            errors=[{"pointer": "/username", "detail": _("Already taken.")}],
        )
    user = User(username=username, email=email)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed(
            " ".join(exc.messages),
            code=INVALID_FIELD,
            errors=[{"pointer": "/password", "detail": m} for m in exc.messages],
        )
    user.set_password(password)
    user.save()
    Membership.objects.create(user=user, agency=agency, role=role)
    return user


@dataclass(frozen=True)
class IssuedClient:
    application: AgencyApplication
    client_secret: str  # shown once: only its hash is stored


@transaction.atomic
def client_create(
    *,
    agency: Agency,
    scopes: list[str],
    name: str = "",
    grant_type: str = AgencyApplication.GRANT_CLIENT_CREDENTIALS,
    redirect_uris: str = "",
    client_id: str | None = None,
    client_secret: str | None = None,
) -> IssuedClient:
    """Issue an OAuth2 client for `agency`, limited to `scopes`.

    Client-credentials clients are confidential; authorization-code clients are
    public (PKCE S256 is their proof) and need exact redirect URIs.
    """
    unknown = sorted(set(scopes) - set(codes(SCOPES)))
    if unknown or not scopes:
        raise ValidationFailed(
            _("Unknown or missing scopes: %(scopes)s.") % {"scopes": " ".join(unknown) or _("(none given)")},
            code=UNKNOWN_CODE,
            errors=[{"pointer": "/scope", "detail": _("Give one or more of: %(allowed)s") % {"allowed": " ".join(codes(SCOPES))}}],
        )
    confidential = grant_type == AgencyApplication.GRANT_CLIENT_CREDENTIALS
    secret = (client_secret or secrets.token_urlsafe(32)) if confidential else ""
    application = AgencyApplication(
        agency=agency,
        **({"client_id": client_id} if client_id else {}),
        name=name or f"{agency.name} ({grant_type})",
        client_type=AgencyApplication.CLIENT_CONFIDENTIAL if confidential else AgencyApplication.CLIENT_PUBLIC,
        authorization_grant_type=grant_type,
        redirect_uris=redirect_uris,
        client_secret=secret,
        allowed_scopes=" ".join(sorted(set(scopes))),
        skip_authorization=False,
    )
    _full_clean(application)
    application.save()  # hashes client_secret
    return IssuedClient(application=application, client_secret=secret)
