"""Who a page acts for: the logged-in user's membership in one agency, as a
Caller (agencies/callers.py) that selectors and services take like an API
caller's. Pages never take an agency from the URL or a form."""

from functools import wraps

from django.core.exceptions import PermissionDenied

from .callers import Caller
from .models import Membership

# The session remembers which agency a member of several acts for.
SESSION_AGENCY = "hub_agency_id"


def memberships_of(user) -> list[Membership]:
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.filter(user=user, active=True, agency__active=True)
        .select_related("agency")
        .order_by("created_at")
    )


def page_membership(request) -> Membership | None:
    """The membership the request acts in: the one chosen in the session, else
    the user's first. Cached on the request."""
    if not hasattr(request, "_hub_membership"):
        memberships = memberships_of(request.user)
        chosen = request.session.get(SESSION_AGENCY) if hasattr(request, "session") else None
        request._hub_membership = next(
            (m for m in memberships if str(m.agency_id) == chosen), memberships[0] if memberships else None
        )
    return request._hub_membership


def page_membership_choose(request, agency_id) -> Membership | None:
    """Act for another agency the user is a member of; None if she is not."""
    membership = next((m for m in memberships_of(request.user) if str(m.agency_id) == str(agency_id)), None)
    if membership is not None:
        request.session[SESSION_AGENCY] = str(membership.agency_id)
        request._hub_membership = membership
    return membership


def page_caller(request) -> Caller:
    """The Caller of a page: the membership's agency, acting through the user
    (the accounting names her as `user:<id>`, never by name)."""
    membership = page_membership(request)
    if membership is None:
        raise PermissionDenied
    return Caller(agency=membership.agency, user=request.user)


def member_page(*roles: str):
    """A page for members in one of `roles`: sets request.caller and
    request.membership; anyone else gets the 403 page. Login and the second
    factor are enforced before any view (hub.web.otp)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            membership = page_membership(request)
            if membership is None or (roles and membership.role not in roles):
                raise PermissionDenied
            request.membership = membership
            request.caller = Caller(agency=membership.agency, user=request.user)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
