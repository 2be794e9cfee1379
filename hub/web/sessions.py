"""Staff sessions: recorded at login, ended together by "log out everywhere"."""

from importlib import import_module

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import transaction
from django.dispatch import receiver

from hub.models import StaffSession


@receiver(user_logged_in, dispatch_uid="hub.web.sessions.record")
def _record(sender, request, user, **kwargs):
    # Django's own login signal, not a domain flow: it is the one hook that sees
    # every login path (this hub's login page, the admin, test clients).
    key = request.session.session_key
    if key:
        StaffSession.objects.update_or_create(session_key=key, defaults={"user": user})


@receiver(user_logged_out, dispatch_uid="hub.web.sessions.forget")
def _forget(sender, request, user, **kwargs):
    if request is not None and request.session.session_key:
        StaffSession.objects.filter(session_key=request.session.session_key).delete()


@transaction.atomic
def sessions_end_all(user) -> int:
    """End every session of `user` in every browser; returns how many."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(StaffSession.objects.select_for_update().filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    StaffSession.objects.filter(user=user).delete()
    return len(keys)


def session_rotate(request) -> None:
    """A new key for the current session (after a privilege change, against
    session fixation), keeping it in the user's list."""
    old = request.session.session_key
    request.session.cycle_key()
    new = request.session.session_key
    if not StaffSession.objects.filter(session_key=old).update(session_key=new) and request.user.is_authenticated:
        StaffSession.objects.create(session_key=new, user=request.user)
