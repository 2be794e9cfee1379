"""The person pages under /app/subjects/ (DESIGN.md 7); ids only in URLs."""

from django.urls import path

from . import subject_views

urlpatterns = [
    path("", subject_views.subject_list, name="subject-list"),
    path("<uuid:subject_id>", subject_views.subject_page, name="subject-page"),
    path("<uuid:subject_id>/consents/new", subject_views.consent_new, name="subject-consent-new"),
    path("<uuid:subject_id>/consents/new/form", subject_views.consent_print, name="subject-consent-print"),
    path("<uuid:subject_id>/consents/new/confirm", subject_views.consent_confirm, name="subject-consent-confirm"),
    path("<uuid:subject_id>/erasure", subject_views.subject_erasure, name="subject-erasure"),
    path(
        "<uuid:subject_id>/consents/<uuid:provision_id>/revoke",
        subject_views.consent_revoke,
        name="subject-consent-revoke",
    ),
]
