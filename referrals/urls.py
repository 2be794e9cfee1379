"""The referral pages under /app/referrals/ (DESIGN.md 7); ids only in URLs."""

from django.urls import path

from . import views

urlpatterns = [
    path("inbox", views.referral_inbox, name="referral-inbox"),
    path("outbox", views.referral_outbox, name="referral-outbox"),
    path("<uuid:referral_id>", views.referral_detail, name="referral-page"),
    path("<uuid:referral_id>/transition", views.referral_transition, name="referral-page-transition"),
    path("<uuid:referral_id>/notes", views.referral_note_add, name="referral-page-note"),
]
