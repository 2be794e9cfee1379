"""FHIR R5 exports (issue 14, item 4; referrals/api/fhir_views.py), read-only.
Resource types keep FHIR's spelling in the path (`fhir/Task/{id}`), as a FHIR
client builds it from a base URL and a reference."""

from django.urls import path

from . import fhir_views

urlpatterns = [
    path("fhir/Task/<uuid:referral_id>", fhir_views.FhirTaskApi.as_view(), name="fhir-task"),
    path("fhir/Consent/<uuid:provision_id>", fhir_views.FhirConsentApi.as_view(), name="fhir-consent"),
    path("fhir/AuditEvent/<uuid:entry_id>", fhir_views.FhirAuditEventApi.as_view(), name="fhir-audit-event"),
    path("fhir/Organization/<uuid:agency_id>", fhir_views.FhirOrganizationApi.as_view(), name="fhir-organization"),
    path("fhir/CarePlan/<uuid:plan_id>", fhir_views.FhirCarePlanApi.as_view(), name="fhir-care-plan"),
    path(
        "fhir/Bundle/referral/<uuid:referral_id>", fhir_views.FhirReferralBundleApi.as_view(),
        name="fhir-bundle-referral",
    ),
]
