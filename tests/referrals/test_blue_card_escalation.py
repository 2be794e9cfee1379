"""Escalation of missed Blue Card deadlines: exactly one
`blue_card.deadline_missed` event per missed deadline, whether the periodic
job runs once, twice, from `manage.py tick` or from the beat schedule, or
twice at the same time (PostgreSQL)."""

import threading
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from agencies.models import OutboxEvent
from hub.celery import app
from referrals.blue_card.models import BlueCardDeadline
from referrals.blue_card.services import EVENT_DEADLINE_MISSED, blue_card_deadlines_escalate

from .blue_card_world import NKA_DUE, World, recently, url


def missed_events() -> list[tuple]:
    return list(
        OutboxEvent.objects.filter(type=EVENT_DEADLINE_MISSED).order_by("seq").values_list("object_id", "data")
    )


@pytest.mark.django_db
def test_a_missed_deadline_is_announced_once_to_the_team_and_never_again(party):
    world = World(party)
    missed = world.open()  # its NK-A deadline (5 January 2026) has passed
    running = world.open(opened_at=recently(0.1), subject=str(_another_subject(world).id))
    met = world.open(subject=str(_another_subject(world, "W/3").id))
    world.record(world.mops, met, "nka_to_chair", at="2026-01-02T08:00:00+01:00")  # met in time...
    # ...but its GDP deadline (3 working days later) then passed unmet: missed too.

    assert blue_card_deadlines_escalate() == 2
    assert blue_card_deadlines_escalate() == 0

    events = missed_events()
    assert sorted((str(object_id), data["step"]) for object_id, data in events) == sorted(
        [(missed, "nka_to_chair"), (met, "gdp_formed")]
    )
    event = OutboxEvent.objects.get(type=EVENT_DEADLINE_MISSED, object_id=missed)
    assert event.data["due"] == NKA_DUE and event.data["escalate_to_role"] == "chair"
    assert str(world.mops.agency.id) in event.agencies and str(world.outsider.agency.id) not in event.agencies
    assert set(event.data) == {"version", "team", "gdp", "step", "due", "escalate_to_role"}  # ids and codes only
    assert not BlueCardDeadline.objects.filter(procedure_id=running, missed_notified_at__isnull=False).exists()
    # Met late: no longer overdue, and not announced again.
    world.record(world.mops, missed, "nka_to_chair")
    assert blue_card_deadlines_escalate() == 0
    assert world.mops.get(url(missed)).json()["deadlines"][0]["overdue"] is False


@pytest.mark.django_db
def test_a_closed_procedure_is_not_escalated(party):
    world = World(party)
    procedure_id = world.open()
    closed = world.mops.post(url(procedure_id, "/close"), {"ground": "groundless", "at": recently(0.5)})
    assert closed.status_code == 200, closed.content

    assert blue_card_deadlines_escalate() == 0


@pytest.mark.django_db
def test_tick_and_the_beat_schedule_run_the_escalation(party):
    world = World(party)
    world.open()

    out = StringIO()
    call_command("tick", stdout=out)
    call_command("tick", stdout=StringIO())

    assert "blue_card_deadlines_missed=1" in out.getvalue()
    assert len(missed_events()) == 1
    task = settings.CELERY_BEAT_SCHEDULE["blue-card-deadlines"]["task"]
    app.loader.import_default_modules()
    assert task in app.tasks


def _another_subject(world: World, ref: str = "W/2"):
    from consent_ledger.services import subject_create

    from .blue_card_world import PROFILE

    # Owned by the police, so it may open the procedure as the owner.
    return subject_create(caller=world.police.caller, external_ref=ref, profile=PROFILE)


@pytest.mark.postgres
@pytest.mark.usefixtures("ledger_transactional_db")
def test_concurrent_runs_announce_each_missed_deadline_once(party):
    world = World(party)
    procedures = [world.open()] + [
        world.open(subject=str(_another_subject(world, f"W/{n}").id)) for n in range(2, 6)
    ]
    start = threading.Barrier(3)
    results: list = []

    def run():
        try:
            start.wait(5)
            results.append(blue_card_deadlines_escalate())
        except BaseException as exc:  # reported by the test, not lost in the thread
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == len(procedures)
    assert sorted(str(object_id) for object_id, _ in missed_events()) == sorted(procedures)
