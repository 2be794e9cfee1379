"""What the published schema tells an integrator beyond shapes (issue 16,
items 1-2): each operation's own description (never a helper's docstring),
the headers of the conventions, the referral transition table generated from
the state machine, and the event payload with every event type."""

import pytest
import yaml

from hub.api.idempotency import IdempotentCreateMixin
from referrals import lifecycle
from schemas.vocabularies import EVENT_TYPES, codes

# Docstrings of helper classes that once leaked into operations.
HELPER_DOCS = ("Mix into an APIView", "``end(", "`end(caller", "Base for request bodies")


@pytest.fixture(scope="module")
def spec(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        return yaml.safe_load(Client().get("/api/schema/").content)


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def parameter(operation, name):
    return next((p for p in operation.get("parameters", []) if p["name"] == name), None)


def test_every_operation_has_its_own_description(spec):
    for path, method, operation in operations(spec):
        description = operation.get("description", "")
        assert description, (path, method)
        assert not any(doc in description for doc in HELPER_DOCS), (path, method, description)


def test_no_component_is_described_by_a_helper_s_docstring(spec):
    for name, component in spec["components"]["schemas"].items():
        assert not any(doc in component.get("description", "") for doc in HELPER_DOCS), name


def test_creating_posts_document_idempotency_key_and_replays(spec):
    from django.urls import get_resolver

    idempotent = set()
    for path, method, operation in operations(spec):
        if method == "post" and parameter(operation, "Idempotency-Key"):
            idempotent.add(path)
            created = operation["responses"].get("201") or operation["responses"]["200"]
            assert "Idempotent-Replayed" in created["headers"], path
    assert {"/api/v1/referrals/", "/api/v1/subjects/", "/api/v1/subjects/{subject_id}/consents/",
            "/api/v1/webhook-endpoints/", "/api/v1/referrals/{referral_id}/updates/"} <= idempotent
    # ... and only the views that honour the header.
    views = {
        pattern.callback.view_class for pattern in _patterns(get_resolver())
        if issubclass(getattr(pattern.callback, "view_class", object), IdempotentCreateMixin)
    }
    assert len(idempotent) == len(views)


def _patterns(resolver):
    for pattern in resolver.url_patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _patterns(pattern)
        else:
            yield pattern


def test_etags_are_documented_where_answered(spec):
    referral = spec["paths"]["/api/v1/referrals/{referral_id}"]["get"]
    transition = spec["paths"]["/api/v1/referrals/{referral_id}/transition"]["post"]
    assert "ETag" in referral["responses"]["200"]["headers"]
    assert "ETag" in transition["responses"]["200"]["headers"]
    assert parameter(transition, "If-Match")["required"] is True
    assert {"400", "412", "428"} <= set(transition["responses"])


def test_the_transition_table_is_the_state_machine(spec):
    description = spec["paths"]["/api/v1/referrals/{referral_id}/transition"]["post"]["description"]
    rows = [line for line in description.splitlines() if line.startswith("| `")]
    table = {}
    for row in rows:
        frm, to, who, needs = (cell.strip() for cell in row.strip("|").split("|"))
        table[(frm.strip("`"), to.strip("`"))] = (who, needs)
    assert {key: who for key, (who, _) in table.items()} == lifecycle.TRANSITIONS
    for (_, to), (_, needs) in table.items():
        assert ("`reason`" in needs) == (to in lifecycle.NEEDS_REASON)
        assert ("`outcome`" in needs) == (to in lifecycle.NEEDS_OUTCOME)
    assert all(f"`{reason}`" in description for reason in lifecycle.OUTCOME_REASONS)


def test_the_event_payload_lists_every_event_type(spec):
    event = spec["components"]["schemas"]["EventOutput"]
    assert event["properties"]["type"] == {"$ref": "#/components/schemas/EventTypeEnum"}
    assert spec["components"]["schemas"]["EventTypeEnum"]["enum"] == list(codes(EVENT_TYPES))
    assert all(f"`{code}`" in event["description"] for code in codes(EVENT_TYPES))
    feed = spec["components"]["schemas"]["EventFeedOutput"]["properties"]["results"]["items"]
    assert feed == {"$ref": "#/components/schemas/FeedEventOutput"}


def test_lists_are_documented_as_the_objects_they_are(spec):
    for path in ("/api/v1/referrals/{referral_id}/updates/", "/api/v1/notices/",
                 "/api/v1/webhook-endpoints/{endpoint_id}/deliveries/", "/api/v1/webhook-endpoints/"):
        ref = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        component = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert component["properties"]["results"]["type"] == "array", path
    state = spec["paths"]["/api/v1/subjects/{subject_id}/consent-state"]["get"]["responses"]["200"]
    assert state["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ConsentStateOutput"}
    detail = spec["components"]["schemas"]["ReferralDetailOutput"]["properties"]
    assert {"reason", "status_reason", "payload", "withheld_categories", "subject"} <= set(detail)
    assert detail["status_reason"]["nullable"] is True
    assert "secret" in spec["components"]["schemas"]["WebhookEndpointCreatedOutput"]["properties"]
    assert "receipt" in spec["components"]["schemas"]["ConsentCreatedOutput"]["properties"]
