from rest_framework import serializers

from hub.api.serializers import InputSerializer

from ..services import Terms


class RecipientsInput(InputSerializer):
    agencies = serializers.ListField(child=serializers.UUIDField(), required=False, default=list, max_length=100)
    agency_kinds = serializers.ListField(child=serializers.CharField(max_length=32), required=False, default=list, max_length=20)
    teams = serializers.ListField(child=serializers.UUIDField(), required=False, default=list, max_length=100)


class TermsInput(InputSerializer):
    recipients = RecipientsInput()
    categories = serializers.ListField(child=serializers.CharField(max_length=32), max_length=50)
    purposes = serializers.ListField(child=serializers.CharField(max_length=32), max_length=20)
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
    form = serializers.CharField(max_length=32)
    grantor = serializers.CharField(max_length=32)
    evidence_sha256 = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)


class LegalBasisInput(TermsInput):
    basis = serializers.CharField(max_length=32)
    reference = serializers.CharField(max_length=255)


class ReasonInput(InputSerializer):
    reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class LedgerEntryRefOutput(serializers.Serializer):
    id = serializers.UUIDField()
    leaf_hash = serializers.CharField()


class RecipientsOutput(serializers.Serializer):
    agencies = serializers.ListField(source="recipient_agencies")
    agency_kinds = serializers.ListField(source="recipient_kinds")
    teams = serializers.ListField(source="recipient_teams")


class ProvisionOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    basis = serializers.CharField()
    recipients = RecipientsOutput(source="*")
    categories = serializers.ListField(child=serializers.CharField())
    purposes = serializers.ListField(child=serializers.CharField())
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField(allow_null=True)
    form = serializers.CharField()
    grantor = serializers.CharField()
    evidence_sha256 = serializers.CharField()
    reference = serializers.CharField()
    recorded_by = serializers.UUIDField(source="recorded_by_id")
    ledger_entry = serializers.UUIDField(source="granted_entry_id")
    ended_at = serializers.DateTimeField(allow_null=True)
