"""Subjects, the append-only ledger, its current-state projection, and the
Merkle log's sequencer state and checkpoints (DESIGN.md 4.2-4.4).

Ledger entries hold pseudonymous ids, codes, times and hashes only. Free text
(reasons, justifications, references) lives in `LedgerNote` beside the entry,
which holds its sha256: erasing a note never breaks the log.
"""

import uuid

import orjson
from django.db import models
from django.utils.functional import cached_property

from agencies.models import Agency
from schemas.vocabularies import LEGAL_BASES, choices

from .sealing import SealedField


class Subject(models.Model):
    """A person, pseudonymous: the hub knows them by UUID. The profile is read
    only through the disclosure choke point (consent_ledger.disclosure)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="subjects")
    profile = SealedField(subject="id")
    profile_schema = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True, blank=True, help_text="when the data key was destroyed (erasure)")
    erasure_reason = models.CharField(max_length=32, blank=True)


class SubjectKey(models.Model):
    """A subject's data key, wrapped by a key-encryption key, in the key
    store (consent_ledger/sealing.py, routers.py): deleted at erasure."""

    subject_id = models.UUIDField(primary_key=True)
    kek_id = models.CharField(max_length=64, help_text="the key-encryption key that wraps it")
    wrapped = models.BinaryField()
    created_at = models.DateTimeField()


class ErasedSubject(models.Model):
    """A subject whose key was destroyed, kept beside the keys so that no
    restored or late write can give them a new one."""

    subject_id = models.UUIDField(primary_key=True)
    erased_at = models.DateTimeField()


class SubjectReference(models.Model):
    """An agency's own reference for a subject (its case-file number)."""

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="references")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT)
    external_ref = models.CharField(max_length=128)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "external_ref"], name="subject_ref_unique_per_agency"),
        ]


class EntryKind(models.TextChoices):
    CONSENT_GRANTED = "consent_granted"
    CONSENT_REVOKED = "consent_revoked"
    REFUSAL_RECORDED = "refusal_recorded"
    REFUSAL_WITHDRAWN = "refusal_withdrawn"
    LEGAL_BASIS_ASSERTED = "legal_basis_asserted"
    LEGAL_BASIS_ENDED = "legal_basis_ended"
    EMERGENCY_DISCLOSURE = "emergency_disclosure"
    DISCLOSURE = "disclosure"
    # Issue 12: a person's data erased (their key destroyed), by request or at
    # the end of its retention period; ids and codes only.
    SUBJECT_ERASED = "subject_erased"
    RETENTION_ERASURE = "retention_erasure"


class LedgerEntry(models.Model):
    """One append-only ledger entry; also a leaf of the Merkle log.

    `canonical` holds the RFC 8785 bytes of the entry's content (every column
    below plus its body) and `leaf_hash` their RFC 9162 leaf hash, both
    computed at append: the leaf commits to exactly these stored bytes, so
    verifying is hashing, never re-serialising. The body lives only there
    (`body` decodes it); the other columns repeat the content for queries and
    foreign keys, and `verify_ledger` checks that they still match it.

    INSERT only: database triggers (consent_ledger/triggers.py) refuse every
    UPDATE and DELETE. Its position in the log is a `LedgerLeaf` row beside
    it, so sequencing never rewrites an entry.
    """

    seq = models.BigAutoField(primary_key=True)
    id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=EntryKind.choices)
    # No index of their own (every read, and so every append, pays for each
    # index: issue 11): the subject's entries are found through
    # ledger_subject_kind_seq, whose first column it is, and no query looks
    # entries up by the recording agency alone (the entries are PROTECTed:
    # an agency with entries is never deleted).
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="ledger_entries", db_index=False)
    recorded_by = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+", db_index=False)
    actor = models.CharField(max_length=128, help_text="user:<pk> or client:<client_id>, never a name")
    recorded_at = models.DateTimeField()
    canonical = models.BinaryField(help_text="RFC 8785 bytes of the content: codes, ids, times and hashes only")
    leaf_hash = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["subject", "kind", "seq"], name="ledger_subject_kind_seq")]

    @cached_property
    def content(self) -> dict:
        return orjson.loads(self.canonical)

    @property
    def body(self) -> dict:
        return self.content["body"]

    @property
    def leaf_index(self) -> int | None:
        """Its index in the Merkle log, None until sequenced (a query unless
        loaded with select_related("leaf"))."""
        try:
            return self.leaf.leaf_index
        except LedgerLeaf.DoesNotExist:
            return None


