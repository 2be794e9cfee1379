"""The consent ledger at scale: fill, sequence, verify, decide, prove (issue 11, item 1).

    .venv/bin/python -m bench.ledger [--entries 100000] [--decisions 2000] [--seed 1]
                                     [--lag-rate 200] [--lag-seconds 20] [--json]

Creates a throwaway PostgreSQL database (BENCH_DATABASE_URL names the server
and a database to connect to for CREATE/DROP DATABASE; default
postgres://postgres@127.0.0.1:5432/postgres), migrates it with
hub.settings.bench, creates two OPS (the subjects' owners) and eight
recipient agencies of different kinds with OAuth2 clients through the
services, then, in this process:

1. fills the ledger with N entries (--entries) over N/10 subjects: each
   subject gets the same ten-step history (HISTORY), its recipients,
   categories and purposes drawn from a seeded random generator: three
   consents granted (one to an agency, one to an agency kind, one to an
   agency and valid for a year), a refusal, the first consent revoked with a
   reason, and five reads of the subject's profile by agencies holding a
   consent, each recorded as a `disclosure` entry. The last subject's history
   is cut short when N is not a multiple of ten (every prefix is a valid
   history). Batches of 1000 subjects (10 000 entries), one transaction each,
   so the fill's memory stays flat in N (what grows is the list of subject
   ids to sample from);
2. sequences that backlog with consent_ledger.sequencer.ledger_sequence_all
   (batches of LEDGER_SEQUENCER_BATCH, a signed checkpoint per batch) and
   reports entries/s and the seconds a backlog of a million would take at
   that rate (measured when N is a million);
3. verifies the log with consent_ledger.verify.verify_ledger (its default
   jobs) and reports entries/s; then verifies incrementally from the first
   checkpoint at or past half the log (from_checkpoint, trusting its root)
   and reports the new entries verified per second; a log that does not
   verify fails the run;
4. measures decisions on random subjects as the choke point makes them
   (consent_ledger.disclosure._Context): selectors.provisions_in_force (the
   one query), selectors.recipient_of and decisions.decide for one category
   and purpose. Measured after the first 10 000 entries (while filling) and
   again at N, so one run gives both figures of the issue's target;
5. serves an inclusion proof (a random leaf) and a consistency proof (from
   the first checkpoint at or past half the log) at the final tree size with
   consent_ledger.proofs, checks them against the signed roots, reports their
   sizes and the time to serve 50 of each (random leaves, random first
   sizes); reports the size on disk of the entries (with their notes), the
   leaves, the sequencer's queue (as filled, and once sequenced and
   vacuumed), the Merkle nodes, the checkpoints and the projection, scaled
   to a million entries;
6. measures the sequencing lag: for --lag-seconds (20) the benchmark appends
   --lag-rate (200) disclosure entries a second through ledger_append (four
   threads, as from concurrent requests), each in its own transaction and
   nudging the sequencer on commit, while the sequencer runs as in
   production (see sequencing_lag_measure) and the main thread samples the
   age of the oldest unsequenced entry every 50 ms; reports its p99 and
   maximum. These entries come after every other figure;
7. prints one table, each figure beside the issue's target (with --json: one
   JSON object on stdout, everything else on stderr).

What goes through the services, what is bulk, and why they are the same
-----------------------------------------------------------------------
The first --service-subjects subjects (100) live their histories through the
real services, row by row: subject_create, consent_grant, refusal_record,
consent_revoke and the choke point's disclose (the call SubjectDetailApi
makes), each in its own transaction, with a request id set as the request-id
middleware does. The others are bulk: per batch, Subject, SubjectReference,
LedgerEntry, LedgerPending, LedgerNote and Provision rows are built in memory
and written with bulk_create in that (foreign-key) order. Each row holds what
the service would have written:

- an entry is built as ledger_append builds it, by ledger.entry_build (kind,
  subject, recording agency, actor label, recorded_at = timezone.now() in
  UTC, body with a note's sha256 under "note_sha256"): the same RFC 8785
  canonical bytes and leaf hash; and, as ledger_append queues it for the
  sequencer, a LedgerPending row;
- consent and refusal bodies are services._terms_body of the terms plus form,
  grantor and evidence, as services._record_provision makes them; the terms
  are drawn already in the form services._validated returns (sorted, without
  duplicates, valid_from = now) and every recipient is an agency of this run;
- a revocation body names the consent's entry ("provision_entry"), with the
  reason as a LedgerNote beside it, as services._end writes it;
- a disclosure is decided and its body built by the choke point's own code:
  disclosure._Context.decide (categories present, decide, prune) and
  disclosure._disclosure_body. Only the context's two reads are served from
  memory instead of the database: the subject's provisions not ended at that
  moment (what provisions_in_force selects; they are this batch's rows) and
  the withholdings imposed on the reader (none: only referrals impose them);
- a Provision row has the fields services._provision sets; a revoked one is
  written in its final state (ended_at = the revocation's recorded_at,
  ended_entry = it), which is what the service's create and later
  save(update_fields=...) leave.

What bulk skips: the row locks (select_for_update) and the look-ups that
check input (nothing else writes to this database meanwhile, and the input is
generated valid); the sequencer nudge (the benchmark sequences explicitly in
step 2); and the revocation notices and their outbox events, which are
neither ledger nor projection and which no decision, proof or verification
reads. The service subjects have those.

Three checks turn "the same" into evidence, and a failed one exits 1:
verify_ledger rehashes every entry's stored canonical bytes and checks its
columns against them (step 3); the projection must mirror the ledger (one
Provision per consent or refusal entry, of the same subject, one ended per
revocation); and the bodies of the first 100 bulk subjects' entries must have
the same structure (their JSON keys, per entry kind) as those the services
wrote in this run, so a service whose body changes without this file shows up
here.

Not a test: CI never runs it, and a figure below its target (verification
>= 300 000 entries/s; sequencing >= 50 000 entries/s and a backlog of a
million cleared in < 20 s; sequencing lag < 2 s at 200 appends/s; decision
p99 < 1 ms at a million entries and within 1.3x of the 10-thousand figure)
is reported as BELOW, never a failure. A log that does not verify, a failed
check above, entries left unsequenced after step 6 or a crash exit 1. The
database is dropped on the way out, on Ctrl-C or SIGTERM too. PostgreSQL,
this driver and anything else running share the machine's cores: compare runs
made on a quiet machine.
"""

import argparse
import hashlib
import json
import math
import os
import queue
import random
import secrets
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from unittest import mock

from bench.referrals import (
    _database_create,
    _database_drop,
    _database_url,
    _django_close,
    _django_setup,
)

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_ENTRIES = 100_000
DEFAULT_DECISIONS = 2000
SERVICE_SUBJECTS = 100
SUBJECTS_PER_BATCH = 1000
INSERT_BATCH = 2000  # rows per INSERT: PostgreSQL takes at most 65 535 parameters
DECISION_WARMUP = 50
PROOF_SAMPLES = 50  # proofs of each kind timed
LAG_RATE = 200  # appends/s while the sequencing lag is sampled (the load)
LAG_SECONDS = 20
LAG_SAMPLE_EVERY = 0.05  # s between samples of the oldest unsequenced entry's age
LAG_SUBJECTS = 1000  # subjects the lag step's reads are about
LAG_APPENDERS = 4  # threads appending, as concurrent requests do
SMALL_LEDGER = 10_000  # the reference size for decision latency
MILLION = 1_000_000

