"""Retention (issue 12, item 3): a record past its period loses its person
data, with one `retention_erasure` ledger entry naming it by id; a person none
of whose records is left is shredded (unless a statutory basis keeps them);
expired technical records are deleted. Time moves by passing `now`, never by
sleeping: the state is built now and the job runs years later."""

import json
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken

from agencies.models import Delivery, OutboxEvent
from consent_ledger import sealing
from consent_ledger.erasure import EVENT_TYPE as ERASED_EVENT
from consent_ledger.models import EntryKind, LedgerEntry, Subject
from consent_ledger.verify import verify_ledger
from hub.api.models import IdempotencyRecord
from hub.celery import app
from referrals import retention
from referrals.blue_card.models import BlueCardPerpetratorRecord, BlueCardProcedure, BlueCardStep
from referrals.models import CaseUpdate, Referral, ReferralTransition
from referrals.placements.models import Placement, PlacementCheckIn
from referrals.plans.models import Action, Goal, Plan, Review
from referrals.retention import retention_apply
from tests.clear_text import clear_text_hits
from tests.conftest import ALL_SCOPES
from tests.events.conftest import receiver, register  # noqa: F401 (receiver: a fixture)

from . import blue_card_world, placements_world, plans_world
from .conftest import PAYLOAD, PROFILE, REASON, WITHHOLD, detail, move, send, strings_in, updates_url
from .test_erasure import staff_of  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

UPDATE_TEXT = "Moved to the flat on Lipowa street, keys from Mrs Zielinska."
# Distinctive values of the person's data, ASCII (stored as these very bytes).
CLEAR = [PROFILE["person"]["family_name"], PROFILE["safe_contact"]["codeword"], PAYLOAD["risk"]["notes"],
         PAYLOAD["health"]["notes"], REASON, "Lipowa street", "No place for a family of three."]
RECORD_CLASSES = ("closed_referrals", "ended_placements", "closed_blue_cards", "closed_plans")


@pytest.fixture(autouse=True)
def _tokens_outlive_the_jump(settings):
    """The parties' tokens survive the job run years ahead, so that they can
    read afterwards (the tests of tokens set their own period)."""
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "expired_tokens": 100 * 365}


@pytest.fixture
def shelter(party):
    """The shelter, which may also register a webhook endpoint."""
    return party("Schronisko", "shelter", scopes=[*ALL_SCOPES, "webhooks:manage"])


def days_on(days: float) -> datetime:
    return timezone.now() + timedelta(days=days)


def period(data_class: str) -> float:
    """Days; idempotency records last IDEMPOTENCY_KEY_TTL (hours)."""
    if data_class == "idempotency_records":
        return django_settings.IDEMPOTENCY_KEY_TTL / timedelta(days=1)
    return django_settings.RETENTION_DAYS[data_class]


def opened(*values) -> set[str]:
    """Every string the sealed values open to."""
    return strings_in(sealing.unsealed([v for v in values if v not in (None, "")]))


def referral_texts(referral_id) -> set[str]:
    """What the referral's sealed columns, its case updates' and its
    transitions' still hold, opened."""
    referral = Referral.objects.get(pk=referral_id)
    return opened(
        referral.payload, referral.reason, referral.status_reason,
        *CaseUpdate.objects.filter(referral=referral).values_list("payload", flat=True),
        *ReferralTransition.objects.filter(referral=referral).values_list("reason", flat=True),
    )


def retention_entries(subject_id) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(subject_id=subject_id, kind=EntryKind.RETENTION_ERASURE).order_by("seq"))


def refer(ops, shelter, subject_id, **headers) -> str:
    created = send(ops, shelter, subject_id, withhold_categories=WITHHOLD, **headers)
    assert created.status_code == 201, created.content
    return created.json()["id"]


def closed_referral(ops, shelter, subject_id, to="rejected") -> str:
    """A referral the shelter read, added a case update to and closed."""
    referral_id = refer(ops, shelter, subject_id)
    assert shelter.get(detail(referral_id)).status_code == 200
    assert shelter.post(updates_url(referral_id), {"kind": "note", "payload": {"text": UPDATE_TEXT}}).status_code == 201
    move(shelter, referral_id, to)
    return referral_id


def open_referral(ops, shelter, subject_id) -> str:
    referral_id = refer(ops, shelter, subject_id)
    move(shelter, referral_id, "in-progress")
    return referral_id


def nothing_in(report) -> bool:
    data = report.as_dict()
    return all(not data[name] for name in data if name != "dry_run")


# --- referrals -----------------------------------------------------------------------------


