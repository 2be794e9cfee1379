from django.urls import path

from . import views

urlpatterns = [
    path("subjects/", views.SubjectCreateApi.as_view(), name="subject-create"),
    path("subjects/<uuid:subject_id>", views.SubjectDetailApi.as_view(), name="subject-detail"),
    path("subjects/<uuid:subject_id>/consents/", views.ConsentCreateApi.as_view(), name="consent-create"),
    path("subjects/<uuid:subject_id>/refusals/", views.RefusalCreateApi.as_view(), name="refusal-create"),
    path("subjects/<uuid:subject_id>/legal-bases/", views.LegalBasisCreateApi.as_view(), name="legal-basis-create"),
    path(
        "subjects/<uuid:subject_id>/emergency-disclosures/",
        views.EmergencyDisclosureCreateApi.as_view(),
        name="emergency-disclosure-create",
    ),
    path("subjects/<uuid:subject_id>/erasure", views.SubjectErasureApi.as_view(), name="subject-erasure"),
    path("subjects/<uuid:subject_id>/consent-state", views.ConsentStateApi.as_view(), name="consent-state"),
    path("subjects/<uuid:subject_id>/disclosures/", views.DisclosureListApi.as_view(), name="disclosure-list"),
    path("consents/<uuid:provision_id>/revoke", views.ConsentRevokeApi.as_view(), name="consent-revoke"),
    path("refusals/<uuid:provision_id>/withdraw", views.RefusalWithdrawApi.as_view(), name="refusal-withdraw"),
    path("legal-bases/<uuid:provision_id>/end", views.LegalBasisEndApi.as_view(), name="legal-basis-end"),
    path("disclosure-decisions/", views.DisclosureDecisionApi.as_view(), name="disclosure-decision"),
    path("ledger/checkpoint", views.CheckpointApi.as_view(), name="ledger-checkpoint"),
    path("ledger/public-key", views.PublicKeyApi.as_view(), name="ledger-public-key"),
    path("ledger/entries/<uuid:entry_id>/proof", views.InclusionProofApi.as_view(), name="ledger-inclusion-proof"),
    path("notices/", views.NoticeListApi.as_view(), name="notice-list"),
    path("notices/<uuid:notice_id>/ack", views.NoticeAckApi.as_view(), name="notice-ack"),
    path("ledger/consistency", views.ConsistencyProofApi.as_view(), name="ledger-consistency"),
]
