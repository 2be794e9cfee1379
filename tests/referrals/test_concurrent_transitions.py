"""Two parties move the same referral at once (PostgreSQL, a real connection per
thread). The transition locks the row before it reads the status (STYLE.md:
select_for_update where a change depends on state), so the second step waits
and is judged against the first one's result: one wins, the other gets 409 (or
412 with a stale If-Match), and the trail holds the winner's step only."""

import threading
import time

import pytest
from django.db import connection, transaction

from agencies.models import OutboxEvent
from hub.api.errors import Conflict, PreconditionFailed
from referrals import services
from referrals.lifecycle import CANCELLED, RECEIVED, RECIPIENT, REJECTED, SENDER
from referrals.models import Referral, ReferralTransition
from tests.referrals.conftest import World

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("ledger_transactional_db")]

HOLD_SECONDS = 0.5


def in_thread(target) -> tuple[threading.Thread, list]:
    """Run `target` on its own connection; what it returned or raised goes in the list."""
    outcome: list = []

    def run():
        try:
            outcome.append(target())
        except BaseException as exc:  # reported by the test, not lost in the thread
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("if_match", [False, True], ids=["no-if-match", "if-match"])
def test_a_cancel_racing_a_rejection_waits_for_it_and_is_judged_against_it(make_agency, make_client, if_match):
    world = World(make_agency, make_client)
    referral = world.referral()
    services.referral_transition(caller=world.callers[RECIPIENT], referral_id=referral.id, to=RECEIVED)
    etag = Referral.objects.get(pk=referral.id).etag
    locked = threading.Event()

    def reject_and_hold():
        # The shelter's rejection commits only after the OPS has tried to cancel.
        with transaction.atomic():
            services.referral_transition(
                caller=world.callers[RECIPIENT], referral_id=referral.id, to=REJECTED, reason="No room.",
            )
            locked.set()
            time.sleep(HOLD_SECONDS)  # keep the row lock while the cancel arrives
        return REJECTED

    def cancel():
        assert locked.wait(5)
        try:
            services.referral_transition(
                caller=world.callers[SENDER], referral_id=referral.id, to=CANCELLED, reason="Found a place elsewhere.",
                if_match=etag if if_match else None,
            )
        except (Conflict, PreconditionFailed) as error:
            return type(error), error.extra
        return CANCELLED, {}

    rejecting, rejected = in_thread(reject_and_hold)
    cancelling, cancelled = in_thread(cancel)
    rejecting.join(10)
    cancelling.join(10)

    assert rejected == [REJECTED]
    outcome, seen = cancelled[0]
    assert outcome is (PreconditionFailed if if_match else Conflict)
    # It was judged against the committed rejection, so it waited for its lock.
    assert seen == ({"current_etag": f'"{referral.id}-3"'} if if_match else {"current_status": REJECTED, "allowed": []})
    final = Referral.objects.get(pk=referral.id)
    assert (final.status, final.version, final.cancelled_at) == (REJECTED, 3, None)
    steps = ReferralTransition.objects.filter(referral=referral).order_by("id").values_list("to_status", flat=True)
    assert list(steps) == [RECEIVED, REJECTED]
    events = OutboxEvent.objects.filter(object_id=referral.id).order_by("seq").values_list("type", flat=True)
    assert list(events) == ["referral.requested", "referral.received", "referral.rejected"]


def test_concurrent_case_updates_each_bump_the_version_once(make_agency, make_client):
    world = World(make_agency, make_client)
    referral = world.referral()
    start = threading.Barrier(4)

    def add(caller, n):
        def run():
            start.wait(5)
            return services.case_update_add(
                caller=caller, referral_id=referral.id, kind="note", payload={"text": f"Note {n}."}
            ).id
        return run

    runs = [in_thread(add(world.callers[party], n)) for n, party in enumerate([SENDER, RECIPIENT, SENDER, RECIPIENT])]
    for thread, _ in runs:
        thread.join(10)

    assert all(not isinstance(result[0], BaseException) for _, result in runs), [r for _, r in runs]
    assert Referral.objects.get(pk=referral.id).version == 1 + 4  # no lost update
    assert OutboxEvent.objects.filter(object_id=referral.id, type="referral.update_added").count() == 4