@pytest.mark.parametrize("to", ["completed", "rejected", "failed"])
def test_a_closed_referral_keeps_its_content_for_its_period_then_loses_it_with_one_entry(ops, shelter, subject_id, to):
    closed = closed_referral(ops, shelter, subject_id, to)
    open_referral(ops, shelter, subject_id)  # the person stays
    before = referral_texts(closed)
    assert {PAYLOAD["risk"]["notes"], REASON, UPDATE_TEXT} <= before

    within = retention_apply(now=days_on(period("closed_referrals") - 1))
    assert within.erased["closed_referrals"] == [] and referral_texts(closed) == before

    now = days_on(period("closed_referrals") + 1)
    past = retention_apply(now=now)

    assert past.erased["closed_referrals"] == [closed]
    assert referral_texts(closed) == set()
    referral = Referral.objects.get(pk=closed)
    assert (referral.status, referral.content_erased_at, referral.payload) == (to, now, None)
    [entry] = retention_entries(subject_id)
    assert entry.body == {"data_class": "closed_referrals", "record": f"referral:{closed}"}
    assert (entry.actor, entry.recorded_by_id) == ("system:retention", ops.agency.id)
    assert Subject.objects.get(pk=subject_id).erased_at is None


def test_a_cancelled_referral_counts_from_its_cancellation(ops, shelter, subject_id):
    cancelled = refer(ops, shelter, subject_id)
    assert ops.post(f"/api/v1/referrals/{cancelled}/transition", {"status": "cancelled", "reason": "Moved away."}).status_code == 200
    open_referral(ops, shelter, subject_id)

    report = retention_apply(now=days_on(period("closed_referrals") + 1))

    assert report.erased["closed_referrals"] == [cancelled]


@pytest.mark.parametrize("status", ["requested", "received", "accepted", "in-progress", "on-hold"])
def test_an_open_referral_is_never_touched(ops, shelter, subject_id, status):
    referral_id = refer(ops, shelter, subject_id)
    move(shelter, referral_id, status)
    before = (referral_texts(referral_id), LedgerEntry.objects.count())

    report = retention_apply(now=days_on(10 * 365))

    assert report.erased["closed_referrals"] == [] and report.erased["subjects"] == []
    assert (referral_texts(referral_id), LedgerEntry.objects.count()) == before
    assert Referral.objects.get(pk=referral_id).content_erased_at is None


def test_no_case_update_is_added_to_a_referral_whose_content_went(ops, shelter, subject_id):
    closed = closed_referral(ops, shelter, subject_id)
    open_referral(ops, shelter, subject_id)
    retention_apply(now=days_on(period("closed_referrals") + 1))

    response = shelter.post(updates_url(closed), {"kind": "note", "payload": {"text": "Late note."}})

    assert response.status_code == 410 and response.json()["code"] == "content_erased"
    assert CaseUpdate.objects.filter(referral_id=closed).count() == 1


def test_a_referral_whose_content_went_reads_as_metadata_only(ops, shelter, subject_id):
    closed = closed_referral(ops, shelter, subject_id)
    open_referral(ops, shelter, subject_id)
    retention_apply(now=days_on(period("closed_referrals") + 1))
    entries = LedgerEntry.objects.count()

    for reader in (ops, shelter):
        seen = reader.get(detail(closed))
        assert seen.status_code == 200, seen.content
        body = seen.json()
        assert (body["id"], body["status"], body["payload"], body["reason"]) == (closed, "rejected", None, None)
        updates = reader.get(updates_url(closed))
        assert updates.status_code == 200 and [u["payload"] for u in updates.json()["results"]] == [None]
    assert LedgerEntry.objects.count() == entries  # nothing was disclosed


# --- dry run, the person, idempotence ----------------------------------------------------------


def test_a_dry_run_changes_nothing_and_lists_what_would_go(ops, shelter, subject_id):
    first = closed_referral(ops, shelter, subject_id)
    second = closed_referral(ops, shelter, subject_id, "completed")
    state = (referral_texts(first), referral_texts(second), LedgerEntry.objects.count(),
             list(Referral.objects.order_by("pk").values_list("content_erased_at", "version")))

    report = retention_apply(now=days_on(period("closed_referrals") + 1), dry_run=True)

    assert report.dry_run is True
    assert sorted(report.erased["closed_referrals"]) == sorted([first, second])
    assert report.erased["subjects"] == [subject_id] and report.subjects_kept == []
    assert (referral_texts(first), referral_texts(second), LedgerEntry.objects.count(),
            list(Referral.objects.order_by("pk").values_list("content_erased_at", "version"))) == state
    assert Subject.objects.get(pk=subject_id).erased_at is None
    assert sealing.unsealed(Subject.objects.get(pk=subject_id).profile) == PROFILE