class LedgerLeaf(models.Model):
    """An entry's position in the Merkle log, given by the sequencer (DESIGN.md
    4.4). INSERT only, like the entries: a narrow row, so sequencing a
    million entries writes a few dozen megabytes, not the entries again."""

    leaf_index = models.BigIntegerField(primary_key=True)
    # No foreign-key constraint in the database: its deferred check would be
    # most of the sequencer's work (about 10 µs a leaf). Every leaf's entry
    # comes from the queue, whose rows are checked at append; entries can
    # never be deleted (triggers); and verify_ledger finds a leaf without an
    # entry as a gap in the log.
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="leaf", db_constraint=False)


class LedgerPending(models.Model):
    """The sequencer's queue: one row per committed entry not yet in the log,
    written by ledger_append in the entry's transaction and deleted by the
    sequencer in the transaction that writes the entry's LedgerLeaf. An entry
    with neither row was tampered with; verify_ledger says so."""

    entry = models.OneToOneField(LedgerEntry, primary_key=True, on_delete=models.PROTECT, related_name="+")
    leaf_hash = models.CharField(max_length=64, help_text="the entry's, so sequencing never reads the entries")


class LedgerNote(models.Model):
    """Free text that belongs to an entry (a revocation reason, an emergency
    justification). The entry holds the text's sha256; the text may be erased."""

    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="note", to_field="id")
    text = models.TextField()


class Withholding(models.Model):
    """Categories an agency decided another agency must never receive about a
    subject: a referral's `withhold_categories` (DESIGN.md 4.3, "the
    supplier's withhold always holds"). The choke point applies every
    withholding on an agency to each of its reads of data it did not supply
    itself, whatever the purpose and whatever basis the ledger holds: the
    sender's judgment that the recipient must not have, say, the code word
    does not stop at the referral document."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+", help_text="withheld from")
    imposed_by = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    categories = models.JSONField()
    source = models.CharField(max_length=64, help_text="e.g. referral:<id>")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["subject", "agency"], name="withholding_subject_agency")]


class ProvisionKind(models.TextChoices):
    CONSENT = "consent"
    REFUSAL = "refusal"
    LEGAL_BASIS = "legal_basis"
    EMERGENCY = "emergency"


class Provision(models.Model):
    """Current-state projection of the ledger: one row per consent, refusal,
    legal basis or emergency disclosure, ended when revoked, withdrawn or ended.
    Written in the same transaction as the ledger entries it mirrors, so
    decisions read a subject's few provisions, never the whole ledger."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="provisions")
    kind = models.CharField(max_length=16, choices=ProvisionKind.choices)
    basis = models.CharField(max_length=32, choices=choices(LEGAL_BASES), blank=True)
    recipient_agencies = models.JSONField(default=list)
    recipient_kinds = models.JSONField(default=list)
    recipient_teams = models.JSONField(default=list)
    categories = models.JSONField()
    purposes = models.JSONField()
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    form = models.CharField(max_length=32, blank=True)
    grantor = models.CharField(max_length=32, blank=True)
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    recorded_by = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    granted_entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="+", to_field="id")
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_entry = models.OneToOneField(
        LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+", to_field="id"
    )
    expiry_warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["subject", "ended_at"], name="provision_subject_active")]

    @cached_property
    def reference(self) -> str:
        """A legal basis's reference (the statute, order or procedure record;
        a court's case signature may name the person): free text, so it
        lives only in the note beside the entry that asserted the basis,
        which erasure deletes; '' then, and for every other kind. A list
        sets it for all its rows in one query (selectors.references_load)."""
        if self.kind != ProvisionKind.LEGAL_BASIS:
            return ""
        return LedgerNote.objects.filter(entry_id=self.granted_entry_id).values_list("text", flat=True).first() or ""

    def is_active(self, at) -> bool:
        return (
            self.valid_from <= at
            and (self.valid_until is None or at < self.valid_until)
            and (self.ended_at is None or at < self.ended_at)
        )


class EmergencyReview(models.Model):
    """Every emergency (vital-interest) disclosure is reviewed afterwards by a
    supervisor or the DPO of the agency that recorded it."""

    provision = models.OneToOneField(Provision, on_delete=models.PROTECT, related_name="review")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    upheld = models.BooleanField(null=True)
    comment = models.TextField(blank=True)


