"""The composition root's own table: which sessions each staff user holds."""

from django.conf import settings
from django.db import models


class StaffSession(models.Model):
    """A session a user logged in with, so that "log out everywhere" can end
    all of them (hub/web/sessions.py). Sessions themselves stay in Django's
    session store; this only indexes them by user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user"], name="staff_session_user")]