def test_once_every_record_is_gone_the_person_is_shredded_and_the_log_verifies(ops, shelter, subject_id):
    first = closed_referral(ops, shelter, subject_id)
    second = closed_referral(ops, shelter, subject_id, "completed")

    report = retention_apply(now=days_on(period("closed_referrals") + 1))

    assert sorted(report.erased["closed_referrals"]) == sorted([first, second])
    assert report.erased["subjects"] == [subject_id]
    subject = Subject.objects.get(pk=subject_id)
    assert (subject.erased_at is not None, subject.erasure_reason) == (True, "retention_expired")
    with pytest.raises(sealing.SubjectErased):
        sealing.unsealed(subject.profile)
    assert clear_text_hits([*CLEAR, UPDATE_TEXT, "W/1"]) == []
    entries = retention_entries(subject_id)
    assert [e.body for e in entries][-1] == {"data_class": "subject", "record": f"subject:{subject_id}"}
    assert sorted(e.body["record"] for e in entries[:-1]) == sorted([f"referral:{first}", f"referral:{second}"])
    assert {e.actor for e in entries} == {"system:retention"}
    verified = verify_ledger()
    assert (verified.ok, verified.problems) == (True, [])
    # The shelter, which received her data, is told to erase its copies.
    [event] = OutboxEvent.objects.filter(type=ERASED_EVENT)
    assert (str(event.object_id), event.agencies) == (subject_id, [str(shelter.agency.id)])
    # Her referrals still read, as metadata.
    assert shelter.get(detail(first)).json()["payload"] is None


def test_a_statutory_basis_in_force_keeps_the_person_and_every_run_says_so(ops, shelter, subject_id):
    closed = closed_referral(ops, shelter, subject_id)
    order = ops.post(f"/api/v1/subjects/{subject_id}/legal-bases/", {
        "basis": "court_order", "recipients": {"agencies": [str(ops.agency.id)]}, "categories": ["identity"],
        "purposes": ["case_coordination"], "reference": "III RC 12/26",
    })
    assert order.status_code == 201, order.content
    now = days_on(period("closed_referrals") + 1)

    dry = retention_apply(now=now, dry_run=True)
    first = retention_apply(now=now)
    second = retention_apply(now=now)

    assert (dry.erased["subjects"], dry.subjects_kept) == ([], [subject_id])
    assert (first.erased["closed_referrals"], first.erased["subjects"], first.subjects_kept) == ([closed], [], [subject_id])
    assert (second.erased["closed_referrals"], second.subjects_kept) == ([], [subject_id])
    assert Subject.objects.get(pk=subject_id).erased_at is None
    assert sealing.unsealed(Subject.objects.get(pk=subject_id).profile) == PROFILE
    # Once the order ends, the next run shreds her.
    assert ops.post(f"/api/v1/legal-bases/{order.json()['id']}/end", {"reason": "order expired"}).status_code == 200
    assert retention_apply(now=now).erased["subjects"] == [subject_id]


def test_running_twice_erases_nothing_more(ops, shelter, subject_id):
    closed_referral(ops, shelter, subject_id)
    kept = open_referral(ops, shelter, subject_id)
    now = days_on(period("closed_referrals") + 1)
    retention_apply(now=now)
    state = (LedgerEntry.objects.count(), list(Referral.objects.order_by("pk").values("content_erased_at", "version")))

    again = retention_apply(now=now)

    assert nothing_in(again)
    assert (LedgerEntry.objects.count(), list(Referral.objects.order_by("pk").values("content_erased_at", "version"))) == state
    assert referral_texts(kept) >= {PAYLOAD["risk"]["notes"]}


def test_an_erased_person_is_skipped(ops, shelter, subject_id, staff_of):  # noqa: F811
    closed_referral(ops, shelter, subject_id)
    assert staff_of(ops, "dpo").post(f"/api/v1/subjects/{subject_id}/erasure", {"reason": "subject_request"}).status_code == 200
    entries = LedgerEntry.objects.count()

    report = retention_apply(now=days_on(period("closed_referrals") + 1))

    assert report.erased["closed_referrals"] == [] and report.erased["subjects"] == []
    assert LedgerEntry.objects.count() == entries


# --- placements, Blue Card procedures, plans ------------------------------------------------------


