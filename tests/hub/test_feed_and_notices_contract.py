"""The pull feed's cursor and the revocation notices' scopes (issue 16,
items 5 and 6)."""

from agencies.api.event_views import CURSOR_AHEAD
from agencies.events import event_feed_end, outbox_relay_all
from hub.api.errors import INSUFFICIENT_SCOPE
from tests.referrals.conftest import ops, referral_id, shelter, subject_id  # noqa: F401

EVENTS = "/api/v1/events/"


def test_a_cursor_beyond_the_end_of_the_feed_is_refused_with_the_current_end(shelter, referral_id):  # noqa: F811
    outbox_relay_all()
    end = event_feed_end()
    assert end > 0

    response = shelter.get(EVENTS, after=end + 1)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == CURSOR_AHEAD and body["cursor"] == end
    assert body["errors"][0]["parameter"] == "after"
    assert str(end) in body["detail"]


def test_the_end_of_the_feed_itself_is_a_valid_cursor_with_nothing_after_it(shelter, referral_id):  # noqa: F811
    outbox_relay_all()
    end = event_feed_end()

    response = shelter.get(EVENTS, after=end)

    assert response.status_code == 200
    assert response.json() == {"results": [], "cursor": end}


def test_another_agency_s_later_events_do_not_make_an_earlier_cursor_invalid(party, shelter, referral_id):  # noqa: F811
    """Positions are the feed's, shared by every agency: an agency with no
    event of its own may still pass the feed's current end."""
    outbox_relay_all()
    bystander = party("Fundacja Bez Zdarzeń", "ngo")

    response = bystander.get(EVENTS, after=event_feed_end())

    assert response.status_code == 200 and response.json()["results"] == []


def test_acknowledging_a_notice_is_a_write_that_needs_consents_write(party, db):
    reader = party("Schronisko Czytelnik", "shelter", scopes=["events:read"])
    notice = "00000000-0000-0000-0000-000000000001"

    response = reader.post(f"/api/v1/notices/{notice}/ack")

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == INSUFFICIENT_SCOPE and body["required_scopes"] == ["consents:write"]
    assert reader.get("/api/v1/notices/").status_code == 200  # reading them stays events:read
