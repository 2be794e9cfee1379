"""A client generated from /api/schema/ by openapi-python-client (a mainstream
generator from PyPI) completes the README's referral loop, with no
hand-written request shapes (issue 16, acceptance): the owner registers a
person, records her consent and sends a referral; the recipient reads it
and moves it on with If-Match. The client is generated into a temporary
directory at test time and talks to the WSGI app in-process."""

import importlib
import json
import subprocess
import sys

import httpx
import pytest

from .world import CONSENTED, EVIDENCE, PAYLOAD, PROFILE, WITHHOLD, application

PACKAGE = "hub_api_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory, django_db_blocker):
    """The generated package, imported from a temporary directory."""
    from django.test import Client

    root = tmp_path_factory.mktemp("client")
    with django_db_blocker.unblock():
        schema = Client().get("/api/schema/?format=json")
    (root / "schema.json").write_text(json.dumps(schema.json()))
    (root / "config.yaml").write_text("post_hooks: []\n")  # no ruff formatting needed to import it
    subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(root / "schema.json"),
         "--meta", "none", "--output-path", str(root / PACKAGE), "--config", str(root / "config.yaml")],
        check=True, capture_output=True, timeout=120,
    )
    sys.path.insert(0, str(root))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def client_for(generated, party):
    return generated("client").AuthenticatedClient(
        base_url="http://localhost", token=party.token,
        httpx_args={"transport": httpx.WSGITransport(app=application)}, raise_on_unexpected_status=True,
    )


@pytest.fixture
def ops(party):
    return party("MOPS Klient", "ops")


@pytest.fixture
def shelter(party):
    return party("Schronisko Klient", "shelter")


def test_a_generated_client_completes_the_readme_referral_loop(generated, ops, shelter):
    models = generated("models")
    owner, recipient = client_for(generated, ops), client_for(generated, shelter)
    # One module per operation, named by its operationId.
    subjects = generated("api.subjects.subjects_create")
    consents = generated("api.subjects.subjects_consents_create")
    create = generated("api.referrals.referrals_create")
    retrieve = generated("api.referrals.referrals_retrieve")
    transition = generated("api.referrals.referrals_transition_create")

    subject = subjects.sync(client=owner, body=models.SubjectCreateInputRequest(
        external_ref="K/2026/1", profile=models.SubjectCreateInputRequestProfile.from_dict(PROFILE),
    ))
    consent = consents.sync(subject.id, client=owner, body=models.ProvisionInputRequest(
        recipients=models.RecipientsInputRequest(agencies=[shelter.agency.id]),
        categories=[models.DataCategoryEnum(c) for c in CONSENTED], purposes=[models.PurposeEnum.REFERRAL],
        form=models.ConsentFormEnum.WRITTEN, grantor=models.GrantorEnum.SUBJECT, evidence_sha256=EVIDENCE,
    ))
    assert consent.receipt.pii_principal_id == subject.id
    sent = create.sync(client=owner, body=models.ReferralCreateInputRequest(
        subject=subject.id, to_agency=shelter.agency.id, service=models.ReferralServiceEnum.SHELTER,
        urgency=models.UrgencyEnum.URGENT, purpose=models.PurposeEnum.REFERRAL,
        payload=models.ReferralCreateInputRequestPayload.from_dict(PAYLOAD), reason="Violence at home.",
        withhold_categories=[models.DataCategoryEnum(c) for c in WITHHOLD],
    ))
    assert sent.status == models.ReferralStatusEnum.REQUESTED

    read = retrieve.sync_detailed(sent.id, client=recipient)
    referral = read.parsed
    assert referral.payload.to_dict()["summary"] == PAYLOAD["summary"]
    assert models.DataCategoryEnum.CONTACT in referral.subject.withheld_categories
    assert "contact" not in referral.subject.profile.to_dict()

    received = transition.sync_detailed(
        sent.id, client=recipient, if_match=read.headers["ETag"],
        body=models.TransitionInputRequest(status=models.ReferralStatusEnum.RECEIVED),
    )
    assert received.parsed.status == models.ReferralStatusEnum.RECEIVED
    refused = transition.sync_detailed(
        sent.id, client=recipient, if_match=read.headers["ETag"],
        body=models.TransitionInputRequest(status=models.ReferralStatusEnum.ACCEPTED),
    )
    assert refused.status_code == 412 and refused.parsed.code == "precondition_failed"
