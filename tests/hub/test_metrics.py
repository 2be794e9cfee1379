"""Prometheus metrics at /metrics (issue 13, item 4): an unknown URL to anyone
without its bearer token; with it, django-prometheus's request metrics and the
hub's own gauges, read from the database at each scrape, so that they follow
what the hub holds; every worker's metrics added up under gunicorn."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client import Counter, values
from prometheus_client.parser import text_string_to_metric_families

import hub.metrics
from agencies.events import outbox_relay_all
from agencies.models import Delivery, OutboxEvent
from agencies.webhooks import webhook_deliver
from consent_ledger.models import LedgerEntry, LedgerPending
from consent_ledger.sequencer import ledger_sequence_all
from referrals import lifecycle
from schemas.vocabularies import SCOPES, codes
from tests.referrals.conftest import CONSENTED, PROFILE, WITHHOLD, consent, move, send

TOKEN = "metrics-scrape-token-5f1c0e7a9b2d4c6e8f0a1b3c5d7e9f21"
DOMAIN_METRICS = (
    "hub_referrals", "hub_referrals_overdue", "hub_blue_card_deadlines_missed", "hub_ledger_tree_size",
    "hub_ledger_sequencer_backlog", "hub_ledger_sequencer_lag_seconds", "hub_ledger_disclosures_recent",
    "hub_ledger_disclosures_recent_complete", "hub_outbox_backlog", "hub_outbox_oldest_pending_age_seconds",
    "hub_webhook_deliveries", "hub_webhook_dead_letters", "hub_domain_metrics_up", "hub_domain_metrics_scrape_seconds",
)
# A loopback port nothing listens on: a delivery attempt is refused at once.
REFUSING_HOOK = "http://127.0.0.1:9/hook"


def samples(response) -> dict:
    """{(sample name, ((label, value), ...)): value} of an exposition."""
    text = response.content.decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels) -> float:
    return found[name, tuple(sorted(labels.items()))]


@pytest.fixture
def scrape(client, settings, db):
    """Scrape /metrics as Prometheus does, with the configured token."""
    settings.METRICS_TOKEN = TOKEN

    def get() -> dict:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200, response.content
        return samples(response)

    return get


@pytest.fixture
def ops(party):
    return party("MOPS Metryki", "ops", scopes=codes(SCOPES))


@pytest.fixture
def shelter(party):
    return party("Schronisko Metryki", "shelter")


@pytest.fixture
def subject_id(ops, shelter):
    """A person the OPS registered, with her consent to the shelter."""
    created = ops.post("/api/v1/subjects/", {"external_ref": "M/1", "profile": PROFILE})
    assert created.status_code == 201, created.content
    consent(ops, created.json()["id"], {"agencies": [str(shelter.agency.id)]}, CONSENTED)
    return created.json()["id"]


@pytest.fixture
def referral_id(ops, shelter, subject_id):
    created = send(ops, shelter, subject_id, withhold_categories=WITHHOLD)
    assert created.status_code == 201, created.content
    return created.json()["id"]


@pytest.fixture
def clock(monkeypatch):
    """The metrics' clock, five minutes ahead of the entries' and events' times."""
    now = timezone.now() + timedelta(minutes=5)
    monkeypatch.setattr(hub.metrics, "timezone", SimpleNamespace(now=lambda: now))
    return now


# --- not public ---------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [
    None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN} {TOKEN}",
])
def test_without_its_token_metrics_answers_exactly_as_an_unknown_url(db, settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    client = Client(enforce_csrf_checks=True)  # a POST must not meet CSRF's 403 either
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    for method in ("get", "post", "head"):
        unknown = getattr(client, method)("/metrics-of-nothing", **headers)
        response = getattr(client, method)("/metrics", **headers)

        assert response.status_code == unknown.status_code == 404
        # The same page, whose language links lead back to the path asked for.
        page = unknown.content.replace(b"/metrics-of-nothing", b"/metrics")
        assert (response["Content-Type"], response.content) == (unknown["Content-Type"], page)


@pytest.mark.parametrize("authorization", ["Bearer ", "Bearer", "Bearer -"])
def test_without_a_configured_token_there_are_no_metrics_at_all(client, db, settings, authorization):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics", HTTP_AUTHORIZATION=authorization).status_code == 404


def test_the_token_opens_the_request_metrics_and_every_gauge_of_the_hub(client, scrape):
    client.get("/healthz")
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    found = samples(response)

    assert response["Content-Type"].startswith("text/plain")
    assert set(DOMAIN_METRICS) <= {name for name, _ in found}
    assert value(found, "hub_domain_metrics_up") == 1
    # django-prometheus: latency by view name, never by path (no ids in labels).
    latency = [dict(labels) for name, labels in found if name == "django_http_requests_latency_seconds_by_view_method_count"]
    assert {"view": "healthz", "method": "GET"} in latency
    # Every status and legal basis has its series, 0 when nothing is in it.
    assert {dict(labels)["status"] for name, labels in found if name == "hub_referrals"} == set(lifecycle.STATUSES)
    assert value(found, "hub_ledger_disclosures_recent", basis="court_order") == 0


def test_a_scraper_may_ask_for_openmetrics(client, scrape):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", HTTP_ACCEPT="application/openmetrics-text")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")


def test_other_methods_are_refused_once_the_token_is_right(client, scrape):
    response = client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 405


# --- the hub's state ----------------------------------------------------------------