# Issue 11, "What to build" and its table of figures.
VERIFY_TARGET = 300_000  # entries/s
SEQUENCE_TARGET = 50_000  # entries/s, checkpoint signing included
BACKLOG_TARGET_S = 20.0  # to clear a backlog of a million entries
LAG_TARGET_S = 2.0  # oldest unsequenced entry's age at LAG_RATE appends/s
DECISION_P99_TARGET_MS = 1.0  # at a million entries
DECISION_GROWTH_TARGET = 1.3  # p99 at N over p99 at 10 thousand

# One subject's history; one ledger entry per step.
HISTORY = ("grant", "grant", "read", "refuse", "read", "grant", "read", "revoke", "read", "read")
ENTRIES_PER_SUBJECT = len(HISTORY)

OWNER_KIND = "ops"
RECIPIENT_KINDS = ("pcpr", "ngo", "shelter", "police", "health", "school", "labour_office", "court")
PURPOSE_POOL = ("referral", "case_coordination", "team_plan")
# Every consent covers identity (so every read releases something) and a few of these.
CATEGORY_POOL = ("contact", "safe_contact", "demographics", "health", "mental_health", "case_notes", "risk", "children")
REFUSED_CATEGORIES = ("contact", "safe_contact", "health", "mental_health")
REVOCATION_REASON = "Osoba wycofała zgodę na spotkaniu w ośrodku."
GIVEN_NAMES = ("Anna", "Maria", "Katarzyna", "Joanna", "Ewa", "Agnieszka")
FAMILY_NAMES = ("Nowak", "Kowalska", "Wiśniewska", "Wójcik", "Kamińska", "Lewandowska")


# --- the agencies and what a subject goes through --------------------------------


@dataclass(frozen=True)
class World:
    owners: list  # Caller per OPS
    recipients: list  # Caller per recipient agency, one per kind in RECIPIENT_KINDS
    by_kind: dict  # agency kind -> Caller
    profiles: list[dict]  # subject profiles, each validated against the subject schema
    profile_schema: str  # the subject schema's $id


def world_create() -> World:
    """Through the services: the agencies, an OAuth2 client each (whose
    client id is the entries' actor label), and the profiles, validated once."""
    from agencies.callers import Caller
    from agencies.services import agency_create, client_create
    from consent_ledger.services import SUBJECT_SCHEMA
    from schemas.registry import get_registry

    def caller(name: str, kind: str) -> Caller:
        agency = agency_create(name=name, kind=kind)
        issued = client_create(agency=agency, scopes=["subjects:read", "subjects:write", "consents:write"])
        return Caller(agency=agency, application=issued.application)

    owners = [caller(f"MOPS Benchmark {n}", OWNER_KIND) for n in (1, 2)]
    recipients = [caller(f"Benchmark {kind}", kind) for kind in RECIPIENT_KINDS]
    registry = get_registry()
    profiles = []
    for n, (given, family) in enumerate((g, f) for g in GIVEN_NAMES for f in FAMILY_NAMES):
        profile = {
            "person": {"given_name": given, "family_name": family, "birth_date": f"19{60 + n % 40}-0{1 + n % 9}-1{n % 10}"},
            "contact": {"phone": f"+48 600 {100 + n:03d} {200 + n:03d}"},
            "safe_contact": {"channel": "sms", "codeword": "konwalia"},
            "languages": ["pl"],
        }
        problems = registry.validate(SUBJECT_SCHEMA, profile)
        if problems:
            raise SystemExit(f"bench profile does not match the subject schema: {problems}")
        profiles.append(profile)
    return World(
        owners=owners, recipients=recipients, by_kind=dict(zip(RECIPIENT_KINDS, recipients)),
        profiles=profiles, profile_schema=registry.schema_id(SUBJECT_SCHEMA),
    )


@dataclass(frozen=True)
class Grant:
    terms: object  # consent_ledger.services.Terms, normalised, without times
    form: str
    grantor: str
    evidence_sha256: str
    valid_days: int | None = None


@dataclass(frozen=True)
class Refuse:
    terms: object
    form: str
    grantor: str


@dataclass(frozen=True)
class Read:
    reader: object  # Caller
    purpose: str


@dataclass(frozen=True)
class Revoke:
    grant: int  # which grant of the history, in order
    reason: str


@dataclass(frozen=True)
class SubjectPlan:
    external_ref: str
    owner: object  # Caller
    profile: dict
    steps: tuple


def _plan(rng: random.Random, world: World, index: int) -> SubjectPlan:
    """HISTORY with its recipients, categories and purposes drawn. A read is
    made by an agency a consent in force names, for a purpose it covers (the
    API would refuse anyone else: no basis, no subject)."""
    from consent_ledger.services import Terms

    def terms(**recipients) -> Terms:
        categories = sorted({"identity", *rng.sample(CATEGORY_POOL, rng.randint(2, 5))})
        purposes = sorted(rng.sample(PURPOSE_POOL, rng.randint(1, 2)))
        return Terms(categories=categories, purposes=purposes, **recipients)

    def evidence(n: int) -> str:
        return hashlib.sha256(f"signed consent form {index}/{n}".encode()).hexdigest()

    first, third, refused = rng.sample(world.recipients, 3)
    kind = rng.choice(RECIPIENT_KINDS)
    grants = [
        Grant(terms(agencies=[str(first.agency.id)]), "written", "subject", evidence(0)),
        Grant(terms(agency_kinds=[kind]), "electronic", "subject", evidence(1)),
        Grant(terms(agencies=[str(third.agency.id)]), "written", "legal_guardian", evidence(2), valid_days=365),
    ]
    readers = [first, world.by_kind[kind], third]

    def read(n: int) -> Read:
        return Read(readers[n], rng.choice(grants[n].terms.purposes))

    refusal = Terms(
        categories=[rng.choice(REFUSED_CATEGORIES)], purposes=list(PURPOSE_POOL), agencies=[str(refused.agency.id)]
    )
    steps = (
        grants[0], grants[1], read(0), Refuse(refusal, "verbal_witnessed", "subject"), read(1),
        grants[2], read(2), Revoke(0, REVOCATION_REASON), read(1), read(2),
    )
    assert len(steps) == len(HISTORY)
    return SubjectPlan(
        external_ref=f"BENCH/{index:07d}", owner=world.owners[index % len(world.owners)],
        profile=world.profiles[index % len(world.profiles)], steps=steps,
    )


def _play(writer, plan: SubjectPlan, length: int):
    """The first `length` steps of a subject's history, through `writer`;
    returns the subject."""
    from hub.api.request_id import current_request_id

    subject = writer.subject(plan)
    grants = []
    for step in plan.steps[:length]:
        if isinstance(step, Grant):
            grants.append(writer.grant(subject, plan.owner, step))
        elif isinstance(step, Refuse):
            writer.refuse(subject, plan.owner, step)
        elif isinstance(step, Revoke):
            writer.revoke(grants[step.grant], plan.owner, step.reason)
        else:
            # A read comes in a request: its disclosure entry carries the request id.
            token = current_request_id.set(str(uuid.uuid4()))
            try:
                writer.read(subject, step.reader, step.purpose)
            finally:
                current_request_id.reset(token)
    return subject


