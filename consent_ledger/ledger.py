"""Appending to the ledger. Every append happens inside a service's
transaction; no global lock is taken (the sequencer orders entries later)."""

import hashlib
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from agencies.callers import Caller
from agencies.events import task_nudge

from .merkle import canonical_bytes, leaf_hash
from .models import LedgerEntry, LedgerNote, LedgerPending, Subject


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def iso(moment: datetime | None) -> str | None:
    """Times in entries: UTC, microseconds, 'Z' (one spelling, so one hash)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def entry_build(
    *, kind: str, subject_id, recorded_by_id, actor: str, recorded_at: datetime, body: dict, id=None
) -> LedgerEntry:
    """An unsaved entry with its canonical bytes and leaf hash: the one place
    an entry's content is serialised (RFC 8785) and hashed (RFC 9162 §2.1.1)."""
    entry = LedgerEntry(
        id=id or uuid.uuid4(), kind=kind, subject_id=subject_id, recorded_by_id=recorded_by_id, actor=actor,
        recorded_at=recorded_at,
    )
    entry.canonical = canonical_bytes({**entry_columns(entry), "body": body})
    entry.leaf_hash = leaf_hash(entry.canonical).hex()
    return entry


def entry_columns(entry: LedgerEntry) -> dict:
    """The content the entry's columns repeat (all of it but the body), spelt
    as in its canonical bytes: what verify_ledger holds the columns to."""
    return {
        "id": str(entry.id),
        "kind": str(entry.kind),  # the code itself, not its enum: an exact str takes orjson's fast path
        "subject": str(entry.subject_id),
        "recorded_by": str(entry.recorded_by_id),
        "actor": entry.actor,
        "recorded_at": iso(entry.recorded_at),
    }


def ledger_append(*, kind: str, subject: Subject, caller: Caller, body: dict, note: str = "") -> LedgerEntry:
    """Append one entry (and its erasable note) in the caller's transaction,
    and queue it for the sequencer.

    `body` must hold only JSON scalars, lists and objects of ids, codes, times
    and hashes. A note's text is stored beside the entry; the body carries its
    sha256 under "note_sha256".
    """
    if note:
        body = {**body, "note_sha256": sha256_text(note)}
    entry = entry_build(
        kind=kind, subject_id=subject.pk, recorded_by_id=caller.agency.pk, actor=caller.actor_label,
        recorded_at=timezone.now().astimezone(UTC), body=body,
    )
    _entry_insert(entry)
    if note:
        LedgerNote.objects.create(entry=entry, text=note)
    transaction.on_commit(_nudge_sequencer)
    return entry


# The entry and its place in the sequencer's queue in one statement on
# PostgreSQL: every read that discloses appends an entry, and this saves it a
# round trip and two ORM saves (issue 11, item 4).
_INSERTED = [
    LedgerEntry._meta.get_field(name)
    for name in ("id", "kind", "subject", "recorded_by", "actor", "recorded_at", "canonical", "leaf_hash")
]
_APPEND_SQL = f"""
WITH entry AS (
    INSERT INTO "{LedgerEntry._meta.db_table}" ({", ".join(f'"{field.column}"' for field in _INSERTED)})
    VALUES ({", ".join(["%s"] * len(_INSERTED))})
    RETURNING seq, leaf_hash)
INSERT INTO "{LedgerPending._meta.db_table}" ("entry_id", "leaf_hash") SELECT seq, leaf_hash FROM entry
RETURNING entry_id
"""


def _entry_insert(entry: LedgerEntry) -> None:
    """Save the new entry and queue it for the sequencer (LedgerPending)."""
    if connection.vendor != "postgresql":
        entry.save(force_insert=True)
        LedgerPending.objects.create(entry=entry, leaf_hash=entry.leaf_hash)
        return
    values = [field.get_db_prep_save(getattr(entry, field.attname), connection) for field in _INSERTED]
    with connection.cursor() as cursor:
        cursor.execute(_APPEND_SQL, values)
        (entry.seq,) = cursor.fetchone()
    entry._state.adding, entry._state.db = False, connection.alias


def _nudge_sequencer() -> None:
    """Ask for a sequencer run: every entry committed meanwhile joins its
    batch, so a busy log signs one checkpoint per LEDGER_SEQUENCER_INTERVAL
    instead of one per commit, and no entry waits much longer than the
    interval (issue 11: lag under 2 s at 200 appends/s). The beat schedule's
    periodic run picks up whatever a lost message left."""
    from .tasks import ledger_sequence_task

    task_nudge(ledger_sequence_task, key="consent_ledger:sequencer-nudged", interval=settings.LEDGER_SEQUENCER_INTERVAL)

