"""Prometheus metrics at /metrics (issue 13, item 4).

Two sources in one answer:
- the processes' own metrics: django-prometheus's request counts and latency
  histograms by view name (its middlewares, settings.MIDDLEWARE), with the
  Python process's; under gunicorn's several workers, with
  PROMETHEUS_MULTIPROC_DIR set, every worker's files added up by
  prometheus_client's MultiProcessCollector, whichever worker answers;
- the hub's own state, read from the database at each scrape by
  `DomainCollector` with a few aggregate queries: the same answer from every
  worker, so multiprocess-safe by construction, and nothing to keep in step.

Counts, codes and ids of nothing: no label carries an agency, a person or a
free text, only vocabulary codes (statuses, urgencies, steps, legal bases).

Not public (who refers whom, how many Blue Cards are open, is not for
everyone): a scrape authenticates with `Authorization: Bearer <METRICS_TOKEN>`,
compared in constant time. Without the setting, or with a missing or wrong
token, /metrics answers exactly as an unknown URL does (404), so that its
existence is not revealed either. It lives outside /api/ and OAuth: a
Prometheus server is not an agency.
"""

import hmac
import logging
import os
import time
from collections import Counter
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Max, Min
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from agencies.models import Delivery, OutboxEvent
from consent_ledger.models import EntryKind, LedgerEntry, LedgerPending, SequencerState
from referrals import lifecycle
from referrals.blue_card import rules as blue_card_rules
from referrals.blue_card.models import BlueCardDeadline, BlueCardProcedure
from referrals.models import URGENCIES, Referral
from referrals.working_days import today_in_poland
from schemas.vocabularies import LEGAL_BASES, codes

logger = logging.getLogger(__name__)

DELIVERY_STATUSES = (Delivery.PENDING, Delivery.DELIVERED, Delivery.DEAD)


# --- the view -------------------------------------------------------------------------


@csrf_exempt  # else a POST would meet CSRF's 403, where an unknown URL answers 404
def metrics(request):
    """The exposition, in the format the scraper asks for (Prometheus text or
    OpenMetrics, by Accept)."""
    if not _authorised(request):
        raise Http404
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(_registry()), content_type=content_type)


def _authorised(request) -> bool:
    """A bearer token equal to METRICS_TOKEN (RFC 6750 §2.1), compared in
    constant time, so that its bytes cannot be guessed one by one from the
    answer's timing; never when no token is configured."""
    expected = settings.METRICS_TOKEN
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(DomainCollector())
    # prometheus_client chose its value files by this variable when it was
    # imported (values.get_value_class), in every worker alike.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)  # one process: its metrics are all here
    return registry


# --- the hub's state -----------------------------------------------------------------


class DomainCollector:
    """Gauges of the hub's state, read when scraped. Should the database not
    answer, `hub_domain_metrics_up` says 0 and the rest is left out: the
    process metrics are still served, and an alert on `up` fires."""

    def collect(self):
        started = time.perf_counter()
        try:
            families = list(self._families(timezone.now()))
        except DatabaseError as error:
            logger.warning("domain metrics unavailable: %s", type(error).__name__)
            families = []
        yield from families
        yield _gauge("hub_domain_metrics_up", "1 when the hub's state could be read for this scrape.", int(bool(families)))
        yield _gauge(
            "hub_domain_metrics_scrape_seconds", "How long reading the hub's state took.", time.perf_counter() - started
        )

    def _families(self, now):
        yield from _referral_families(now)
        yield from _ledger_families(now)
        yield from _event_families(now)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _labelled(name: str, documentation: str, label: str, counts: dict, known=()) -> GaugeMetricFamily:
    """One sample per label value: every known one (0 when absent, so that a
    rule on a status never sees it vanish), then any other found."""
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value in dict.fromkeys([*known, *counts]):
        family.add_metric([str(value)], counts.get(value, 0))
    return family


def _counts(queryset, field: str) -> dict:
    rows = queryset.order_by().values(field).annotate(n=Count("pk")).values_list(field, "n")
    return dict(rows)


def _age_seconds(then, now) -> float:
    return max((now - then).total_seconds(), 0.0) if then is not None else 0.0


# --- referrals and deadlines -------------------------------------------------------


