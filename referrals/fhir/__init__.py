"""Read-only FHIR R5 exports (DESIGN.md 6.2; issue 14, item 4): a referral as
Task (with its ServiceRequest and Patient), a consent provision as Consent, a
ledger entry as AuditEvent, an agency as Organization, a shared plan as
CarePlan, and a referral with its context as a Bundle.

One module per resource; `common` holds what they share. Every builder makes
its resource with the fhir.resources models (R5), so a resource that does not
validate fails where it is built, never at the recipient. Person data reaches
a builder only as the choke point released it (referrals.selectors.referral_read,
referrals.plans.selectors.plan_read): no builder reads a sealed field."""
