"""Appending to the ledger. Every append happens inside a service's
transaction; no global lock is taken (the sequencer orders entries later)."""

import hashlib
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from agencies.callers import Caller

from .merkle import canonical_bytes, leaf_hash
from .models import LedgerEntry, LedgerNote, Subject


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def iso(moment: datetime | None) -> str | None:
    """Times in entries: UTC, microseconds, 'Z' (one spelling, so one hash)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def entry_content(entry: LedgerEntry) -> dict:
    """What the Merkle leaf commits to: every column but the leaf fields."""
    return {
        "id": str(entry.id),
        "kind": entry.kind,
        "subject": str(entry.subject_id),
        "recorded_by": str(entry.recorded_by_id),
        "actor": entry.actor,
        "recorded_at": iso(entry.recorded_at),
        "body": entry.body,
    }


def entry_leaf_hash(entry: LedgerEntry) -> str:
    """RFC 9162 §2.1.1 leaf hash of the entry's RFC 8785 canonical bytes."""
    return leaf_hash(canonical_bytes(entry_content(entry))).hex()


def ledger_append(*, kind: str, subject: Subject, caller: Caller, body: dict, note: str = "") -> LedgerEntry:
    """Append one entry (and its erasable note) in the caller's transaction.

    `body` must hold only JSON scalars, lists and objects of ids, codes, times
    and hashes. A note's text is stored beside the entry; the body carries its
    sha256 under "note_sha256".
    """
    if note:
        body = {**body, "note_sha256": sha256_text(note)}
    entry = LedgerEntry(
        kind=kind,
        subject=subject,
        recorded_by=caller.agency,
        actor=caller.actor_label,
        recorded_at=timezone.now().astimezone(UTC),
        body=body,
    )
    entry.leaf_hash = entry_leaf_hash(entry)
    entry.save(force_insert=True)
    if note:
        LedgerNote.objects.create(entry=entry, text=note)
    transaction.on_commit(_nudge_sequencer)
    return entry


def _nudge_sequencer() -> None:
    from .tasks import ledger_sequence_task

    ledger_sequence_task.delay()
