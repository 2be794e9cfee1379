"""Revocation under concurrent reads (PostgreSQL, real connections per thread):
no read that starts after the revocation commits discloses the revoked data."""

import threading
import time

import pytest
from django.db import connection

from agencies.callers import Caller
from agencies.services import agency_create, client_create
from consent_ledger import services
from consent_ledger.disclosure import disclose
from consent_ledger.models import Subject

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("ledger_transactional_db")]

PROFILE = {"person": {"given_name": "Anna"}, "contact": {"phone": "+48 600 100 200"}}


def caller_for(name, kind):
    agency = agency_create(name=name, kind=kind)
    return Caller(agency=agency, application=client_create(agency=agency, scopes=["subjects:read"]).application)


def test_no_read_starting_after_the_revoke_commits_sees_revoked_categories():
    ops, shelter = caller_for("MOPS", "ops"), caller_for("Schronisko", "shelter")
    subject = services.subject_create(caller=ops, external_ref="R/1", profile=PROFILE)
    services.consent_grant(
        caller=ops, subject_id=subject.id, form="verbal_witnessed", grantor="subject",
        terms=services.Terms(categories=["identity"], purposes=["referral"], agencies=[str(shelter.agency.id)]),
    )
    contact = services.consent_grant(
        caller=ops, subject_id=subject.id, form="verbal_witnessed", grantor="subject",
        terms=services.Terms(categories=["contact"], purposes=["referral"], agencies=[str(shelter.agency.id)]),
    )
    reads: list[tuple[float, bool]] = []  # (start, contact disclosed)
    lock = threading.Lock()
    start = threading.Barrier(5)
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader():
        try:
            start.wait()
            while not stop.is_set():
                began = time.monotonic()
                fresh = Subject.objects.get(pk=subject.id)
                document = disclose(
                    subject=fresh, caller=shelter, purpose="referral", document=fresh.profile, schema="subject"
                ).document
                with lock:
                    reads.append((began, "contact" in document))
        except BaseException as exc:  # reported below, so a failure is not lost in a thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    start.wait()
    while len(reads) < 20:
        time.sleep(0.005)
    services.consent_revoke(caller=ops, consent_id=contact.id, reason="")
    committed = time.monotonic()
    while sum(1 for began, _ in reads if began > committed) < 40:
        time.sleep(0.005)
    stop.set()
    for thread in threads:
        thread.join()

    assert not errors, errors
    before = [disclosed for began, disclosed in reads if began < committed]
    after = [disclosed for began, disclosed in reads if began > committed]
    assert any(before), "reads before the revocation saw the contact data"
    assert len(after) >= 40 and not any(after)
