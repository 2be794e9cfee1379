"""hub.api.compiled_queries: a query compiled once answers exactly what the
ORM answers for the same parameters, in one query, on SQLite and PostgreSQL."""

import hashlib
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.callers import Caller
from agencies.models import Agency, AgencyApplication, Membership, OutboxEvent
from consent_ledger.models import Provision
from consent_ledger.sealing import unsealed
from consent_ledger.services import Terms, consent_grant, consent_revoke, subject_create
from hub.api.compiled_queries import CompiledQuery, insert
from referrals.models import Referral
from referrals.services import referral_create

pytestmark = pytest.mark.django_db

PROFILE = {"person": {"given_name": "Anna", "family_name": "Nowak"}}
PAYLOAD = {"summary": "Needs a safe place tonight.", "risk": {"level": "high"}}


def _fields(obj) -> dict:
    return {name: value for name, value in vars(obj).items() if name != "_state"}


@pytest.fixture
def world(make_agency, make_client):
    ops, shelter = make_agency(name="OPS"), make_agency(name="Schronisko", kind="shelter")
    caller = Caller(agency=ops, application=make_client(ops)[0])
    subject = subject_create(caller=caller, external_ref="OPS/1", profile=PROFILE)
    consent = consent_grant(
        caller=caller, subject_id=subject.id,
        terms=Terms(categories=["identity", "case_notes", "risk"], purposes=["referral"], agencies=[str(shelter.id)]),
        form="written", grantor="subject", evidence_sha256=hashlib.sha256(b"form").hexdigest(),
    )
    referral = referral_create(
        caller=caller, subject_id=subject.id, to_agency_id=shelter.id, service="shelter", urgency="urgent",
        purpose="referral", payload=PAYLOAD,
    )
    return {
        "ops": ops, "shelter": shelter, "caller": caller, "subject": subject, "consent": consent, "referral": referral,
    }


def _party_referrals(referral, agency):
    return Referral.objects.select_related("subject").filter(Q(sender=agency) | Q(recipient=agency), pk=referral)[:1]


PARTY_REFERRAL = CompiledQuery(
    _party_referrals, referral=Referral._meta.pk, agency=Referral._meta.get_field("sender")
)


def test_model_rows_equal_the_orms_with_their_select_related_objects(world):
    referral, shelter = world["referral"], world["shelter"]

    [compiled] = PARTY_REFERRAL.fetch(referral=referral.id, agency=shelter.id)
    [orm] = _party_referrals(referral.id, shelter.id)

    assert _fields(compiled) == _fields(orm)
    assert _fields(compiled.subject) == _fields(orm.subject)
    assert unsealed(compiled.subject.profile) == PROFILE  # sealed as the ORM reads it
    assert compiled._state.adding is False and compiled._state.db == "default"


def test_each_call_runs_the_same_sql_with_its_own_parameters(world, make_agency):
    referral, ops, outsider = world["referral"], world["ops"], make_agency(name="Policja", kind="police")

    assert PARTY_REFERRAL.first(referral=referral.id, agency=ops.id).pk == referral.pk
    assert PARTY_REFERRAL.first(referral=referral.id, agency=outsider.id) is None  # tenancy is in the compiled SQL
    # Ids given as strings are adapted as the ORM adapts them.
    assert PARTY_REFERRAL.first(referral=str(referral.id), agency=str(ops.id)).pk == referral.pk


def test_one_query_per_call(world):
    with CaptureQueriesContext(connection) as queries:
        PARTY_REFERRAL.fetch(referral=world["referral"].id, agency=world["ops"].id)

    assert len(queries.captured_queries) == 1


def test_a_datetime_parameter_is_compared_as_the_orm_compares_it(world):
    subject, caller = world["subject"], world["caller"]
    revoked = consent_revoke(caller=caller, consent_id=world["consent"].id)
    ended_at = revoked.ended_at
    in_force = CompiledQuery(
        lambda subject, at: Provision.objects.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at), subject_id=subject),
        subject=Provision._meta.get_field("subject"), at=Provision._meta.get_field("ended_at"),
    )

    for at in (ended_at - timedelta(microseconds=1), ended_at, ended_at + timedelta(seconds=1)):
        orm = Provision.objects.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at), subject_id=subject.id)
        assert sorted(p.pk for p in in_force.fetch(subject=subject.id, at=at)) == sorted(p.pk for p in orm)
    assert [p.pk for p in in_force.fetch(subject=subject.id, at=ended_at - timedelta(microseconds=1))] == [revoked.pk]
    assert in_force.fetch(subject=subject.id, at=ended_at) == []


def test_values_list_rows_are_tuples_converted_as_the_orm_converts_them(world):
    ops = world["ops"]
    def rows(agency):
        return Agency.objects.filter(pk=agency).values_list("id", "created_at", "active")

    agencies = CompiledQuery(rows, agency=Agency._meta.pk)

    assert agencies.fetch(agency=ops.id) == list(rows(ops.id))


def test_annotations_are_set_on_the_instances(world, make_user):
    ops = world["ops"]
    user = make_user(ops)
    membership = Membership.objects.filter(user=OuterRef("pk"), agency_id=ops.id, active=True)
    users = CompiledQuery(
        lambda user: get_user_model().objects.annotate(member=Exists(membership)).filter(pk=user),
        user=get_user_model()._meta.pk,
    )

    assert users.first(user=user.pk).member is True
    Membership.objects.filter(user=user).update(active=False)
    assert users.first(user=user.pk).member is False


def test_a_parameter_that_would_change_the_sql_is_refused(world):
    with pytest.raises(ValueError, match="IS NULL"):
        PARTY_REFERRAL.fetch(referral=world["referral"].id, agency=None)
    with pytest.raises(TypeError):
        PARTY_REFERRAL.fetch(referral=world["referral"].id)


def test_a_parameter_the_query_does_not_use_is_refused_at_compile_time(db):
    unused = CompiledQuery(
        lambda agency, application: Agency.objects.filter(pk=agency),
        agency=Agency._meta.pk, application=AgencyApplication._meta.pk,
    )

    with pytest.raises(ValueError, match="application"):
        unused.fetch(agency=Agency().pk, application=1)



def test_a_compiled_insert_writes_the_row_the_orm_writes(db):
    fields = dict(
        type="referral.requested", occurred_at=timezone.now(), object_type="referral", object_id=uuid.uuid4(),
        status="requested", agencies=["b", "a"], data={"n": 1, "codes": ["x"]},
    )
    by_orm = OutboxEvent.objects.create(**fields)
    compiled = OutboxEvent(**fields)

    with CaptureQueriesContext(connection) as queries:
        insert(compiled)

    assert len(queries) == 1 and queries[0]["sql"].startswith("INSERT")
    assert compiled.seq == by_orm.seq + 1 and not compiled._state.adding  # the auto key came back
    rows = {event.seq: _fields(event) for event in OutboxEvent.objects.filter(seq__in=[by_orm.seq, compiled.seq])}
    assert rows[compiled.seq].pop("id") == compiled.id
    assert rows[by_orm.seq].pop("id") == by_orm.id
    assert {**rows[compiled.seq], "seq": None} == {**rows[by_orm.seq], "seq": None}
