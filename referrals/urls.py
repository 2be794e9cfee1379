"""The referral pages under /app/referrals/ (DESIGN.md 7); ids only in URLs.
The send-referral journey's URLs carry a journey id (a draft in the
session), never what was typed."""

from django.urls import path

from . import journey_views, views

urlpatterns = [
    path("inbox", views.referral_inbox, name="referral-inbox"),
    path("outbox", views.referral_outbox, name="referral-outbox"),
    path("new", journey_views.referral_new, name="referral-new"),
    path("new/<slug:journey>/who", journey_views.referral_new_who, name="referral-new-who"),
    path("new/<slug:journey>/person", journey_views.referral_new_person, name="referral-new-person"),
    path("new/<slug:journey>/service", journey_views.referral_new_service, name="referral-new-service"),
    path("new/<slug:journey>/directory", journey_views.referral_new_directory, name="referral-new-directory"),
    path("new/<slug:journey>/details", journey_views.referral_new_details, name="referral-new-details"),
    path("new/<slug:journey>/check", journey_views.referral_new_check, name="referral-new-check"),
    path("new/<slug:journey>/cancel", journey_views.referral_new_cancel, name="referral-new-cancel"),
    path("<uuid:referral_id>", views.referral_detail, name="referral-page"),
    path("<uuid:referral_id>/transition", views.referral_transition, name="referral-page-transition"),
    path("<uuid:referral_id>/notes", views.referral_note_add, name="referral-page-note"),
]