def _timed(terms, valid_days: int | None):
    from django.utils import timezone

    return replace(terms, valid_until=timezone.now() + timedelta(days=valid_days) if valid_days else None)


class ServiceWriter:
    """The real services, one transaction per step."""

    def subject(self, plan: SubjectPlan):
        from consent_ledger.services import subject_create

        return subject_create(caller=plan.owner, external_ref=plan.external_ref, profile=plan.profile)

    def grant(self, subject, caller, step: Grant):
        from consent_ledger.services import consent_grant

        return consent_grant(
            caller=caller, subject_id=subject.id, terms=_timed(step.terms, step.valid_days),
            form=step.form, grantor=step.grantor, evidence_sha256=step.evidence_sha256,
        )

    def refuse(self, subject, caller, step: Refuse):
        from consent_ledger.services import refusal_record

        return refusal_record(caller=caller, subject_id=subject.id, terms=step.terms, form=step.form, grantor=step.grantor)

    def revoke(self, provision, caller, reason: str):
        from consent_ledger.services import consent_revoke

        return consent_revoke(caller=caller, consent_id=provision.id, reason=reason)

    def read(self, subject, caller, purpose: str):
        from consent_ledger.disclosure import disclose

        return disclose(subject=subject, caller=caller, purpose=purpose, document=subject.profile, schema=subject.profile_schema)


class BulkWriter:
    """The same rows as ServiceWriter, built in memory and written by
    `flush` with bulk_create (see the module docstring for why they are the
    same)."""

    def __init__(self, world: World):
        self.world = world
        self.subjects, self.references, self.entries, self.pending, self.notes, self.provisions = [], [], [], [], [], []
        self._provisions_of: dict = {}  # subject id -> its Provision rows so far

    def subject(self, plan: SubjectPlan):
        from consent_ledger.models import Subject, SubjectReference

        subject = Subject(owner=plan.owner.agency, profile=plan.profile, profile_schema=self.world.profile_schema)
        self.subjects.append(subject)
        self.references.append(SubjectReference(subject=subject, agency=plan.owner.agency, external_ref=plan.external_ref))
        self._provisions_of[subject.id] = []
        return subject

    def _append(self, *, kind: str, subject, caller, body: dict, note: str = ""):
        """consent_ledger.ledger.ledger_append, without the INSERTs (flush
        does them) and without the sequencer nudge (the benchmark sequences):
        the entry built by ledger.entry_build (its canonical bytes and leaf
        hash), its LedgerPending row, its note."""
        from datetime import UTC

        from django.utils import timezone

        from consent_ledger.ledger import entry_build, sha256_text
        from consent_ledger.models import LedgerNote, LedgerPending

        if note:
            body = {**body, "note_sha256": sha256_text(note)}
        entry = entry_build(
            kind=kind, subject_id=subject.pk, recorded_by_id=caller.agency.pk, actor=caller.actor_label,
            recorded_at=timezone.now().astimezone(UTC), body=body,
        )
        self.entries.append(entry)
        self.pending.append(LedgerPending(entry=entry, leaf_hash=entry.leaf_hash))
        if note:
            self.notes.append(LedgerNote(entry=entry, text=note))
        return entry

    def _provision(self, *, subject, caller, kind: str, entry_kind: str, terms, form: str, grantor: str, evidence: str):
        """services._record_provision and services._provision, in memory."""
        from django.utils import timezone

        from consent_ledger.models import Provision, ProvisionKind
        from consent_ledger.services import _terms_body

        terms = replace(terms, valid_from=terms.valid_from or timezone.now())  # as services._validated
        body = {**_terms_body(terms), "form": form, "grantor": grantor, "evidence_sha256": evidence}
        entry = self._append(kind=entry_kind, subject=subject, caller=caller, body=body)
        provision = Provision(
            subject=subject, kind=kind, recipient_agencies=terms.agencies, recipient_kinds=terms.agency_kinds,
            recipient_teams=terms.teams, categories=terms.categories, purposes=terms.purposes,
            valid_from=terms.valid_from, valid_until=terms.valid_until, recorded_by=caller.agency,
            granted_entry=entry, basis="consent" if kind == ProvisionKind.CONSENT else "",
            form=form, grantor=grantor, evidence_sha256=evidence,
        )
        self.provisions.append(provision)
        self._provisions_of[subject.id].append(provision)
        return provision

    def grant(self, subject, caller, step: Grant):
        from consent_ledger.models import EntryKind, ProvisionKind

        return self._provision(
            subject=subject, caller=caller, kind=ProvisionKind.CONSENT, entry_kind=EntryKind.CONSENT_GRANTED,
            terms=_timed(step.terms, step.valid_days), form=step.form, grantor=step.grantor, evidence=step.evidence_sha256,
        )

    def refuse(self, subject, caller, step: Refuse):
        from consent_ledger.models import EntryKind, ProvisionKind

        return self._provision(
            subject=subject, caller=caller, kind=ProvisionKind.REFUSAL, entry_kind=EntryKind.REFUSAL_RECORDED,
            terms=step.terms, form=step.form, grantor=step.grantor, evidence="",
        )

    def revoke(self, provision, caller, reason: str):
        """services._end: the revocation entry, and the provision's end."""
        from consent_ledger.models import EntryKind

        entry = self._append(
            kind=EntryKind.CONSENT_REVOKED, subject=provision.subject, caller=caller,
            body={"provision_entry": str(provision.granted_entry_id)}, note=reason,
        )
        provision.ended_at, provision.ended_entry = entry.recorded_at, entry
        return provision

    def read(self, subject, caller, purpose: str):
        """disclosure.disclose_together for one part, its two reads served from memory."""
        from consent_ledger.disclosure import Part, _Context, _disclosure_body
        from consent_ledger.models import EntryKind

        context = _Context(subject, caller, purpose)
        # What provisions_in_force and withheld_from would select (cached_property: set first, never read).
        context.provisions = [
            p for p in self._provisions_of[subject.id] if p.ended_at is None or p.ended_at > context.now
        ]
        context.withheld_from_caller = set()
        release = context.decide(Part(subject.profile, subject.profile_schema))
        body = _disclosure_body(caller, purpose, [release])
        return self._append(kind=EntryKind.DISCLOSURE, subject=subject, caller=caller, body=body)

    def flush(self) -> None:
        """INSERT everything, parents first: an entry's seq (its pending
        row's key) comes back from its INSERT."""
        from consent_ledger.models import (
            LedgerEntry,
            LedgerNote,
            LedgerPending,
            Provision,
            Subject,
            SubjectReference,
        )

        for model, rows in (
            (Subject, self.subjects), (SubjectReference, self.references), (LedgerEntry, self.entries),
            (LedgerPending, self.pending), (LedgerNote, self.notes), (Provision, self.provisions),
        ):
            model.objects.bulk_create(rows, batch_size=INSERT_BATCH)