def _referral_families(now):
    yield _labelled(
        "hub_referrals", "Referrals by status.", "status", _counts(Referral.objects.all(), "status"),
        known=lifecycle.STATUSES,
    )
    overdue = Referral.objects.filter(status=lifecycle.REQUESTED, acknowledge_by__lt=now)
    yield _labelled(
        "hub_referrals_overdue", "Referrals not received by the recipient by their acknowledge-by time, by urgency.",
        "urgency", _counts(overdue, "urgency"), known=URGENCIES,
    )
    missed = BlueCardDeadline.objects.filter(
        met_at__isnull=True, voided_at__isnull=True, due__lt=today_in_poland(),
        procedure__status=BlueCardProcedure.OPEN,
    )
    yield _labelled(
        "hub_blue_card_deadlines_missed", "Statutory Blue Card deadlines of open procedures past due and not met, by step.",
        "step", _counts(missed, "step"), known=blue_card_rules.DEADLINE_STEPS,
    )


# --- the consent ledger --------------------------------------------------------------


def _ledger_families(now):
    state = SequencerState.objects.filter(pk=1).values_list("tree_size", flat=True).first()
    yield _gauge("hub_ledger_tree_size", "Entries in the Merkle log (sequenced).", state or 0)
    yield _gauge("hub_ledger_sequencer_backlog", "Committed ledger entries waiting for the sequencer.",
                 LedgerPending.objects.count())
    # The queue's first row is its oldest entry (entries are numbered at insert).
    oldest = LedgerPending.objects.order_by("entry_id").values_list("entry__recorded_at", flat=True).first()
    yield _gauge("hub_ledger_sequencer_lag_seconds", "Age of the oldest entry waiting for the sequencer (0: none).",
                 _age_seconds(oldest, now))
    by_basis, complete = _recent_disclosures_by_basis(now)
    window = settings.METRICS_DISCLOSURE_WINDOW_SECONDS
    yield _labelled(
        "hub_ledger_disclosures_recent",
        f"Disclosures recorded in the last {window} s, by each legal basis they rested on.", "basis", by_basis,
        known=codes(LEGAL_BASES),
    )
    yield _gauge(
        "hub_ledger_disclosures_recent_complete",
        "1 when hub_ledger_disclosures_recent covers its whole window, 0 when METRICS_DISCLOSURE_SCAN_LIMIT cut it.",
        int(complete),
    )


def _recent_disclosures_by_basis(now) -> tuple[dict, bool]:
    """Disclosures in the window, by basis, and whether the count is complete.

    A disclosure entry keeps its bases only inside its canonical bytes, and the
    ledger has no index by kind or time: counting every disclosure ever made
    would read and parse the whole ledger at each scrape. So only the newest
    METRICS_DISCLOSURE_SCAN_LIMIT entries are read (a range of the primary
    key), those of the window decoded; a disclosure that rested on two bases
    (say consent for one category, a court order for another) counts under
    each. Over a longer time, Prometheus keeps the series."""
    newest = LedgerEntry.objects.aggregate(newest=Max("seq"))["newest"] or 0
    floor = newest - settings.METRICS_DISCLOSURE_SCAN_LIMIT
    since = now - timedelta(seconds=settings.METRICS_DISCLOSURE_WINDOW_SECONDS)
    bodies = LedgerEntry.objects.filter(seq__gt=floor, kind=EntryKind.DISCLOSURE, recorded_at__gte=since)
    counts = Counter()
    for canonical in bodies.values_list("canonical", flat=True).iterator(chunk_size=1000):
        bases = orjson.loads(bytes(canonical))["body"]["bases"]
        counts.update({basis["basis"] for basis in bases} or {"none"})
    # Complete when the newest entry left unread was recorded before the window.
    unread = LedgerEntry.objects.filter(seq__lte=floor).order_by("-seq").values_list("recorded_at", flat=True).first()
    return dict(counts), unread is None or unread < since


# --- events and webhooks -------------------------------------------------------------


def _event_families(now):
    backlog = OutboxEvent.objects.filter(relayed_at__isnull=True).aggregate(n=Count("seq"), oldest=Min("occurred_at"))
    yield _gauge("hub_outbox_backlog", "Events committed and not yet relayed to the feed and webhooks.", backlog["n"])
    yield _gauge("hub_outbox_oldest_pending_age_seconds", "Age of the oldest event not yet relayed (0: none).",
                 _age_seconds(backlog["oldest"], now))
    deliveries = _counts(Delivery.objects.all(), "status")
    yield _labelled(
        "hub_webhook_deliveries", "Webhook deliveries kept (WEBHOOK_DELIVERY_RETENTION_DAYS), by status.", "status",
        deliveries, known=DELIVERY_STATUSES,
    )
    yield _gauge("hub_webhook_dead_letters", "Webhook deliveries given up after every attempt (replayable).",
                 deliveries.get(Delivery.DEAD, 0))