def test_an_ended_placement_loses_the_coordinators_notes_and_still_reads(party):
    world = placements_world.World(party)
    world.consent(world.hotel)
    ended = world.placement("active")
    month = placements_world.month_text(placements_world.months_ago(2))  # the start
    placements_world.created(world.cis.post(placements_world.check_ins_url(ended), {
        "month": month, "coordinator_notes": placements_world.NOTES, "who5": [3, 3, 2, 4, 3], "timepoint": "start",
    }))
    placements_world.created(world.hotel.post(placements_world.check_ins_url(ended), {
        "month": month, "days_worked": 18, "days_absent": 1, "employer_feedback": 4,
    }))
    placements_world.ok(world.cis.post(placements_world.transition_url(ended), {"status": "completed"}))
    world.placement("proposed")  # open: Halina stays

    within = retention_apply(now=days_on(period("ended_placements") - 1))
    report = retention_apply(now=days_on(period("ended_placements") + 1))

    assert (within.erased["ended_placements"], report.erased["ended_placements"]) == ([], [ended])
    notes = PlacementCheckIn.objects.filter(placement_id=ended).values_list("coordinator_notes", "who5")
    assert opened(*(value for pair in notes for value in pair)) == set()
    assert Placement.objects.get(pk=ended).content_erased_at is not None
    [entry] = retention_entries(world.subject.id)
    assert entry.body == {"data_class": "ended_placements", "record": f"placement:{ended}"}
    for reader in (world.cis, world.hotel):
        seen = reader.get(placements_world.placement_url(ended), purpose=placements_world.PURPOSE)
        assert seen.status_code == 200, seen.content
        assert placements_world.NOTES not in seen.content.decode()
        assert seen.json()["status"] == "completed"


def test_a_closed_blue_card_loses_its_forms_after_its_period_and_still_reads(party):
    world = blue_card_world.World(party)
    procedure_id = world.with_forms()
    closed = world.mops.post(blue_card_world.url(procedure_id, "/close"),
                             {"ground": "violence_ceased", "at": blue_card_world.iso(timezone.now())})
    assert closed.status_code == 200, closed.content

    within = retention_apply(now=days_on(period("closed_blue_cards") - 1))
    assert within.erased["closed_blue_cards"] == []
    report = retention_apply(now=days_on(period("closed_blue_cards") + 1))

    assert report.erased["closed_blue_cards"] == [procedure_id]
    procedure = BlueCardProcedure.objects.get(pk=procedure_id)
    assert (procedure.forms_of_violence, procedure.content_erased_at is not None) == (None, True)
    assert opened(*BlueCardStep.objects.filter(procedure_id=procedure_id).values_list("content", flat=True)) == set()
    assert list(BlueCardPerpetratorRecord.objects.filter(step__procedure_id=procedure_id)
                .values_list("document", flat=True)) == [{}]
    assert clear_text_hits(sorted(blue_card_world.NKD_WORDS)) == []
    # Her only record: she is shredded too.
    assert report.erased["subjects"] == [str(world.subject.id)]
    for reader in (world.mops, world.school, world.police):
        seen = reader.get(blue_card_world.url(procedure_id))
        assert seen.status_code == 200, seen.content
        body = seen.json()
        assert (body["status"], body["nka"]) == ("closed", {})
        assert [step["content"] for step in body["steps"]] == [None] * len(body["steps"])


def test_a_plan_closed_for_the_referrals_period_loses_its_texts(party):
    world = plans_world.World(party)
    world.blue_card_basis()
    plan = world.full_plan()
    for action_id in plan.actions.values():
        assert world.ops.post(plans_world.transition_url(action_id), {"status": "done"}).status_code == 200
    closed = world.ops.post(plans_world.stage_url(plan.id), {"stage": "closed"})
    assert closed.status_code == 200, closed.content
    now = days_on(period("closed_referrals") + 1)

    assert retention_apply(now=days_on(period("closed_referrals") - 1)).erased["closed_plans"] == []
    report = retention_apply(now=now)
    again = retention_apply(now=now)

    assert (report.erased["closed_plans"], again.erased["closed_plans"]) == ([plan.id], [])
    left = [*Goal.objects.filter(plan_id=plan.id).values_list("title", "indicator", "baseline"),
            *Action.objects.filter(plan_id=plan.id).values_list("title"),
            *Review.objects.filter(plan_id=plan.id).values_list("summary", "measures")]
    assert opened(*(value for row in left for value in row)) == set()
    [entry] = retention_entries(world.subject.id)
    assert entry.body == {"data_class": "closed_plans", "record": f"plan:{plan.id}"}
    # The Blue Card basis in force keeps the person.
    assert report.subjects_kept == [str(world.subject.id)]
    seen = world.ops.get(plans_world.plan_url(plan.id), purpose="team_plan")
    assert seen.status_code == 200, seen.content
    assert not strings_in(seen.json()) & plans_world.PERSON_DATA - {"Ewa", "Kowalska"}
    assert Plan.objects.get(pk=plan.id).stage == "closed"


