"""Subjects, consents, refusals, legal bases, emergencies, decisions,
accounting of disclosures and the Merkle log (DESIGN.md section 6)."""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.models import Agency
from hub.api.errors import PROBLEM_CONTENT_TYPE, NotFoundError, ValidationFailed
from hub.api.idempotency import IdempotentCreateMixin
from hub.api.pagination import CursorPagination
from hub.api.params import choice_param, date_param, uuid_param
from hub.api.serializers import CodeField, InputSerializer, ServiceCheckedCodeField
from schemas.vocabularies import DATA_CATEGORIES, LEGAL_BASES, PURPOSES, codes

from .. import services
from ..accounting import entry_about, entry_suppliers
from ..decisions import decide
from ..erasure import ERASURE_REASONS, subject_erase
from ..disclosure import disclose, require_purpose
from ..keys import current_key, published_keys
from ..proofs import consistency_proof_for, inclusion_proof_for
from ..receipts import consent_receipt
from ..selectors import (
    disclosure_list_for_subject,
    ledger_entry_get_for_caller,
    provisions_in_force,
    recipient_of,
    references_load,
    subject_get_for_caller,
    subject_get_owned,
    withheld_from,
)
from ..models import Checkpoint, RevocationNotice
from ..notices import notice_acknowledge
from .serializers import (
    CATEGORIES,
    LedgerEntryRefOutput,
    LegalBasisInput,
    ProvisionInput,
    ProvisionOutput,
    ReasonInput,
)


def _entry_ref(entry) -> dict:
    return {"id": str(entry.id), "leaf_hash": entry.leaf_hash}


