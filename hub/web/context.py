"""What every page template gets (TEMPLATES context processor)."""

from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.pages import memberships_of, page_membership

from .middleware import LANGUAGE_PARAMETER


def language_links(request) -> list[dict]:
    """The current page in each language: same path and query, `lang` replaced."""
    links = []
    for code, name in settings.LANGUAGES:
        query = request.GET.copy()
        query[LANGUAGE_PARAMETER] = code
        links.append({"code": code, "name": name, "url": f"{request.path}?{query.urlencode()}"})
    return links


# The service navigation: (URL name, label, the roles that see it). Each role
# sees only the pages it may open (an employer's contact: placements alone).
# An item is current on its page and on the pages under it (SECTIONS).
NAVIGATION = [
    ("app-home", _("Home"), None),
    ("referral-inbox", _("Received referrals"), {"caseworker", "supervisor"}),
    ("referral-outbox", _("Sent referrals"), {"caseworker", "supervisor"}),
    ("subject-list", _("People"), {"caseworker", "supervisor", "dpo"}),
    ("placement-worklist", _("Placements"), {"coordinator", "employer_contact"}),
    ("directory-search", _("Service directory"), {"caseworker", "supervisor", "coordinator", "agency_admin"}),
    ("team-list", _("Teams"), {"caseworker", "supervisor", "coordinator"}),
    ("dpo-home", _("Data protection"), {"dpo", "supervisor"}),
    ("account", _("Your account"), None),
]


SECTIONS = {
    "referral-inbox": ("/app/referrals/inbox",),
    "referral-outbox": ("/app/referrals/outbox", "/app/referrals/new"),
    "subject-list": ("/app/subjects/",),
    "placement-worklist": ("/app/placements/",),
    "directory-search": ("/app/directory/",),
    "team-list": ("/app/teams/", "/app/blue-cards/", "/app/plans/"),
    "dpo-home": ("/app/dpo/", "/ledger/"),
}


def navigation(request, role: str | None) -> list[dict]:
    """The menu for `role`."""
    items = []
    for name, label, roles in NAVIGATION:
        if roles is not None and role not in roles:
            continue
        url = reverse(name)
        current = request.path == url or request.path.startswith(SECTIONS.get(name, ()))
        items.append({"url": url, "label": label, "current": current})
    return items


def page_context(request) -> dict:
    context = {"language_links": language_links(request)}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        membership = page_membership(request)
        context.update(
            page_membership=membership,
            navigation=navigation(request, membership.role if membership else None),
            page_has_several_agencies=len(memberships_of(user)) > 1,
            # Every request renews the session (SESSION_SAVE_EVERY_REQUEST): it
            # ends this long after this one unless another comes.
            session_expires_at=timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE),
            session_idle_minutes=settings.SESSION_COOKIE_AGE // 60,
            session_warning_seconds=settings.STAFF_SESSION_WARNING_SECONDS,
            session_warning_minutes=max(1, settings.STAFF_SESSION_WARNING_SECONDS // 60),
            pages_time_zone=settings.PAGES_TIME_ZONE,
            user_is_verified=user.is_verified() if hasattr(user, "is_verified") else False,
        )
    return context