# --- 1. fill ---------------------------------------------------------------------


@dataclass
class Filled:
    """Where the fill stands after a batch."""

    entries: int
    seconds: float
    subject_ids: list = field(default_factory=list)  # every subject so far, in order
    service_subject_ids: list = field(default_factory=list)


def ledger_fill(
    world: World, *, entries: int, seed: int = 1, service_subjects: int = SERVICE_SUBJECTS,
    subjects_per_batch: int = SUBJECTS_PER_BATCH,
) -> Iterator[Filled]:
    """Append `entries` entries over ceil(entries / 10) subjects. Yields one
    Filled, updated in place, after the service subjects and after each bulk
    batch (batch boundaries fall on multiples of `subjects_per_batch`
    subjects, counting the service ones)."""
    from django.db import transaction

    rng = random.Random(seed)
    subjects = math.ceil(entries / ENTRIES_PER_SUBJECT)
    filled = Filled(entries=0, seconds=0.0)
    started = time.perf_counter()

    def length(index: int) -> int:
        return min(ENTRIES_PER_SUBJECT, entries - index * ENTRIES_PER_SUBJECT)

    service_subjects = min(service_subjects, subjects)
    for index in range(service_subjects):
        subject = _play(ServiceWriter(), _plan(rng, world, index), length(index))
        filled.service_subject_ids.append(subject.id)
        filled.subject_ids.append(subject.id)
        filled.entries += length(index)
    if service_subjects:
        filled.seconds = time.perf_counter() - started
        yield filled
    index = service_subjects
    while index < subjects:
        end = min(subjects, (index // subjects_per_batch + 1) * subjects_per_batch)
        writer = BulkWriter(world)
        with transaction.atomic():
            for i in range(index, end):
                filled.subject_ids.append(_play(writer, _plan(rng, world, i), length(i)).id)
                filled.entries += length(i)
            writer.flush()
        index = end
        filled.seconds = time.perf_counter() - started
        yield filled


def projection_problems() -> list[str]:
    """The projection mirrors the ledger: one Provision per consent or refusal
    entry, of that entry's subject, and one ended per revocation."""
    from django.db.models import F

    from consent_ledger.models import EntryKind, LedgerEntry, Provision

    def entries(*kinds) -> int:
        return LedgerEntry.objects.filter(kind__in=kinds).count()

    problems = []
    granted, provisions = entries(EntryKind.CONSENT_GRANTED, EntryKind.REFUSAL_RECORDED), Provision.objects.count()
    if granted != provisions:
        problems.append(f"{granted} consent and refusal entries but {provisions} provisions")
    ended, ends = Provision.objects.filter(ended_entry__isnull=False).count(), entries(EntryKind.CONSENT_REVOKED)
    if ended != ends:
        problems.append(f"{ends} revocation entries but {ended} ended provisions")
    astray = Provision.objects.exclude(subject_id=F("granted_entry__subject_id")).count()
    if astray:
        problems.append(f"{astray} provisions of another subject than their entry's")
    return problems


def _key_paths(value, prefix: str = "") -> set[str]:
    """The JSON object keys in a body, as paths (list items share one path)."""
    if isinstance(value, dict):
        return {prefix + "/" + k for k in value} | {p for k, v in value.items() for p in _key_paths(v, prefix + "/" + k)}
    if isinstance(value, list):
        return {p for item in value for p in _key_paths(item, prefix + "[]")}
    return set()


def bulk_shape_problems(service_subject_ids: list, bulk_subject_ids: list) -> list[str]:
    """Per entry kind, the bodies the bulk writer made have the same keys as
    those the services made in this run."""
    from consent_ledger.models import LedgerEntry

    def shapes(subject_ids) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        rows = LedgerEntry.objects.filter(subject_id__in=subject_ids).only("kind", "canonical")
        for entry in rows.iterator(chunk_size=INSERT_BATCH):
            found.setdefault(entry.kind, set()).update(_key_paths(entry.body))
        return found

    by_services, in_bulk = shapes(service_subject_ids), shapes(bulk_subject_ids)
    problems = []
    for kind in sorted(by_services.keys() & in_bulk.keys()):
        if by_services[kind] != in_bulk[kind]:
            only_services = sorted(by_services[kind] - in_bulk[kind])
            only_bulk = sorted(in_bulk[kind] - by_services[kind])
            problems.append(f"{kind} bodies differ: only from the services {only_services}, only in bulk {only_bulk}")
    return problems


def database_analyze() -> None:
    """What autovacuum would have done for tables that grew gradually: fresh
    planner statistics, so that the plans measured are a live system's."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


# --- 2. sequence, 3. verify ------------------------------------------------------------


@dataclass
class Rate:
    entries: int
    seconds: float
    detail: dict = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.entries / self.seconds if self.seconds else float("inf")

    @property
    def seconds_per_million(self) -> float:
        """The time a backlog of a million would take at this rate."""
        return self.seconds * MILLION / self.entries if self.entries else float("nan")


def ledger_sequence_measure() -> Rate:
    """ledger_sequence_all as the sequencer task runs it on a backlog of every
    entry filled: batches of LEDGER_SEQUENCER_BATCH, a signed checkpoint per
    batch."""
    from django.conf import settings

    from consent_ledger.models import Checkpoint
    from consent_ledger.proofs import current_tree_size
    from consent_ledger.sequencer import ledger_sequence_all

    size_before, checkpoints_before = current_tree_size(), Checkpoint.objects.count()
    started = time.perf_counter()
    size = ledger_sequence_all()
    seconds = time.perf_counter() - started
    detail = {"checkpoints": Checkpoint.objects.count() - checkpoints_before, "batch": settings.LEDGER_SEQUENCER_BATCH}
    return Rate(size - size_before, seconds, detail)


def ledger_verify_measure():
    """(Rate, VerifyReport) of verify_ledger over the whole log, as the command runs it."""
    from consent_ledger.verify import verify_ledger

    started = time.perf_counter()
    report = verify_ledger()
    seconds = time.perf_counter() - started
    return Rate(report.tree_size, seconds, {"checkpoints": report.checkpoints_checked, "ok": report.ok}), report


def ledger_verify_incremental_measure():
    """(Rate, VerifyReport) of verify_ledger from the first checkpoint at or
    past half the log, trusting its root (which the full run proved): the
    entries after it are what is verified."""
    from consent_ledger.models import Checkpoint
    from consent_ledger.proofs import current_tree_size
    from consent_ledger.verify import verify_ledger

    size = current_tree_size()
    trusted = Checkpoint.objects.filter(tree_size__gte=(size + 1) // 2).order_by("tree_size").first()
    started = time.perf_counter()
    report = verify_ledger(from_checkpoint=trusted.tree_size, trusted_root=trusted.root_hash)
    seconds = time.perf_counter() - started
    detail = {"from": trusted.tree_size, "to": report.tree_size, "ok": report.ok}
    return Rate(report.tree_size - trusted.tree_size, seconds, detail), report


# --- 4. decide -------------------------------------------------------------------------


@dataclass
class Latencies:
    entries: int  # ledger entries when measured
    samples: list[float]  # seconds
    permitted: int

    def percentile_ms(self, p: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")


def decision(subject_id, agency, category: str, purpose: str):
    """One decision as the choke point makes it (disclosure._Context): the
    subject's provisions in force (one query), the agency as a recipient
    (its teams looked up only if a provision names a team) and the engine."""
    from django.utils import timezone

    from consent_ledger.decisions import decide
    from consent_ledger.selectors import provisions_in_force, recipient_of

    now = timezone.now()
    provisions = provisions_in_force(subject_id, now)
    return decide(provisions, recipient_of(agency, provisions), [category], purpose, now)


def decisions_measure(subject_ids: list, agencies: list, *, samples: int, entries: int, rng: random.Random) -> Latencies:
    """`samples` decisions, each on a random subject, recipient, category and
    purpose, after DECISION_WARMUP unmeasured ones."""
    categories = ("identity", *CATEGORY_POOL)

    def draw():
        return rng.choice(subject_ids), rng.choice(agencies), rng.choice(categories), rng.choice(PURPOSE_POOL)

    for _ in range(DECISION_WARMUP):
        decision(*draw())
    latencies, permitted = [], 0
    for _ in range(samples):
        args = draw()
        started = time.perf_counter()
        result = decision(*args)
        latencies.append(time.perf_counter() - started)
        permitted += bool(result.permitted)
    return Latencies(entries, latencies, permitted)


# --- 5. proofs and sizes -------------------------------------------------------------------


def proofs_measure(rng: random.Random, *, samples: int = PROOF_SAMPLES) -> dict:
    """Proofs at the current tree size as the API serves them
    (consent_ledger.proofs): an inclusion proof for a random leaf and a
    consistency proof from the first checkpoint at or past half the log,
    their sizes, each checked against the checkpoints' roots (which
    verify_ledger checked against the signed notes); then the time to serve
    `samples` of each, at random leaves and random first sizes. An inclusion
    proof's time includes reading its entry by id, as the view does."""
    from consent_ledger.merkle import HASH_SIZE, verify_consistency, verify_inclusion
    from consent_ledger.models import Checkpoint, LedgerEntry, LedgerLeaf
    from consent_ledger.proofs import (
        consistency_proof_for,
        current_tree_size,
        inclusion_proof_for,
    )

    size = current_tree_size()
    root = bytes.fromhex(Checkpoint.objects.get(tree_size=size).root_hash)
    earlier = Checkpoint.objects.filter(tree_size__gte=(size + 1) // 2).order_by("tree_size").first()

    def inclusion_served(entry_id):
        started = time.perf_counter()
        proof = inclusion_proof_for(LedgerEntry.objects.get(id=entry_id), size)
        return proof, time.perf_counter() - started

    def consistency_served(first: int):
        started = time.perf_counter()
        proof = consistency_proof_for(first, size)
        return proof, time.perf_counter() - started

    def entry_id_at(leaf_index: int):
        return LedgerLeaf.objects.values_list("entry__id", flat=True).get(leaf_index=leaf_index)

    inclusion, _ = inclusion_served(entry_id_at(rng.randrange(size)))
    path = [bytes.fromhex(h) for h in inclusion["audit_path"]]
    consistency = [bytes.fromhex(h) for h in consistency_served(earlier.tree_size)[0]["proof"]]
    inclusion_times, all_verify = [], True
    for _ in range(samples):
        served, seconds = inclusion_served(entry_id_at(rng.randrange(size)))
        inclusion_times.append(seconds)
        all_verify &= verify_inclusion(
            bytes.fromhex(served["leaf_hash"]), served["leaf_index"], size,
            [bytes.fromhex(h) for h in served["audit_path"]], root,
        )
    consistency_times = [consistency_served(rng.randint(1, size))[1] for _ in range(samples)]
    return {
        "tree_size": size,
        "inclusion": {
            "leaf_index": inclusion["leaf_index"], "hashes": len(path), "bytes": len(path) * HASH_SIZE,
            "max_hashes": (size - 1).bit_length(),
            "verifies": all_verify and verify_inclusion(
                bytes.fromhex(inclusion["leaf_hash"]), inclusion["leaf_index"], size, path, root
            ),
            **_times_ms(inclusion_times),
        },
        "consistency": {
            "first": earlier.tree_size, "hashes": len(consistency), "bytes": len(consistency) * HASH_SIZE,
            "verifies": verify_consistency(earlier.tree_size, size, bytes.fromhex(earlier.root_hash), root, consistency),
            **_times_ms(consistency_times),
        },
    }


def _times_ms(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {
        "samples": len(ordered),
        "p50_ms": ordered[len(ordered) // 2] * 1000 if ordered else float("nan"),
        "max_ms": ordered[-1] * 1000 if ordered else float("nan"),
    }


def _table_groups() -> dict:
    """The tables whose size is reported, by what they hold."""
    from consent_ledger.models import (
        Checkpoint,
        LedgerEntry,
        LedgerLeaf,
        LedgerNote,
        LedgerPending,
        MerkleNode,
        Provision,
        SequencerState,
    )

    return {
        "entries": (LedgerEntry, LedgerNote),
        "leaves": (LedgerLeaf,),
        "pending": (LedgerPending,),
        "nodes": (MerkleNode,),
        "checkpoints": (Checkpoint, SequencerState),
        "projection": (Provision,),
    }


def ledger_sizes() -> dict | None:
    """Bytes on disk (tables, indexes, TOAST) of each group of tables in
    _table_groups, and of the whole database; None off PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None

    def total(*models) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sum(pg_total_relation_size(t::regclass)) FROM unnest(%s::text[]) AS t",
                [[m._meta.db_table for m in models]],
            )
            return int(cursor.fetchone()[0])

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        database = cursor.fetchone()[0]
    return {**{name: total(*models) for name, models in _table_groups().items()}, "database": database}


def pending_vacuum() -> None:
    """What autovacuum does after the sequencer's deletes: the emptied queue's
    pages are freed, so its size after sequencing is a live system's."""
    from django.db import connection

    from consent_ledger.models import LedgerPending

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {LedgerPending._meta.db_table}")


# --- 6. sequencing lag under a steady load ---------------------------------------------------


@dataclass
class Lag:
    appended: int
    seconds: float  # spent appending
    ages: list[float]  # the oldest unsequenced entry's age at each sample, s (0 when none)
    runs: int  # ledger_sequence_all runs, one per nudge
    checkpoints: int
    left_pending: int  # after the worker drained its nudges: must be 0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.ages)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def sequencing_lag_measure(subject_ids: list, callers: list, *, rate: float, seconds: float, rng: random.Random) -> Lag:
    """Append `rate` entries a second for `seconds` through ledger_append, one
    transaction each (a read's disclosure entry), while the sequencer runs as
    in production and this thread samples the age of the oldest unsequenced
    entry every LAG_SAMPLE_EVERY seconds. The appends come from LAG_APPENDERS
    threads, each at its share of the rate, as from concurrent requests; every
    thread has its own database connection.

    In production each commit's on_commit nudge (ledger._nudge_sequencer)
    publishes ledger_sequence_task with a countdown of
    LEDGER_SEQUENCER_INTERVAL, at most once per interval per process, and a
    Celery worker runs it, i.e. ledger_sequence_all, once per message when
    its countdown is up. Here the broker is a queue: the nudge's publish
    (apply_async, the boundary) puts the message's due time on it, and a
    worker thread (one worker, concurrency 1) runs ledger_sequence_all per
    message at that time. Under CELERY_TASK_ALWAYS_EAGER (the demo;
    BENCH_EAGER_TASKS=true) the nudge itself sequences inside each commit, as
    there, and the worker finds nothing left."""
    from consent_ledger.models import Checkpoint, EntryKind, LedgerEntry, LedgerPending
    from consent_ledger.tasks import ledger_sequence_task

    nudges: queue.Queue = queue.Queue()
    appended, runs, failures = [0] * LAG_APPENDERS, [0], []
    checkpoints_before = Checkpoint.objects.count()
    subjects = rng.sample(subject_ids, min(len(subject_ids), LAG_SUBJECTS))
    template = LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).only("canonical").first().body
    appenders = [
        threading.Thread(
            target=_in_own_connection(_appender, failures),
            args=(subjects, callers, template, rate / LAG_APPENDERS, seconds, appended, n, rng.random()),
        )
        for n in range(LAG_APPENDERS)
    ]
    worker = threading.Thread(target=_in_own_connection(_sequencer_worker, failures), args=(nudges, runs))
    worker.start()
    started = time.perf_counter()

    def publish(countdown=0, **_):
        nudges.put(time.perf_counter() + countdown)

    with mock.patch.object(ledger_sequence_task, "apply_async", side_effect=publish):
        for thread in appenders:
            thread.start()
            time.sleep(1 / rate)  # staggered: together they append evenly
        ages = []
        while any(thread.is_alive() for thread in appenders):
            ages.append(_oldest_unsequenced_age())
            time.sleep(LAG_SAMPLE_EVERY)
    appending = time.perf_counter() - started
    nudges.put(None)  # after every nudge: the worker drains them, then stops
    worker.join()
    if failures:
        raise failures[0]
    return Lag(
        appended=sum(appended), seconds=appending, ages=ages, runs=runs[0],
        checkpoints=Checkpoint.objects.count() - checkpoints_before, left_pending=LedgerPending.objects.count(),
    )


def _in_own_connection(work, failures: list):
    """`work` in a thread: its own connection, closed at the end; an exception kept for the caller."""

    def run(*args):
        from django.db import connection

        try:
            work(*args)
        except Exception as error:  # re-raised in the measuring thread
            failures.append(error)
        finally:
            connection.close()

    return run


def _appender(subject_ids, callers, template: dict, rate, seconds, appended, n, seed) -> None:
    """A disclosure entry per append, its body a read's of the fill with the
    caller and a request id of its own, through ledger_append in its own
    transaction, paced to `rate` a second (behind, it catches up without
    pausing); ledger_append's commit nudges the sequencer. Counts in appended[n]."""
    from django.db import transaction

    from consent_ledger.ledger import ledger_append
    from consent_ledger.models import EntryKind, Subject

    rng = random.Random(seed)
    subjects = list(Subject.objects.filter(pk__in=subject_ids))
    started = time.perf_counter()
    while (due := started + appended[n] / rate) < started + seconds:
        time.sleep(max(0.0, due - time.perf_counter()))
        caller = rng.choice(callers)
        body = {**template, "recipient": str(caller.agency.id), "request_id": str(uuid.uuid4())}
        with transaction.atomic():
            ledger_append(kind=EntryKind.DISCLOSURE, subject=rng.choice(subjects), caller=caller, body=body)
        appended[n] += 1


def _sequencer_worker(nudges, runs) -> None:
    from consent_ledger.sequencer import ledger_sequence_all

    while (due := nudges.get()) is not None:
        time.sleep(max(0.0, due - time.perf_counter()))  # the message's countdown
        ledger_sequence_all()
        runs[0] += 1


def _oldest_unsequenced_age() -> float:
    """Seconds since the oldest committed, unsequenced entry was recorded; 0
    when there is none. (Concurrent appenders commit out of seq order, so
    the oldest is found by its time.)"""
    from django.db.models import Min
    from django.utils import timezone

    from consent_ledger.models import LedgerPending

    oldest = LedgerPending.objects.aggregate(oldest=Min("entry__recorded_at"))["oldest"]
    return (timezone.now() - oldest).total_seconds() if oldest else 0.0


# --- the report --------------------------------------------------------------------------


def _mb_per_million(size: int, entries: int) -> float:
    return size * MILLION / entries / 2**20


def targets(result: dict) -> dict:
    """Each figure the issue sets a target for: its value, the target, and
    whether it meets it (reported, never enforced)."""
    n = result["entries"]
    sequencing, verification, lag = result["sequencing"], result["verification"], result["lag"]
    small, large = result["decisions"].get("small"), result["decisions"]["final"]

    def judged_as(value, target: str, meets: bool, entries: int = n) -> dict:
        return {"value": value, "entries": entries, "target": target, "meets": meets}

    judged = {
        "sequencing_entries_per_s": judged_as(
            sequencing["entries_per_s"], f">= {SEQUENCE_TARGET}", sequencing["entries_per_s"] >= SEQUENCE_TARGET
        ),
        "sequencing_backlog_s_per_million": judged_as(
            sequencing["seconds_per_million"], f"< {BACKLOG_TARGET_S:g} s for {MILLION}",
            sequencing["seconds_per_million"] < BACKLOG_TARGET_S,
        ),
        "verification_entries_per_s": judged_as(
            verification["entries_per_s"], f">= {VERIFY_TARGET}", verification["entries_per_s"] >= VERIFY_TARGET
        ),
        "decision_p99_ms": judged_as(
            large["p99_ms"], f"< {DECISION_P99_TARGET_MS:g} at {MILLION} entries", large["p99_ms"] < DECISION_P99_TARGET_MS
        ),
    }
    if lag:
        for name in ("p99_s", "max_s"):
            judged[f"sequencing_lag_{name}"] = judged_as(
                lag[name], f"< {LAG_TARGET_S:g} s at {lag['rate']:g} appends/s", lag[name] < LAG_TARGET_S
            )
    if small and small["entries"] < n:
        growth = large["p99_ms"] / small["p99_ms"]
        judged["decision_p99_growth"] = judged_as(
            growth, f"<= {DECISION_GROWTH_TARGET:g} x the figure at {small['entries']}", growth <= DECISION_GROWTH_TARGET
        )
    return judged


def _table(result: dict, judged: dict) -> str:
    n = result["entries"]
    rows: list[tuple[str, str, str, str]] = []  # figure, value, at entries, target and verdict

    def row(figure, value, at, target=""):
        rows.append((figure, value, f"{at:,}", target))

    def target(name: str, text: str) -> str:
        return f"{text}  {'PASS' if judged[name]['meets'] else 'BELOW'}"

    fill, s, v = result["fill"], result["sequencing"], result["verification"]
    row("fill (services + bulk)", f"{fill['entries_per_s']:,.0f} entries/s ({fill['seconds']:.1f} s)", n)
    row("sequencing, checkpoints signed", f"{s['entries_per_s']:,.0f} entries/s ({s['seconds']:.1f} s, "
        f"{s['checkpoints']} checkpoints, batch {s['batch']:,})", n,
        target("sequencing_entries_per_s", f">= {SEQUENCE_TARGET:,}/s"))
    scaled = "" if s["entries"] == MILLION else f" (scaled from {s['entries']:,})"
    row("sequencing a backlog of 1M", f"{s['seconds_per_million']:.1f} s{scaled}", n,
        target("sequencing_backlog_s_per_million", f"< {BACKLOG_TARGET_S:g} s"))
    row("verify_ledger", f"{v['entries_per_s']:,.0f} entries/s ({v['seconds']:.1f} s)", n,
        target("verification_entries_per_s", f">= {VERIFY_TARGET:,}/s"))
    i = result["verification_incremental"]
    row(f"verify_ledger from checkpoint {i['from']:,}", f"{i['entries_per_s']:,.0f} entries/s "
        f"({i['entries']:,} new entries in {i['seconds']:.2f} s)", n, "time proportional to the new entries")
    small, large = result["decisions"].get("small"), result["decisions"]["final"]
    for d in ([small] if "decision_p99_growth" in judged else []) + [large]:
        row("decision p50", f"{d['p50_ms']:.3f} ms ({d['samples']} samples, {d['permitted_share']:.0%} permit)", d["entries"])
        at_million = "" if n == MILLION else f" (at {MILLION:,})"
        p99_target = target("decision_p99_ms", f"< {DECISION_P99_TARGET_MS:g} ms{at_million}") if d is large else ""
        row("decision p99", f"{d['p99_ms']:.3f} ms", d["entries"], p99_target)
    if "decision_p99_growth" in judged:
        row(f"decision p99 at {n:,} / at {small['entries']:,}", f"{judged['decision_p99_growth']['value']:.2f}x", n,
            target("decision_p99_growth", f"<= {DECISION_GROWTH_TARGET:g}x"))
    p = result["proofs"]
    inc, con = p["inclusion"], p["consistency"]
    row("inclusion proof", f"{inc['hashes']} hashes, {inc['bytes']} bytes (at most {inc['max_hashes']}); served in "
        f"{inc['p50_ms']:.1f} ms p50, {inc['max_ms']:.1f} ms max ({inc['samples']} random leaves)", p["tree_size"])
    row(f"consistency proof from {con['first']:,}", f"{con['hashes']} hashes, {con['bytes']} bytes; served in "
        f"{con['p50_ms']:.1f} ms p50, {con['max_ms']:.1f} ms max ({con['samples']} random first sizes)", p["tree_size"])
    _size_rows(result["sizes"], row, n)
    lag = result["lag"]
    if lag:
        at = f"{lag['rate']:g} appends/s"
        row("sequencing lag p99", f"{lag['p99_s']:.2f} s ({lag['samples']} samples over {lag['seconds']:.0f} s, "
            f"{lag['appended']:,} appended at {lag['appends_per_s']:.0f}/s, {lag['sequencer']})", n,
            target("sequencing_lag_p99_s", f"< {LAG_TARGET_S:g} s at {at}"))
        row("sequencing lag max", f"{lag['max_s']:.2f} s ({lag['runs']:,} sequencer runs, {lag['checkpoints']:,} "
            "checkpoints)", n, target("sequencing_lag_max_s", f"< {LAG_TARGET_S:g} s at {at}"))
    header = ("figure", "value", "entries", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    return "\n".join(
        f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}  {d}".rstrip() for a, b, c, d in [header, *rows]
    )


def _size_rows(sizes: dict | None, row, n: int) -> None:
    if not sizes:
        return
    filled, sequenced = sizes["filled_mb_per_million"], sizes["sequenced_mb_per_million"]
    for name, label in _SIZE_NAMES.items():
        if name == "pending":
            value = f"{filled[name]:,.1f} MB as filled (the backlog), {sequenced[name]:,.1f} MB once sequenced"
        else:
            value = f"{sequenced[name]:,.1f} MB"
        row(f"{label} per 1M entries", value, n)
    row("database growth per 1M entries", f"{sizes['database_mb_per_million']:,.0f} MB", n)


_SIZE_NAMES = {
    "entries": "entries (with notes)",
    "leaves": "leaves",
    "pending": "pending (sequencer queue)",
    "nodes": "Merkle nodes",
    "checkpoints": "checkpoints",
    "projection": "projection (provisions)",
}


def _latency_summary(latencies: Latencies) -> dict:
    return {
        "entries": latencies.entries, "samples": len(latencies.samples),
        "p50_ms": latencies.percentile_ms(0.50), "p99_ms": latencies.percentile_ms(0.99),
        "permitted_share": latencies.permitted / len(latencies.samples) if latencies.samples else 0.0,
    }


def _header(args) -> str:
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    return (
        f"ledger benchmark: {args.entries:,} entries over {math.ceil(args.entries / ENTRIES_PER_SUBJECT):,} subjects "
        f"({min(args.service_subjects, math.ceil(args.entries / ENTRIES_PER_SUBJECT))} through the services, "
        f"the rest in bulk), PostgreSQL {pg}, sequencer batch {settings.LEDGER_SEQUENCER_BATCH}, "
        f"{args.decisions} decisions per measurement, seed {args.seed}, {os.cpu_count()} CPU(s) shared with PostgreSQL, "
        f"{_load()}"
    )


def _load() -> str:
    """Anything else running shifts every figure (p99 most): say how busy the machine was."""
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


# --- main --------------------------------------------------------------------------------


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES, help=f"ledger entries to fill ({DEFAULT_ENTRIES})")
    parser.add_argument("--decisions", type=int, default=DEFAULT_DECISIONS, help=f"decisions per measurement ({DEFAULT_DECISIONS})")
    parser.add_argument("--seed", type=int, default=1, help="seed of the histories and samples (1)")
    parser.add_argument("--service-subjects", type=int, default=SERVICE_SUBJECTS,
                        help=f"subjects whose history goes through the services row by row ({SERVICE_SUBJECTS})")
    parser.add_argument("--lag-rate", type=float, default=LAG_RATE,
                        help=f"appends/s while the sequencing lag is sampled ({LAG_RATE})")
    parser.add_argument("--lag-seconds", type=float, default=LAG_SECONDS,
                        help=f"how long to append and sample; 0 skips the step ({LAG_SECONDS})")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout; progress and table on stderr")
    args = parser.parse_args(argv)
    if args.entries < 1 or args.decisions < 1 or args.service_subjects < 0:
        parser.error("--entries and --decisions must be positive, --service-subjects not negative")
    if args.lag_rate <= 0 or args.lag_seconds < 0:
        parser.error("--lag-rate must be positive, --lag-seconds not negative")
    return args


def _fill_measured(args, world, rng, say):
    """Step 1, with the decisions at SMALL_LEDGER entries measured on the way
    (their time is not the fill's). Returns (Filled, fill seconds, the first
    bulk subjects' ids, the decisions measured)."""
    agencies = [c.agency for c in world.recipients]
    decisions, last_said, filled, bulk_ids, measuring = {}, 0.0, None, [], 0.0
    for filled in ledger_fill(world, entries=args.entries, seed=args.seed, service_subjects=args.service_subjects):
        if not bulk_ids and len(filled.subject_ids) > len(filled.service_subject_ids):
            bulk_ids = filled.subject_ids[len(filled.service_subject_ids):][:SERVICE_SUBJECTS]
        if "small" not in decisions and SMALL_LEDGER <= filled.entries < args.entries:
            started = time.perf_counter()
            database_analyze()
            decisions["small"] = decisions_measure(
                filled.subject_ids, agencies, samples=args.decisions, entries=filled.entries, rng=rng
            )
            measuring = time.perf_counter() - started
            d = _latency_summary(decisions["small"])
            say(f"  decisions at {filled.entries:,} entries: p50 {d['p50_ms']:.3f} ms, p99 {d['p99_ms']:.3f} ms")
        if filled.seconds - last_said >= 30 or filled.entries == args.entries:
            last_said = filled.seconds
            say(f"  filled {filled.entries:,} / {args.entries:,} entries ({filled.seconds - measuring:.0f} s)")
    return filled, filled.seconds - measuring, bulk_ids, decisions


def _rate_summary(rate: Rate) -> dict:
    return {"entries": rate.entries, "seconds": rate.seconds, "entries_per_s": rate.per_second,
            "seconds_per_million": rate.seconds_per_million, **rate.detail}


def _lag_summary(lag: Lag, rate: float) -> dict:
    from django.conf import settings

    eager = settings.CELERY_TASK_ALWAYS_EAGER
    return {
        "rate": rate, "appended": lag.appended, "seconds": lag.seconds, "appends_per_s": lag.appended / lag.seconds,
        "samples": len(lag.ages), "p99_s": lag.percentile(0.99), "max_s": max(lag.ages, default=0.0),
        "runs": lag.runs, "checkpoints": lag.checkpoints,
        "sequencer": "eager: in each append's commit" if eager else "a worker thread, ledger_sequence_all per nudge",
    }


def _sizes_summary(filled: dict, final: dict, baseline: dict, entries: int) -> dict:
    return {
        "filled_bytes": {name: filled[name] for name in _SIZE_NAMES},
        "sequenced_bytes": {name: final[name] for name in _SIZE_NAMES},
        "filled_mb_per_million": {name: _mb_per_million(filled[name], entries) for name in _SIZE_NAMES},
        "sequenced_mb_per_million": {name: _mb_per_million(final[name], entries) for name in _SIZE_NAMES},
        "database_growth_bytes": final["database"] - baseline["database"],
        "database_mb_per_million": _mb_per_million(final["database"] - baseline["database"], entries),
    }


def _verified(entries: int, say) -> tuple[Rate, Rate, list[str]]:
    """Step 3: the whole log, then from the checkpoint at half of it; and
    what either found wrong."""
    whole, report = ledger_verify_measure()
    say(f"  verified {whole.entries:,} entries in {whole.seconds:.1f} s: {'ok' if report.ok else 'BROKEN'}")
    problems = _verify_problems(report, "verify_ledger", entries)
    incremental, report = ledger_verify_incremental_measure()
    say(f"  verified {incremental.entries:,} entries from checkpoint {incremental.detail['from']:,} in "
        f"{incremental.seconds:.2f} s: {'ok' if report.ok else 'BROKEN'}")
    problems += _verify_problems(report, "verify_ledger from a checkpoint", entries)
    return whole, incremental, problems


def _verify_problems(report, label: str, expected_size: int) -> list[str]:
    problems = [f"{label}: {p}" for p in report.problems]
    if report.tree_size != expected_size:
        problems.append(f"{label} found {report.tree_size} sequenced entries, {expected_size} were appended")
    return problems


def run(args, say: Callable[[str], None]) -> tuple[dict, list[str]]:
    """Steps 1-6 on the configured database; returns the figures and the
    problems that make the run fail."""
    rng = random.Random(args.seed + 1)  # the samples' own stream, apart from the histories'
    world = world_create()
    agencies = [c.agency for c in world.recipients]
    baseline = ledger_sizes()
    say(_header(args))

    filled, fill_seconds, bulk_ids, decisions = _fill_measured(args, world, rng, say)
    database_analyze()
    problems = projection_problems() + bulk_shape_problems(filled.service_subject_ids, bulk_ids)
    filled_sizes = ledger_sizes()

    sequencing = ledger_sequence_measure()
    say(f"  sequenced {sequencing.entries:,} entries in {sequencing.seconds:.1f} s")
    verification, incremental, verify_problems = _verified(args.entries, say)
    problems += verify_problems
    database_analyze()
    decisions["final"] = decisions_measure(filled.subject_ids, agencies, samples=args.decisions, entries=args.entries, rng=rng)
    proofs = proofs_measure(rng)
    for kind in ("inclusion", "consistency"):
        if not proofs[kind]["verifies"]:
            problems.append(f"the {kind} proof does not verify against the signed roots")
    pending_vacuum()
    final_sizes = ledger_sizes()

    lag = None
    if args.lag_seconds:
        say(f"  appending {args.lag_rate:g}/s for {args.lag_seconds:g} s, sampling the sequencing lag")
        measured = sequencing_lag_measure(
            filled.subject_ids, world.recipients, rate=args.lag_rate, seconds=args.lag_seconds, rng=rng
        )
        if measured.left_pending:
            problems.append(f"the sequencer left {measured.left_pending} entries pending after the lag step")
        lag = _lag_summary(measured, args.lag_rate)

    result = {
        "entries": args.entries,
        "subjects": len(filled.subject_ids),
        "service_subjects": len(filled.service_subject_ids),
        "fill": {"seconds": fill_seconds, "entries_per_s": filled.entries / fill_seconds},
        "sequencing": _rate_summary(sequencing),
        "verification": _rate_summary(verification),
        "verification_incremental": _rate_summary(incremental),
        "decisions": {name: _latency_summary(latencies) for name, latencies in decisions.items()},
        "proofs": proofs,
        "sizes": _sizes_summary(filled_sizes, final_sizes, baseline, args.entries) if final_sizes else None,
        "lag": lag,
        "problems": problems,
    }
    return result, problems


def main(argv=None) -> int:
    args = _arguments(argv)
    # `make` interrupted or killed: still drop the database (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = sys.stderr if args.json else sys.stdout

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    admin_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_ADMIN_URL)
    name = f"bench_ledger_{secrets.token_hex(4)}"
    started = time.perf_counter()
    _database_create(admin_url, name)
    try:
        _django_setup(_database_url(admin_url, name))
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        result, problems = run(args, say)
    except KeyboardInterrupt:
        print("interrupted; dropping the database", file=sys.stderr)
        return 130
    finally:
        _django_close()
        _database_drop(admin_url, name)
    result["seconds"] = time.perf_counter() - started
    judged = targets(result)
    say("")
    say(_table(result, judged))
    say(f"\n{args.entries:,} entries in {result['seconds']:.0f} s all told (database created, filled, measured, "
        f"dropped); {_load()}")
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps({**result, "targets": judged}, indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