# --- technical records ---------------------------------------------------------------------------


def test_technical_records_go_after_their_periods_and_not_before(
    ops, shelter, subject_id, receiver, django_capture_on_commit_callbacks, settings  # noqa: F811
):
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "expired_tokens": 7}
    register(shelter, receiver, "/shelter")
    with django_capture_on_commit_callbacks(execute=True):
        refer(ops, shelter, subject_id, HTTP_IDEMPOTENCY_KEY="retention-1")
    assert list(Delivery.objects.values_list("status", flat=True)) == [Delivery.DELIVERED]
    assert IdempotencyRecord.objects.count() == 1
    tokens = AccessToken.objects.count()
    assert tokens >= 2 and not RefreshToken.objects.exists()  # client credentials: no refresh tokens

    young = retention_apply(now=days_on(min(period("idempotency_records"), period("expired_tokens")) - 0.5))
    assert (young.deleted["delivered_webhooks"], young.deleted["idempotency_records"],
            young.deleted["expired_tokens"]) == (0, 0, 0)

    idempotency = retention_apply(now=days_on(period("idempotency_records") + 1))
    assert idempotency.deleted["idempotency_records"] == 1 and not IdempotencyRecord.objects.exists()

    expired = retention_apply(now=days_on(period("expired_tokens") + 1))
    assert expired.deleted["expired_tokens"] == tokens and not AccessToken.objects.exists()

    assert retention_apply(now=days_on(period("delivered_webhooks") - 1)).deleted["delivered_webhooks"] == 0
    delivered = retention_apply(now=days_on(period("delivered_webhooks") + 1))
    assert delivered.deleted["delivered_webhooks"] == 1 and not Delivery.objects.exists()


def test_an_access_token_with_a_live_refresh_token_stays_until_the_refresh_token_expires(
    ops, staff_of, settings  # noqa: F811
):
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "expired_tokens": 7}
    staff_of(ops, "caseworker")  # an authorization-code token with its refresh token
    [refresh] = RefreshToken.objects.select_related("access_token")
    lifetime = timedelta(seconds=django_settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"])
    idle_end = refresh.access_token.expires + lifetime  # when the refresh token expires unused

    retention_apply(now=idle_end + timedelta(days=period("expired_tokens") - 1))
    assert RefreshToken.objects.filter(pk=refresh.pk).exists()
    assert AccessToken.objects.filter(pk=refresh.access_token_id).exists()

    retention_apply(now=idle_end + timedelta(days=period("expired_tokens") + 1))
    assert not RefreshToken.objects.exists() and not AccessToken.objects.exists()


# --- the command and the schedule ---------------------------------------------------------------------


def test_the_command_prints_one_json_object_and_its_dry_run_changes_nothing(ops, shelter, subject_id, settings):
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "closed_referrals": 0}
    closed = closed_referral(ops, shelter, subject_id)
    entries = LedgerEntry.objects.count()

    out = StringIO()
    call_command("apply_retention", "--dry-run", "--json", stdout=out)
    report = json.loads(out.getvalue())

    assert report["dry_run"] is True
    assert (report["closed_referrals"], report["subjects"], report["subjects_kept"]) == ([closed], [subject_id], [])
    assert {name: report[name] for name in ("ended_placements", "closed_blue_cards", "closed_plans")} == {
        "ended_placements": [], "closed_blue_cards": [], "closed_plans": []}
    assert all(isinstance(report[name], int) for name in retention.TECHNICAL_CLASSES)
    assert LedgerEntry.objects.count() == entries and referral_texts(closed)

    out = StringIO()
    call_command("apply_retention", stdout=out)
    assert "closed referrals: 1 content erased" in out.getvalue() and subject_id in out.getvalue()
    assert "people: 1 shredded" in out.getvalue()
    assert referral_texts(closed) == set() and Subject.objects.get(pk=subject_id).erased_at is not None


def test_the_beat_runs_retention_daily_through_a_thin_task():
    app.loader.import_default_modules()
    entry = django_settings.CELERY_BEAT_SCHEDULE["retention"]
    assert (entry["task"], entry["schedule"]) == ("referrals.tasks.retention_task", 86400.0)
    assert entry["task"] in app.tasks
    assert set(RECORD_CLASSES) | {"subjects"} == {kind.data_class for kind in retention.RECORD_CLASSES} | {"subjects"}