def _parsed(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer


class CreatedOutput(serializers.Serializer):
    id = serializers.UUIDField()
    ledger_entry = LedgerEntryRefOutput()


class ReceiptControllerOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ReceiptServiceOutput(serializers.Serializer):
    purpose = CodeField(codes(PURPOSES))
    pii_categories = serializers.ListField(child=CodeField(CATEGORIES))


class ReceiptRecipientsOutput(serializers.Serializer):
    agencies = serializers.ListField(child=serializers.UUIDField())
    agency_kinds = serializers.ListField(child=serializers.CharField())
    teams = serializers.ListField(child=serializers.UUIDField())


class ConsentReceiptOutput(serializers.Serializer):
    """A consent receipt after the Kantara Initiative Consent Receipt v1.1 and
    ISO/IEC TS 27560: what the person agreed to, to give her (or keep in her
    file). The person is her pseudonymous id, never a name."""

    version = serializers.CharField(help_text="KI-CR-v1.1.0")
    receipt_id = serializers.UUIDField()
    consent_timestamp = serializers.DateTimeField()
    collection_method = serializers.CharField(help_text="The consent's form.")
    grantor = serializers.CharField()
    pii_principal_id = serializers.UUIDField(help_text="The subject's id.")
    controller = ReceiptControllerOutput()
    services = ReceiptServiceOutput(many=True)
    recipients = ReceiptRecipientsOutput()
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField(allow_null=True)
    revocable = serializers.BooleanField()
    evidence_sha256 = serializers.CharField(allow_blank=True)
    ledger_entry = LedgerEntryRefOutput()


class ConsentCreatedOutput(CreatedOutput):
    receipt = ConsentReceiptOutput()


class EmergencyCreatedOutput(CreatedOutput):
    valid_until = serializers.DateTimeField()


# --- Subjects -------------------------------------------------------------------


class SubjectCreateApi(IdempotentCreateMixin, APIView):
    """Register a person (pseudonymous id) with a profile valid against `schemas/subject`."""

    required_scopes = ["subjects:write"]

    class SubjectCreateInput(InputSerializer):
        external_ref = serializers.CharField(max_length=128)
        profile = serializers.DictField()

    @extend_schema(
        request=SubjectCreateInput, responses={201: inline_serializer("SubjectCreated", {"id": serializers.UUIDField()})}
    )
    def post(self, request):
        data = _parsed(self.SubjectCreateInput, request).validated_data
        subject = services.subject_create(caller=request.caller, **data)
        return Response({"id": str(subject.id)}, status=status.HTTP_201_CREATED)


class SubjectDisclosedOutput(serializers.Serializer):
    id = serializers.UUIDField()
    profile = serializers.DictField(help_text="The profile (schemas/subject) pruned to what you may receive.")
    withheld_categories = serializers.ListField(child=CodeField(CATEGORIES))


class SubjectDetailApi(APIView):
    """The subject's profile, disclosed for `purpose`: pruned to the categories the
    calling agency may receive, and recorded in the accounting of disclosures."""

    required_scopes = ["subjects:read"]

    @extend_schema(
        parameters=[OpenApiParameter(
            "purpose", str, required=False, enum=list(codes(PURPOSES)),
            description="Why you need the data. Required unless you own the subject (then case_coordination).",
        )],
        responses=SubjectDisclosedOutput,
    )
    def get(self, request, subject_id):
        subject = subject_get_for_caller(subject_id, request.caller)
        purpose = request.query_params.get("purpose")
        if subject.owner_id == request.caller.agency.id and purpose is None:
            purpose = "case_coordination"
        disclosed = disclose(
            subject=subject, caller=request.caller, purpose=require_purpose(purpose),
            document=subject.profile, schema=subject.profile_schema,
        )
        return Response(
            {"id": str(subject.id), "profile": disclosed.document, "withheld_categories": disclosed.withheld_categories}
        )


class SubjectErasureOutput(serializers.Serializer):
    id = serializers.UUIDField()
    erased_at = serializers.DateTimeField()
    reason = serializers.ChoiceField(choices=ERASURE_REASONS)


class SubjectErasureApi(APIView):
    """Erase a person's data (GDPR art. 17) by destroying their data key: the
    owning agency's DPO or a supervisor, with a reason code. Afterwards every
    read of their data answers 410, referrals show metadata only, the log
    still verifies, and every agency that received their data gets a
    `subject.erased` event. 409 while a statutory basis or court order is in
    force; 410 when already erased."""

    required_scopes = ["subjects:write"]

    class SubjectErasureInput(InputSerializer):
        reason = CodeField(ERASURE_REASONS, help_text="why: an art. 17 ground, or the end of retention")

    @extend_schema(request=SubjectErasureInput, responses=SubjectErasureOutput)
    def post(self, request, subject_id):
        subject_get_owned(subject_id, request.caller)  # another agency's subject is a 404 whatever the body
        reason = _parsed(self.SubjectErasureInput, request).validated_data["reason"]
        subject = subject_erase(caller=request.caller, subject_id=subject_id, reason=reason)
        return Response(SubjectErasureOutput({"id": subject.id, "erased_at": subject.erased_at, "reason": reason}).data)


# --- Consents, refusals, legal bases, emergencies ------------------------------------


def _record_provision(service, request, subject_id):
    """Parse a consent or refusal body and record it with `service`."""
    data = _parsed(ProvisionInput, request)
    return service(
        caller=request.caller, subject_id=subject_id, terms=data.terms(),
        form=data.validated_data["form"], grantor=data.validated_data["grantor"],
        evidence_sha256=data.validated_data["evidence_sha256"],
    )


def _created(provision, **extra) -> Response:
    body = {"id": str(provision.id), "ledger_entry": _entry_ref(provision.granted_entry), **extra}
    return Response(body, status=status.HTTP_201_CREATED)


class ConsentCreateApi(IdempotentCreateMixin, APIView):
    """Record informed consent; answers with a consent receipt."""

    required_scopes = ["consents:write"]

    @extend_schema(request=ProvisionInput, responses={201: ConsentCreatedOutput})
    def post(self, request, subject_id):
        provision = _record_provision(services.consent_grant, request, subject_id)
        return _created(provision, receipt=consent_receipt(provision, controller=request.caller.agency))


class RefusalCreateApi(IdempotentCreateMixin, APIView):
    """Record a refusal: these recipients must never receive these categories."""

    required_scopes = ["consents:write"]

    @extend_schema(request=ProvisionInput, responses={201: CreatedOutput})
    def post(self, request, subject_id):
        return _created(_record_provision(services.refusal_record, request, subject_id))


class LegalBasisCreateApi(IdempotentCreateMixin, APIView):
    """Record a statutory basis: Blue Card procedure (art. 9c/9d), court order, legal obligation."""

    required_scopes = ["consents:write"]

    @extend_schema(request=LegalBasisInput, responses={201: CreatedOutput})
    def post(self, request, subject_id):
        data = _parsed(LegalBasisInput, request)
        provision = services.legal_basis_assert(
            caller=request.caller, subject_id=subject_id, basis=data.validated_data["basis"],
            terms=data.terms(), reference=data.validated_data["reference"],
        )
        return _created(provision)


class EmergencyDisclosureCreateApi(IdempotentCreateMixin, APIView):
    """Vital interest: let one agency receive categories for 24 hours; reviewed afterwards."""

    required_scopes = ["consents:write"]

    class EmergencyDisclosureInput(InputSerializer):
        recipient = serializers.UUIDField()
        categories = serializers.ListField(child=ServiceCheckedCodeField(CATEGORIES), max_length=50)
        justification = serializers.CharField(max_length=4000, allow_blank=True)

    @extend_schema(request=EmergencyDisclosureInput, responses={201: EmergencyCreatedOutput})
    def post(self, request, subject_id):
        data = _parsed(self.EmergencyDisclosureInput, request).validated_data
        provision = services.emergency_disclosure_record(
            caller=request.caller, subject_id=subject_id, recipient_id=str(data["recipient"]),
            categories=data["categories"], justification=data["justification"],
        )
        return _created(provision, valid_until=provision.valid_until)


class _EndApi(APIView):
    # Not an operation: each subclass says what it ends, in its own docstring
    # (hub.api.schema publishes only a view's own docstring).

    required_scopes = ["consents:write"]

    @extend_schema(request=ReasonInput, responses=ProvisionOutput)
    def post(self, request, provision_id):
        reason = _parsed(ReasonInput, request).validated_data["reason"]
        provision = self.end(request.caller, provision_id, reason)
        return Response(ProvisionOutput(provision).data)


class ConsentRevokeApi(_EndApi):
    """Revoke a consent; it stops counting for the very next request."""

    def end(self, caller, provision_id, reason):
        return services.consent_revoke(caller=caller, consent_id=provision_id, reason=reason)


class RefusalWithdrawApi(_EndApi):
    """Withdraw a refusal: its categories may be released again on another basis."""

    def end(self, caller, provision_id, reason):
        return services.refusal_withdraw(caller=caller, refusal_id=provision_id, reason=reason)


class LegalBasisEndApi(_EndApi):
    """End a statutory basis (the procedure or order ended)."""

    def end(self, caller, provision_id, reason):
        return services.legal_basis_end(caller=caller, legal_basis_id=provision_id, reason=reason)


class ConsentStateOutput(serializers.Serializer):
    subject = serializers.UUIDField()
    provisions = ProvisionOutput(many=True, help_text="Consents, refusals and bases in force now, oldest first.")


class ConsentStateApi(APIView):
    """The subject's provisions in force now (owning agency only)."""

    required_scopes = ["consents:read"]

    @extend_schema(operation_id="subjects_consent_state_retrieve", responses=ConsentStateOutput)
    def get(self, request, subject_id):
        subject = subject_get_owned(subject_id, request.caller)
        now = timezone.now()
        active = sorted(
            (p for p in provisions_in_force(subject.id, now) if p.is_active(now)), key=lambda p: p.valid_from
        )
        provisions = ProvisionOutput(references_load(active), many=True).data
        return Response({"subject": str(subject.id), "provisions": provisions})


# --- Decisions and accounting -------------------------------------------------------


class DisclosureDecisionApi(APIView):
    """Dry run: what would the recipient receive? Records nothing."""

    required_scopes = ["consents:read"]

    class DisclosureDecisionInput(InputSerializer):
        subject = serializers.UUIDField()
        recipient = serializers.UUIDField()
        categories = serializers.ListField(child=ServiceCheckedCodeField(CATEGORIES), min_length=1, max_length=50)
        purpose = ServiceCheckedCodeField(codes(PURPOSES))

    @extend_schema(request=DisclosureDecisionInput, responses=inline_serializer("DisclosureDecision", {
        "permitted": serializers.ListField(child=CodeField(CATEGORIES)),
        "denied": serializers.ListField(child=CodeField(CATEGORIES)),
        "bases": inline_serializer("DisclosureDecisionBasis", {
            "category": CodeField(CATEGORIES),
            "basis": CodeField(codes(LEGAL_BASES)),
            "entry": serializers.UUIDField(help_text="The ledger entry that records the basis."),
        }, many=True),
    }))
    def post(self, request):
        data = _parsed(self.DisclosureDecisionInput, request).validated_data
        subject = subject_get_for_caller(data["subject"], request.caller)
        recipient = Agency.objects.filter(pk=data["recipient"], active=True).first()
        if recipient is None or (subject.owner_id != request.caller.agency.id and recipient != request.caller.agency):
            raise NotFoundError(_("No such recipient agency."))
        unknown = [i for i, c in enumerate(data["categories"]) if c not in codes(DATA_CATEGORIES)]
        if unknown:
            allowed = ", ".join(codes(DATA_CATEGORIES))
            detail = _("Unknown category. One of: %(allowed)s.") % {"allowed": allowed}
            raise ValidationFailed(
                _("Unknown categories."), errors=[{"pointer": f"/categories/{i}", "detail": detail} for i in unknown]
            )
        now = timezone.now()
        decision = decide(
            provisions_in_force(subject.id, now), recipient_of(recipient), data["categories"],
            require_purpose(data["purpose"]), now,
        )
        # What another agency withheld from the recipient would be withheld on a read too.
        withheld = withheld_from(subject.id, recipient.id)
        permitted = [c for c in decision.permitted if c not in withheld]
        bases = [
            {"category": c, "basis": d.basis, "entry": d.entry_id}
            for c, d in sorted(decision.by_category.items()) if c in permitted
        ]
        denied = sorted(set(decision.by_category) - set(permitted))
        return Response({"permitted": permitted, "denied": denied, "bases": bases})


class DisclosureAccountingOutput(serializers.Serializer):
    at = serializers.DateTimeField(source="recorded_at")
    recipient = serializers.CharField(source="body.recipient")
    actor = serializers.CharField()
    categories = serializers.ListField(source="body.categories", child=CodeField(CATEGORIES))
    withheld_categories = serializers.ListField(source="body.withheld_categories", child=CodeField(CATEGORIES))
    purpose = CodeField(codes(PURPOSES), source="body.purpose")
    bases = serializers.ListField(
        source="body.bases", child=serializers.DictField(),
        help_text="{category, basis, entry} per category released; `reply: true` when the recipient, the "
                  "person's owner, received it on the supplier's provision (the reply basis).",
    )
    request_id = serializers.CharField(source="body.request_id")
    ledger_entry = serializers.UUIDField(source="id")
    suppliers = serializers.SerializerMethodField(
        help_text="The agencies whose documents were released, each once (empty for entries recorded before "
                  "suppliers were).",
    )
    about = serializers.SerializerMethodField(
        help_text='What the documents belonged to when the person\'s owner received another agency\'s data: '
                  '"referral:<id>" (the referral they answer), "plan:<id>", "bluecardprocedure:<id>" or '
                  '"placement:<id>"; null otherwise.',
    )

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_suppliers(self, entry) -> list[str]:
        return entry_suppliers(entry)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_about(self, entry) -> str | None:
        return entry_about(entry)


class AccountingPagination(CursorPagination):
    ordering = ("-seq",)


ACCOUNTING_FILTERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="Disclosures recorded on or after this day (UTC)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Disclosures recorded on or before this day (UTC)."),
    OpenApiParameter("recipient", OpenApiTypes.UUID, description="Disclosures to this agency only."),
]


