"""The referral hot paths (issue 11): what a read and a send cost in queries,
and that the read stays honest while it got cheaper: every read decides
again, prunes, and appends its disclosure in its own transaction, without a
savepoint."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consent_ledger.models import EntryKind, LedgerEntry, LedgerPending
from tests.referrals.conftest import (  # noqa: F401  (fixtures)
    REFERRALS,
    WITHHOLD,
    consent,
    detail,
    ops,
    referral_id,
    send,
    shelter,
    subject_id,
)

# Outside a test transaction, so that the services' own transactions show as
# they run in production (a savepoint inside one would show as SAVEPOINT).
pytestmark = pytest.mark.usefixtures("ledger_transactional_db")


def _statements(queries) -> list[str]:
    """The first word of each statement up to the request's COMMIT (tests run
    tasks eagerly: the sequencer's nudge then runs after it, in the request)."""
    statements = [q["sql"].lstrip("(").split()[0].upper() for q in queries.captured_queries]
    return statements[: statements.index("COMMIT") + 1]


def _disclosures() -> int:
    return LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).count()


def test_a_read_is_three_reads_and_the_disclosure_in_one_transaction_without_a_savepoint(shelter, referral_id):
    shelter.get(detail(referral_id))  # the first request of a connection compiles its queries

    with CaptureQueriesContext(connection) as queries:
        response = shelter.get(detail(referral_id))

    assert response.status_code == 200
    statements = _statements(queries)
    assert "SAVEPOINT" not in statements and "RELEASE" not in statements
    # The token with its client and agency; the referral with its subject; the
    # subject's provisions in force with the withholdings on the reader.
    assert statements.count("SELECT") == 3
    assert statements.count("COMMIT") == 1
    # The disclosure: on PostgreSQL the entry and its place in the sequencer's
    # queue in one statement, on SQLite two INSERTs.
    request = [q["sql"] for q in queries.captured_queries][: len(statements)]
    writes = [sql for sql in request if sql.split()[0].upper() in ("INSERT", "WITH")]
    assert f'INSERT INTO "{LedgerEntry._meta.db_table}"' in writes[0]
    assert f'INSERT INTO "{LedgerPending._meta.db_table}"' in writes[-1]
    assert len(writes) == (1 if connection.vendor == "postgresql" else 2)


def test_every_read_decides_again_and_appends_its_own_disclosure(ops, shelter, subject_id, referral_id):
    before = _disclosures()
    first = shelter.get(detail(referral_id)).json()
    second = shelter.get(detail(referral_id)).json()
    assert _disclosures() == before + 2
    assert first == second and "risk" in first["payload"] and "person" in first["subject"]["profile"]

    for provision in ops.get(f"/api/v1/subjects/{subject_id}/consent-state").json()["provisions"]:
        assert ops.post(f"/api/v1/consents/{provision['id']}/revoke", {"reason": "asked"}).status_code == 200
    third = shelter.get(detail(referral_id)).json()

    assert _disclosures() == before + 3
    assert "risk" not in third["payload"] and "risk" in third["withheld_categories"]
    assert "person" not in third["subject"]["profile"] and "identity" in third["subject"]["withheld_categories"]


def test_a_send_by_the_subjects_owner_reads_what_it_checks_once(ops, shelter, subject_id):
    send(ops, shelter, subject_id, withhold_categories=WITHHOLD)  # compiles this connection's queries

    with CaptureQueriesContext(connection) as queries:
        response = send(ops, shelter, subject_id, withhold_categories=WITHHOLD)

    assert response.status_code == 201, response.content
    statements = _statements(queries)
    assert "SAVEPOINT" not in statements
    # The token; the subject; the recipient; the subject's provisions for the send-time check.
    assert statements.count("SELECT") == 4
    assert response.json()["status"] == "requested" and response["Location"] == f"{REFERRALS}{response.json()['id']}"
