"""`make bench-ledger` (bench/ledger.py) in-process and small, on the test
database: its fill (services and bulk), sequencing, verification, decisions
and proofs run on SQLite and PostgreSQL, its sequencing-lag step (threads,
each with its own connection) on PostgreSQL, and its bulk rows are what the
services would have written. No figure is judged here: they only exist."""

import random

import pytest
from django.core.cache import cache

from bench import ledger as bench
from consent_ledger.models import EntryKind, LedgerEntry, LedgerLeaf, LedgerPending
from consent_ledger.sequencer import ledger_sequence

pytestmark = pytest.mark.django_db


def test_the_benchmark_fills_a_log_that_verifies_and_measures_it():
    world = bench.world_create()
    # 20 subjects: 5 through the services, then bulk batches ending at subjects 8, 16 and 20.
    progress = [f.entries for f in bench.ledger_fill(world, entries=200, service_subjects=5, subjects_per_batch=8)]
    assert progress == [50, 80, 160, 200]
    assert LedgerEntry.objects.count() == 200
    assert LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).count() == 100

    assert bench.projection_problems() == []

    sequencing = bench.ledger_sequence_measure()
    assert sequencing.entries == 200 and sequencing.per_second > 0 and sequencing.detail["checkpoints"] >= 1
    assert LedgerPending.objects.count() == 0 and LedgerLeaf.objects.count() == 200
    verification, report = bench.ledger_verify_measure()
    assert report.ok, report.problems
    assert verification.entries == 200 and verification.per_second > 0

    rng = random.Random(7)
    subjects = list(LedgerEntry.objects.values_list("subject_id", flat=True).distinct())
    latencies = bench.decisions_measure(
        subjects, [c.agency for c in world.recipients], samples=20, entries=200, rng=rng
    )
    assert len(latencies.samples) == 20
    assert latencies.percentile_ms(0.99) >= latencies.percentile_ms(0.50) > 0
    proofs = bench.proofs_measure(rng, samples=5)
    assert proofs["inclusion"]["verifies"] and proofs["consistency"]["verifies"]
    assert 0 < proofs["inclusion"]["hashes"] <= proofs["inclusion"]["max_hashes"] == 8
    assert proofs["inclusion"]["samples"] == proofs["consistency"]["samples"] == 5
    sizes = bench.ledger_sizes()
    if sizes is not None:  # PostgreSQL
        assert all(sizes[name] > 0 for name in ("entries", "leaves", "nodes", "checkpoints", "projection"))


def test_a_history_cut_short_still_verifies():
    world = bench.world_create()
    *_, filled = bench.ledger_fill(world, entries=23, service_subjects=1)
    assert filled.entries == 23 and len(filled.subject_ids) == 3
    assert bench.projection_problems() == []
    bench.ledger_sequence_measure()
    assert bench.ledger_verify_measure()[1].ok


def test_a_history_played_in_bulk_is_the_history_the_services_write():
    """The same plan through the services and in bulk: entries of the same
    kinds in the same order, bodies of the same structure, the same projection
    (so the same decision for every recipient, category and purpose), and
    every bulk leaf hash is its content's."""
    from django.db import transaction

    world = bench.world_create()
    plan = bench._plan(random.Random(3), world, 0)
    by_services = bench._play(bench.ServiceWriter(), plan, len(bench.HISTORY))
    writer = bench.BulkWriter(world)
    with transaction.atomic():
        in_bulk = bench._play(writer, bench.SubjectPlan("BENCH/bulk", plan.owner, plan.profile, plan.steps), 10)
        writer.flush()

    def kinds(subject):
        return list(LedgerEntry.objects.filter(subject=subject).order_by("seq").values_list("kind", flat=True))

    assert kinds(in_bulk) == kinds(by_services) == [
        "consent_granted", "consent_granted", "disclosure", "refusal_recorded", "disclosure",
        "consent_granted", "disclosure", "consent_revoked", "disclosure", "disclosure",
    ]
    assert bench.bulk_shape_problems([by_services.id], [in_bulk.id]) == []
    assert bench.projection_problems() == []
    released = []
    for agency in [c.agency for c in world.recipients]:
        for category in ("identity", *bench.CATEGORY_POOL):
            for purpose in bench.PURPOSE_POOL:
                decided = [bench.decision(s.id, agency, category, purpose).permitted for s in (by_services, in_bulk)]
                assert decided[0] == decided[1], (agency.kind, category, purpose)
                released += decided[0]
    assert released, "some decision permits, or the comparison proves little"
    reads = LedgerEntry.objects.filter(subject=in_bulk, kind=EntryKind.DISCLOSURE)
    assert all(read.body["categories"] and read.body["bases"] for read in reads)  # every read released something
    # Each bulk entry queued for the sequencer as ledger_append queues it.
    assert LedgerPending.objects.filter(entry__subject=in_bulk).count() == 10


def test_incremental_verification_starts_at_the_first_checkpoint_past_half_the_log():
    world = bench.world_create()
    list(bench.ledger_fill(world, entries=60, service_subjects=2))
    for _ in range(3):  # three checkpoints: 20, 40, 60
        ledger_sequence(batch_size=20)

    rate, report = bench.ledger_verify_incremental_measure()

    assert report.ok, report.problems
    assert (rate.detail["from"], rate.entries, report.tree_size) == (40, 20, 60)


@pytest.mark.postgres
def test_the_sequencing_lag_is_sampled_while_appending_through_ledger_append(ledger_transactional_db, settings):
    world = bench.world_create()
    *_, filled = bench.ledger_fill(world, entries=50, service_subjects=1)
    bench.ledger_sequence_measure()
    # As in production: the commits' nudges are published (to the benchmark's
    # queue), at most one per interval, and a worker sequences when each is due.
    settings.CELERY_TASK_ALWAYS_EAGER, settings.LEDGER_SEQUENCER_INTERVAL = False, 0.5
    cache.clear()

    lag = bench.sequencing_lag_measure(filled.subject_ids, world.recipients, rate=40, seconds=1, rng=random.Random(1))

    assert lag.appended == 40 and lag.ages and all(age >= 0 for age in lag.ages)
    assert lag.left_pending == 0 and lag.checkpoints >= 1 and 1 <= lag.runs < lag.appended
    assert LedgerLeaf.objects.count() == 90
    assert bench.ledger_verify_measure()[1].ok