class DisclosureListApi(ListAPIView):
    """Accounting of disclosures (HIPAA §164.528, LED art. 25): who received what, when, why, on which basis."""

    required_scopes = ["audit:read"]
    serializer_class = DisclosureAccountingOutput
    pagination_class = AccountingPagination

    @extend_schema(
        description="Every disclosure of the person's data, newest first, for a period and a recipient: the "
                    "person's report of who received her data (GDPR art. 15(1)(c)). Each bad parameter is "
                    "named in a 422.",
        parameters=ACCOUNTING_FILTERS,
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        subject = subject_get_owned(self.kwargs["subject_id"], self.request.caller)
        return disclosure_list_for_subject(subject, **_accounting_filters(self.request.query_params))


def _accounting_filters(params) -> dict:
    """?from=&to=&recipient= as the selector takes them; every bad one named
    in one 422."""
    parsed, errors = {}, []
    for name, parse in (("from", date_param), ("to", date_param), ("recipient", uuid_param)):
        try:
            parsed[name] = parse(params, name)
        except ValidationFailed as exc:
            errors += exc.errors
    start, end, recipient = parsed.get("from"), parsed.get("to"), parsed.get("recipient")
    if start and end and start > end:
        errors.append({"parameter": "from", "detail": _("Must be on or before to.")})
    if recipient is not None and not Agency.objects.filter(pk=recipient).exists():
        errors.append({"parameter": "recipient", "detail": _("No such recipient agency.")})
    if errors:
        raise ValidationFailed(_("The accounting cannot be filtered so."), errors=errors)
    return {"start": start, "end": end, "recipient_id": recipient}


# --- Merkle log ----------------------------------------------------------------------


class CheckpointApi(APIView):
    """The latest signed checkpoint (C2SP tlog-checkpoint as a signed note)."""

    required_scopes = ["ledger:read"]

    @extend_schema(responses=inline_serializer("Checkpoint", {
        "tree_size": serializers.IntegerField(), "root_hash": serializers.CharField(),
        "timestamp": serializers.DateTimeField(), "note": serializers.CharField(),
    }))
    def get(self, request):
        # At a key rotation the tree is signed again: the newest is the current key's.
        checkpoint = Checkpoint.objects.order_by("-tree_size", "-pk").first()
        if checkpoint is None:
            raise NotFoundError(_("The log has no checkpoint yet."))
        return Response({
            "tree_size": checkpoint.tree_size,
            "root_hash": checkpoint.root_hash,
            "timestamp": checkpoint.created_at,
            "note": checkpoint.note,
        })


def _key_fields(key) -> dict:
    return {
        "key_name": key.name, "key_id": key.key_id, "public_key": key.public_key_b64,
        "verifier_key": key.verifier_key, "valid_from": key.valid_from,
    }


_KEY_FIELDS = {
    "key_name": serializers.CharField(),
    "key_id": serializers.CharField(help_text="the C2SP signed-note key ID, hex: what a signature line names"),
    "public_key": serializers.CharField(help_text="base64 of the raw 32-byte Ed25519 public key"),
    "verifier_key": serializers.CharField(help_text="the signed-note verifier key, <name>+<key ID>+<base64 key>"),
    "valid_from": serializers.DateTimeField(),
}


class PublicKeyApi(APIView):
    """The Ed25519 keys that sign checkpoints. The members of v1 name the
    current key (`key_name`, `public_key`: base64 of the raw 32 bytes);
    `keys` lists every key the log has had, the oldest first, each with its
    validity: a checkpoint verifies under the key that was valid when it was
    signed, and the checkpoint at a rotation carries both keys' signatures."""

    required_scopes = ["ledger:read"]

    @extend_schema(responses=inline_serializer("LedgerPublicKey", {
        **_KEY_FIELDS,
        "keys": inline_serializer("LedgerSigningKey", {
            **_KEY_FIELDS,
            "retired_at": serializers.DateTimeField(allow_null=True, help_text="null for the current key"),
        }, many=True),
    }))
    def get(self, request):
        current = current_key()
        return Response({
            **_key_fields(current),
            "keys": [{**_key_fields(key), "retired_at": key.retired_at} for key in published_keys()],
        })


# consent_ledger.proofs.ProofUnavailable: a damaged node table is the server's
# fault, said plainly (problem+json, code proof_unavailable), never a 500.
_PROOF_UNAVAILABLE = {
    (503, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        {"$ref": "#/components/schemas/Problem"},
        description="Hashes this proof needs are missing from the log's storage (code `proof_unavailable`): "
                    "the server's fault, logged for its operators. Proofs that do not need them are still served.",
    ),
}


class InclusionProofApi(APIView):
    """RFC 9162 §2.1.3 inclusion proof of one entry (hex hashes)."""

    required_scopes = ["ledger:read"]

    @extend_schema(parameters=[OpenApiParameter("tree_size", int, required=False)],
                   responses={200: inline_serializer("InclusionProof", {
                       "leaf_index": serializers.IntegerField(), "tree_size": serializers.IntegerField(),
                       "leaf_hash": serializers.CharField(),
                       "audit_path": serializers.ListField(child=serializers.CharField()),
                   }), **_PROOF_UNAVAILABLE})
    def get(self, request, entry_id):
        entry = ledger_entry_get_for_caller(entry_id, request.caller)
        return Response(inclusion_proof_for(entry, _int_param(request, "tree_size", required=False)))


class ConsistencyProofApi(APIView):
    """RFC 9162 §2.1.4 consistency proof between two tree sizes (hex hashes)."""

    required_scopes = ["ledger:read"]

    @extend_schema(parameters=[OpenApiParameter("first", int), OpenApiParameter("second", int)],
                   responses={200: inline_serializer("ConsistencyProof", {
                       "first": serializers.IntegerField(), "second": serializers.IntegerField(),
                       "proof": serializers.ListField(child=serializers.CharField()),
                   }), **_PROOF_UNAVAILABLE})
    def get(self, request):
        first = _int_param(request, "first")
        second = _int_param(request, "second")
        return Response(consistency_proof_for(first, second))


def _int_param(request, name: str, *, required: bool = True) -> int | None:
    raw = request.query_params.get(name)
    if raw is None and not required:
        return None
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        raise ValidationFailed(
            _("%(parameter)s must be a non-negative integer.") % {"parameter": name},
            errors=[{"parameter": name, "detail": _("A non-negative integer.")}],
        )
    return int(raw)


# --- Revocation notices ------------------------------------------------------------


class NoticeOutput(serializers.Serializer):
    id = serializers.UUIDField()
    subject = serializers.UUIDField(source="subject_id")
    categories = serializers.ListField(child=CodeField(CATEGORIES))
    recorded_by = serializers.UUIDField(source="recorded_by_id")
    created_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)


