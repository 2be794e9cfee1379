"""GET fhir/Task/{referral_id}: the referral as a FHIR R5 Task, read through the
same choke point as GET referrals/{id}, with its ServiceRequest and Patient."""

import pytest
from fhir.resources.task import Task

from agencies.callers import Caller
from consent_ledger.erasure import subject_erase
from hub.api.errors import PROBLEM_CONTENT_TYPE
from referrals import lifecycle, services
from referrals.fhir.common import (
    DATA_CATEGORY,
    FHIR_JSON,
    REFERRAL_SERVICE,
    WITHHELD_CATEGORY,
)
from referrals.fhir.service_request import REQUEST_STATUS
from referrals.fhir.task import OUTCOME_REASON, REFERRAL_OUTCOME, TASK_STATUSES
from referrals.models import Referral
from tests.conftest import bearer
from tests.referrals.conftest import (
    GOOD_REASON,
    PAYLOAD,
    PROFILE,
    REASON,
    RECIPIENT,
    SENDER,
    WAY_TO,
    WITHHOLD,
    detail,
    valid_outcome,
)

from .conftest import disclosures, labels, read, task_url

HEALTH_NOTE = PAYLOAD["health"]["notes"]
PHONE = PROFILE["contact"]["phone"]


def contained(task, resource_type):
    (found,) = [r for r in task.contained if r.get_resource_type() == resource_type]
    return found


def test_the_recipient_reads_the_referral_as_a_task_that_validates(ops, shelter, referral_id):
    task, _ = read(shelter, task_url(referral_id), Task)

    request, patient = contained(task, "ServiceRequest"), contained(task, "Patient")
    assert (task.id, task.status, task.intent, task.priority) == (referral_id, "requested", "order", "stat")
    assert task.focus.reference == f"#{request.id}" and task.for_fhir.reference == f"#{patient.id}"
    assert task.requester.reference == f"Organization/{ops.agency.id}"
    assert task.owner.reference == f"Organization/{shelter.agency.id}"
    assert [(c.system, c.code) for c in request.code.concept.coding] == [(REFERRAL_SERVICE, "shelter")]
    assert request.reason[0].concept.text == REASON
    values = {p.code.coding[0].code: p.valueString for p in request.orderDetail[0].parameter}
    assert values == {"/summary": PAYLOAD["summary"], "/risk/level": "high", "/risk/notes": PAYLOAD["risk"]["notes"]}
    assert (patient.name[0].family, patient.name[0].given, str(patient.birthDate)) == ("Nowak", ["Anna"], "1970-01-01")


def test_a_withheld_category_is_absent_and_named_in_meta_security(shelter, referral_id):
    task, text = read(shelter, task_url(referral_id), Task)

    assert HEALTH_NOTE not in text and PHONE not in text
    assert contained(task, "Patient").telecom is None
    assert labels(task, WITHHELD_CATEGORY) == set(WITHHOLD)
    assert labels(task, DATA_CATEGORY) == {"identity", "safe_contact", "case_notes", "risk"}
    assert "REDACTED" in {c.code for c in task.meta.security}


def test_the_sender_gets_back_what_it_wrote_and_nothing_is_named_withheld(ops, referral_id):
    task, text = read(ops, task_url(referral_id), Task)

    assert HEALTH_NOTE in text and PHONE in text
    assert labels(task, WITHHELD_CATEGORY) == set()


def test_a_read_appends_one_disclosure_entry_as_get_referrals_does(shelter, referral_id):
    before = disclosures()
    shelter.get(detail(referral_id))
    after_json = disclosures()
    read(shelter, task_url(referral_id), Task)
    after_fhir = disclosures()

    assert len(after_json) == len(before) + 1 and len(after_fhir) == len(after_json) + 1
    json_entry, fhir_entry = after_json[-1], after_fhir[-1]
    assert fhir_entry.recorded_by_id == shelter.agency.id
    for member in ("recipient", "purpose", "categories", "withheld_categories", "bases"):
        assert fhir_entry.body[member] == json_entry.body[member], member


@pytest.mark.parametrize("status", lifecycle.STATUSES)
def test_every_referral_status_is_the_task_status_of_the_same_code(ops, shelter, referral_id, status):
    parties = {SENDER: ops, RECIPIENT: shelter}
    for party, to in WAY_TO[status]:
        services.referral_transition(
            caller=parties[party].caller, referral_id=referral_id, to=to, reason=GOOD_REASON,
            outcome=valid_outcome(to, True),
        )

    task, _ = read(shelter, task_url(referral_id), Task)

    assert Referral.objects.get(pk=referral_id).status == status
    assert task.status == status and status in TASK_STATUSES
    assert contained(task, "ServiceRequest").status == REQUEST_STATUS[status]
    outputs = {o.type.coding[0].code: o for o in task.output or []}
    if status in lifecycle.NEEDS_OUTCOME:
        assert {o.type.coding[0].system for o in outputs.values()} == {REFERRAL_OUTCOME}
        assert outputs["success"].valueBoolean is (status == lifecycle.COMPLETED)
    else:
        assert outputs == {}
    if status == lifecycle.FAILED:
        assert outputs["reason"].valueCodeableConcept.coding[0].system == OUTCOME_REASON
        assert outputs["reason"].valueCodeableConcept.coding[0].code == "unable_to_contact_client"


def test_every_referral_status_has_a_way_to_it():
    assert set(WAY_TO) == set(lifecycle.STATUSES)


def test_the_status_reason_is_released_like_the_json_read(ops, shelter, referral_id):
    services.referral_transition(caller=shelter.caller, referral_id=referral_id, to="rejected",
                                 reason="Brak miejsc.", outcome=None)

    task, _ = read(ops, task_url(referral_id), Task)
    json_read = ops.get(detail(referral_id)).json()

    assert task.statusReason.concept.text == json_read["status_reason"] == "Brak miejsc."


def test_application_json_is_answered_as_fhir_json_and_other_types_are_refused(shelter, referral_id):
    def get(accept):
        return shelter.client.get(task_url(referral_id), HTTP_ACCEPT=accept, **bearer(shelter.token))

    as_json, as_fhir, as_html = get("application/json"), get("application/fhir+json"), get("text/html")

    assert as_json.status_code == as_fhir.status_code == 200
    assert as_json["Content-Type"] == as_fhir["Content-Type"] == FHIR_JSON
    assert as_json["ETag"] == f'"{referral_id}-1"'
    Task.model_validate_json(as_json.content)
    assert as_html.status_code == 406 and as_html["Content-Type"] == PROBLEM_CONTENT_TYPE


def test_an_erased_persons_referral_is_a_task_without_her_data(ops, shelter, referral_id, subject_id, make_user):
    dpo = Caller(agency=ops.agency, user=make_user(ops.agency, username="iod", role="dpo"))
    subject_erase(caller=dpo, subject_id=subject_id, reason="subject_request")
    before = disclosures()

    task, text = read(shelter, task_url(referral_id), Task)

    patient = contained(task, "Patient")
    assert (patient.name, patient.birthDate, patient.extension) == (None, None, None)
    assert contained(task, "ServiceRequest").orderDetail is None
    assert "Anna" not in text and PAYLOAD["summary"] not in text
    assert len(disclosures()) == len(before)


def test_options_answers_the_hubs_json_metadata_not_a_resource(shelter, referral_id):
    before = disclosures()

    response = shelter.client.options(task_url(referral_id), **bearer(shelter.token))

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert "resourceType" not in response.json()
    assert len(disclosures()) == len(before)