def test_referrals_by_status_and_overdue_follow_the_database(scrape, ops, shelter, subject_id, settings):
    before = scrape()
    # Emergency referrals sent from now on are already past their acknowledge-by time.
    settings.REFERRAL_ACK_HOURS = {**settings.REFERRAL_ACK_HOURS, "emergency": -1}

    created = send(ops, shelter, subject_id, withhold_categories=WITHHOLD)
    sent = scrape()
    move(shelter, created.json()["id"], "received")
    received = scrape()

    assert created.status_code == 201
    requested = value(before, "hub_referrals", status="requested")
    assert value(sent, "hub_referrals", status="requested") == requested + 1
    assert value(sent, "hub_referrals_overdue", urgency="emergency") == 1
    assert value(received, "hub_referrals", status="requested") == requested
    assert value(received, "hub_referrals", status="received") == value(before, "hub_referrals", status="received") + 1
    assert value(received, "hub_referrals_overdue", urgency="emergency") == 0


def test_the_ledger_gauges_follow_the_sequencer(scrape, subject_id, clock):
    # Her consent was recorded; the sequencer's nudge runs on commit, which a test never reaches.
    pending, oldest = LedgerPending.objects.count(), LedgerPending.objects.order_by("entry_id").first().entry.recorded_at
    waiting = scrape()
    tree_size = ledger_sequence_all()
    sequenced = scrape()

    assert value(waiting, "hub_ledger_sequencer_backlog") == pending > 0
    assert value(waiting, "hub_ledger_sequencer_lag_seconds") == (clock - oldest).total_seconds()
    assert value(sequenced, "hub_ledger_sequencer_backlog") == 0
    assert value(sequenced, "hub_ledger_sequencer_lag_seconds") == 0
    assert value(sequenced, "hub_ledger_tree_size") == tree_size == LedgerEntry.objects.count()


def test_the_outbox_gauges_follow_the_relay(scrape, referral_id, clock):
    unrelayed = OutboxEvent.objects.filter(relayed_at__isnull=True)
    count, oldest = unrelayed.count(), unrelayed.order_by("occurred_at").first().occurred_at
    waiting = scrape()
    outbox_relay_all()
    relayed = scrape()

    assert value(waiting, "hub_outbox_backlog") == count > 0
    assert value(waiting, "hub_outbox_oldest_pending_age_seconds") == (clock - oldest).total_seconds()
    assert value(relayed, "hub_outbox_backlog") == value(relayed, "hub_outbox_oldest_pending_age_seconds") == 0


def test_deliveries_by_status_and_dead_letters(scrape, ops, shelter, subject_id, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    assert ops.post("/api/v1/webhook-endpoints/", {"url": REFUSING_HOOK, "events": []}).status_code == 201
    assert send(ops, shelter, subject_id, withhold_categories=WITHHOLD).status_code == 201
    outbox_relay_all()
    deliveries = list(Delivery.objects.values_list("id", flat=True))
    pending = scrape()
    for delivery_id in deliveries:
        webhook_deliver(delivery_id)  # refused, and no attempt is left
    dead = scrape()

    assert deliveries
    assert value(pending, "hub_webhook_deliveries", status="pending") == len(deliveries)
    assert value(pending, "hub_webhook_dead_letters") == 0
    assert value(dead, "hub_webhook_deliveries", status="pending") == 0
    assert value(dead, "hub_webhook_deliveries", status="dead") == value(dead, "hub_webhook_dead_letters") == len(deliveries)


def test_recent_disclosures_are_counted_by_the_basis_they_rested_on(scrape, shelter, referral_id, settings):
    before = scrape()
    # The shelter reads the referral: her consent is what releases it.
    assert shelter.get(f"/api/v1/referrals/{referral_id}").status_code == 200
    after = scrape()
    settings.METRICS_DISCLOSURE_SCAN_LIMIT = 0
    cut = scrape()

    consent = value(before, "hub_ledger_disclosures_recent", basis="consent")
    assert value(after, "hub_ledger_disclosures_recent", basis="consent") == consent + 1
    assert value(after, "hub_ledger_disclosures_recent_complete") == 1
    # Nothing read: the window is known to be cut short.
    assert value(cut, "hub_ledger_disclosures_recent", basis="consent") == 0
    assert value(cut, "hub_ledger_disclosures_recent_complete") == 0


def test_the_domain_gauges_say_when_the_database_does_not_answer(scrape, monkeypatch):
    from django.db import OperationalError

    def unreachable(now):
        raise OperationalError("connection refused")
        yield  # a generator, as the real one

    monkeypatch.setattr(hub.metrics, "_referral_families", unreachable)
    found = scrape()

    assert value(found, "hub_domain_metrics_up") == 0
    assert not [name for name, _ in found if name.startswith(("hub_referrals", "hub_ledger", "hub_outbox"))]


# --- several workers ------------------------------------------------------------------


def test_under_several_workers_every_workers_metrics_are_added_up(scrape, tmp_path, monkeypatch):
    """gunicorn's workers each write their own files in PROMETHEUS_MULTIPROC_DIR;
    whichever answers the scrape reads them all."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for worker in (1, 2):
        monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda worker=worker: 4200 + worker))
        Counter("hub_test_worker_answers", "Answers of one worker.", registry=None).inc(worker)
    try:
        found = scrape()
    finally:
        values.close_all_multiprocess_files()

    assert value(found, "hub_test_worker_answers_total") == 3
    assert value(found, "hub_domain_metrics_up") == 1
    # One worker's own registry is not what is served.
    assert not [name for name, _ in found if name.startswith("python_gc")]