NOTICE_STATES = ("open", "all")


class NoticeListOutput(serializers.Serializer):
    results = NoticeOutput(many=True, help_text="Newest first, at most 500.")


class NoticeListApi(APIView):
    """Revocation notices addressed to the caller; `?state=open` for unacknowledged."""

    required_scopes = ["events:read"]

    @extend_schema(
        operation_id="notices_list",
        parameters=[OpenApiParameter("state", str, enum=list(NOTICE_STATES), description="Default open.")],
        responses=NoticeListOutput,
    )
    def get(self, request):
        notices = RevocationNotice.objects.filter(agency=request.caller.agency).order_by("-created_at")
        if (choice_param(request.query_params, "state", NOTICE_STATES) or "open") == "open":
            notices = notices.filter(acknowledged_at__isnull=True)
        return Response({"results": NoticeOutput(notices[:500], many=True).data})


class NoticeAckApi(APIView):
    """Acknowledge a revocation notice: the agency has stopped using the data.
    A write about consent, so it needs `consents:write` (reading notices needs
    `events:read`)."""

    required_scopes = ["consents:write"]

    @extend_schema(request=None, responses=NoticeOutput)
    def post(self, request, notice_id):
        return Response(NoticeOutput(notice_acknowledge(caller=request.caller, notice_id=notice_id)).data)