class SequencerState(models.Model):
    """The one row the sequencer locks: only sequencing is serialised, never an
    append. `frontier` holds the roots of the perfect subtrees that make up the
    tree (RFC 9162 §2.1.1 split), largest first, hex: O(log n) state from which
    the next root is computed without reading old leaves."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    tree_size = models.BigIntegerField(default=0)
    frontier = models.JSONField(default=list)


class SigningKey(models.Model):
    """An Ed25519 key that signs checkpoints, and when it may (DESIGN.md 4.4;
    consent_ledger/keys.py). One key is current (retired_at is null); a
    rotation retires it at the moment the next one becomes valid, and a
    retired key signs no more: its private part is erased. The private part is
    kept only for a key the hub generated; an operator's key
    (LEDGER_SIGNING_KEY) stays in the environment, and only its public part,
    id and validity are recorded here."""

    key_name = models.CharField(max_length=255)
    # The signed-note key ID, hex: SHA-256(name || 0x0A || 0x01 || key)[:4],
    # what each signature line of a note names its key by.
    key_id = models.CharField(max_length=8, unique=True)
    private_key = models.BinaryField(null=True)
    public_key = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    valid_from = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # At most one current key: every current row has the same value
            # of this expression (true), so a second one is a duplicate.
            models.UniqueConstraint(
                models.ExpressionWrapper(models.Q(retired_at__isnull=True), output_field=models.BooleanField()),
                condition=models.Q(retired_at__isnull=True),
                name="signing_key_one_current",
            ),
        ]


class Checkpoint(models.Model):
    """A signed C2SP checkpoint of the log at `tree_size`; beside the log, not
    in it. The key that signed it is `key_id`; at a key rotation the tree is
    signed again, by the retiring key and the new one, and recorded under the
    new one (hence one checkpoint per size and key)."""

    tree_size = models.BigIntegerField()
    root_hash = models.CharField(max_length=64)
    key_name = models.CharField(max_length=255)
    key_id = models.CharField(max_length=8, help_text="the signing key's signed-note key ID (SigningKey.key_id)")
    note = models.TextField(help_text="the signed note text")
    created_at = models.DateTimeField()
    # The roots of the complete subtrees making up the tree at tree_size,
    # largest first, hex (what SequencerState.frontier was then). The signed
    # root authenticates it: a verifier that trusts this root extends the log
    # from here without reading its first tree_size leaves. [] on checkpoints
    # signed before frontiers were kept.
    frontier = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tree_size", "key_id"], name="checkpoint_size_key_unique")]


class MerkleNode(models.Model):
    """The hash of a complete subtree of the log: leaves [index * 2**height,
    (index + 1) * 2**height), for heights of LEDGER_NODE_MIN_HEIGHT and up,
    written by the sequencer as it completes them (about one row per 128
    leaves). Any proof then reads O(log n) nodes and at most a few hundred
    leaf hashes instead of the whole log. Derived data, INSERT only: a
    changed node can only yield a proof that fails to verify."""

    height = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["height", "index"], name="merkle_node_unique")]


class RevocationNotice(models.Model):
    """Tells an agency that received a person's data that consent to it was
    revoked (or a refusal recorded); the agency must acknowledge it. Notices
    left unacknowledged are escalated to the recording agency's DPO."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    provision = models.ForeignKey(Provision, on_delete=models.PROTECT, related_name="notices")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="revocation_notices")
    recorded_by = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    categories = models.JSONField()
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provision", "agency"], name="notice_once_per_agency")]


class VerificationRun(models.Model):
    """The result of one `verify_ledger` run (the command, the nightly task or a
    DPO's request), kept beside the log so its status page can say when the
    log was last proven intact. Counts and problem texts only: the problems
    name entry ids and checkpoint sizes, never person data."""

    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    tree_size = models.BigIntegerField()
    root_hash = models.CharField(max_length=64, blank=True, help_text="the root proven at tree_size; '' if not ok")
    checkpoints_checked = models.PositiveIntegerField()
    problems = models.JSONField(default=list)
    trigger = models.CharField(max_length=16)  # "command" | "schedule" | "page"

    class Meta:
        indexes = [models.Index(fields=["-finished_at"], name="verification_run_latest")]
