from rest_framework import serializers

from hub.api.serializers import CodeField, InputSerializer, ServiceCheckedCodeField
from schemas.vocabularies import AGENCY_KINDS, DATA_CATEGORIES, LEGAL_BASES, PURPOSES, codes

from ..models import ProvisionKind
from ..services import ASSERTABLE_BASES, FORMS, GRANTORS, Terms

CATEGORIES = codes(DATA_CATEGORIES)


class RecipientsInput(InputSerializer):
    agencies = serializers.ListField(child=serializers.UUIDField(), required=False, default=list, max_length=100)
    agency_kinds = serializers.ListField(
        child=ServiceCheckedCodeField(codes(AGENCY_KINDS)), required=False, default=list, max_length=20
    )
    teams = serializers.ListField(child=serializers.UUIDField(), required=False, default=list, max_length=100)


class TermsInput(InputSerializer):
    recipients = RecipientsInput()
    categories = serializers.ListField(child=ServiceCheckedCodeField(CATEGORIES), max_length=50)
    purposes = serializers.ListField(child=ServiceCheckedCodeField(codes(PURPOSES)), max_length=20)
    valid_from = serializers.DateTimeField(required=False, default=None)
    valid_until = serializers.DateTimeField(required=False, default=None)

    def terms(self) -> Terms:
        data = self.validated_data
        return Terms(
            categories=data["categories"],
            purposes=data["purposes"],
            agencies=[str(a) for a in data["recipients"]["agencies"]],
            agency_kinds=data["recipients"]["agency_kinds"],
            teams=[str(t) for t in data["recipients"]["teams"]],
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
        )


class ProvisionInput(TermsInput):
    form = ServiceCheckedCodeField(FORMS)
    grantor = ServiceCheckedCodeField(GRANTORS)
    evidence_sha256 = serializers.CharField(
        max_length=64, required=False, default="", allow_blank=True,
        help_text="sha256 (hex) of the signed form; required when form is written.",
    )


class LegalBasisInput(TermsInput):
    basis = ServiceCheckedCodeField(ASSERTABLE_BASES)
    reference = serializers.CharField(max_length=255, help_text="e.g. the Blue Card number or the court's case signature.")


class ReasonInput(InputSerializer):
    reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class LedgerEntryRefOutput(serializers.Serializer):
    id = serializers.UUIDField()
    leaf_hash = serializers.CharField()


class RecipientsOutput(serializers.Serializer):
    agencies = serializers.ListField(source="recipient_agencies", child=serializers.UUIDField())
    agency_kinds = serializers.ListField(source="recipient_kinds", child=CodeField(codes(AGENCY_KINDS)))
    teams = serializers.ListField(source="recipient_teams", child=serializers.UUIDField())


class ProvisionOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = CodeField(ProvisionKind.values)
    basis = CodeField(codes(LEGAL_BASES), allow_blank=True, help_text="Empty for a refusal.")
    recipients = RecipientsOutput(source="*")
    categories = serializers.ListField(child=CodeField(CATEGORIES))
    purposes = serializers.ListField(child=CodeField(codes(PURPOSES)))
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField(allow_null=True)
    form = CodeField(FORMS, allow_blank=True, help_text="Consents and refusals only.")
    grantor = CodeField(GRANTORS, allow_blank=True, help_text="Consents and refusals only.")
    evidence_sha256 = serializers.CharField(allow_blank=True)
    reference = serializers.CharField(allow_blank=True)
    recorded_by = serializers.UUIDField(source="recorded_by_id")
    ledger_entry = serializers.UUIDField(source="granted_entry_id")
    ended_at = serializers.DateTimeField(allow_null=True)
