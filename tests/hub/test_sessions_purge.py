"""Expired sessions, which may hold a referral draft (what a caseworker typed
about a person), are deleted by a periodic task; live ones stay."""

from datetime import timedelta

from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from hub.tasks import sessions_purge_task


def test_expired_sessions_are_purged_and_live_ones_kept(db):
    expired, live = SessionStore(), SessionStore()
    expired["referral_drafts"] = {"x": {"summary": "typed about a person"}}
    expired.create()
    live.create()
    Session.objects.filter(session_key=expired.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))

    sessions_purge_task()

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
