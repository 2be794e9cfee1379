"""SSRF guard: webhook URLs that resolve to loopback, private, link-local or
other non-public addresses are refused at registration (422, pointer /url)
unless WEBHOOK_ALLOWED_NETWORKS allow-lists them, and checked again at every
delivery, since a name may later resolve elsewhere (DNS rebinding).

Name resolution is faked at the boundary (socket.getaddrinfo); literal
addresses and every other name go to the real resolver."""

import socket

import pytest

from agencies.models import Delivery, WebhookEndpoint
from agencies.webhooks import URL_REFUSED

from .conftest import WEBHOOK_ENDPOINTS, refer, subject_with_consent

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.216.34"
_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch):
    """host -> list of addresses, or a callable returning one (asked per lookup)."""
    answers: dict = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return _real_getaddrinfo(host, port, *args, **kwargs)
        addresses = answers[host]() if callable(answers[host]) else answers[host]
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0)) if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answers.update({
        "internal.example": ["10.0.0.5"],
        "metadata.example": ["169.254.169.254"],
        "loopback.example": ["127.0.0.1"],
        "mixed.example": [PUBLIC, "10.0.0.7"],  # one private answer is enough to refuse
        "hooks.example.org": [PUBLIC],
    })
    return answers


def post_endpoint(party, url):
    return party.post(WEBHOOK_ENDPOINTS, {"url": url, "events": []})


def assert_refused(response):
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == URL_REFUSED
    assert [e["pointer"] for e in body["errors"]] == ["/url"]


NON_PUBLIC = [
    "http://127.0.0.1:{port}/hook",
    "http://[::1]:{port}/hook",
    "http://10.0.0.1/hook",
    "http://192.168.1.20/hook",
    "http://172.16.5.4/hook",
    "http://100.64.0.1/hook",  # carrier-grade NAT
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:10.0.0.1]/hook",  # IPv4-mapped IPv6
    "http://0.0.0.0:{port}/hook",
    "http://localhost:{port}/hook",
    "http://internal.example/hook",
    "http://metadata.example/latest/meta-data/",
    "http://loopback.example:{port}/hook",
    "http://mixed.example/hook",
]


@pytest.mark.parametrize("url", NON_PUBLIC)
def test_non_public_addresses_are_refused_without_an_allow_list(shelter, receiver, dns, settings, url):
    settings.WEBHOOK_ALLOWED_NETWORKS = []

    response = post_endpoint(shelter, url.format(port=receiver.port))

    assert_refused(response)
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url, accepted", [
    ("http://127.0.0.1:{port}/hook", True),
    ("http://[::1]:{port}/hook", True),
    ("http://loopback.example:{port}/hook", True),
    ("http://10.0.0.1/hook", False),
    ("http://169.254.169.254/latest/meta-data/", False),
    ("http://internal.example/hook", False),
])
def test_the_test_settings_allow_list_admits_loopback_only(shelter, receiver, dns, url, accepted):
    response = post_endpoint(shelter, url.format(port=receiver.port))

    if accepted:
        assert response.status_code == 201, response.content
    else:
        assert_refused(response)


@pytest.mark.parametrize("url, accepted", [
    ("http://10.0.0.1/hook", True),
    ("http://internal.example/hook", True),
    ("http://127.0.0.1:{port}/hook", False),
    ("http://169.254.169.254/latest/meta-data/", False),
    ("http://mixed.example/hook", True),
])
def test_an_allow_listed_network_is_admitted(shelter, receiver, dns, settings, url, accepted):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    response = post_endpoint(shelter, url.format(port=receiver.port))

    if accepted:
        assert response.status_code == 201, response.content
    else:
        assert_refused(response)


def test_a_public_host_is_accepted_without_an_allow_list(shelter, dns, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []

    response = post_endpoint(shelter, "https://hooks.example.org/welfare")

    assert response.status_code == 201, response.content


@pytest.mark.parametrize("url", [
    "http://hooks.example.org/welfare",  # plain http where it is not allowed
    "https://user:pw@hooks.example.org/welfare",  # credentials in the URL
    "https://does-not-resolve.invalid/hook",
])
def test_other_unusable_urls_are_refused_at_url(shelter, dns, settings, url):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    settings.WEBHOOK_ALLOW_HTTP = False

    response = post_endpoint(shelter, url)

    assert_refused(response)


def test_an_out_of_range_port_is_refused_not_a_server_error(shelter):
    response = post_endpoint(shelter, "http://127.0.0.1:99999/hook")

    assert_refused(response)


def test_a_host_that_later_resolves_privately_is_not_sent_to(
    ops, shelter, receiver, dns, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    dns["rebind.example"] = [PUBLIC]
    created = post_endpoint(shelter, f"http://rebind.example:{receiver.port}/hook")
    assert created.status_code == 201, created.content
    receiver.secrets["/hook"] = created.json()["secret"]
    subject_id, _ = subject_with_consent(ops, [shelter])
    dns["rebind.example"] = ["127.0.0.1"]  # the name now points at the hub's own network

    with django_capture_on_commit_callbacks(execute=True):
        refer(ops, shelter, subject_id)

    delivery = Delivery.objects.get()
    assert receiver.attempts == [] and receiver.rejected == []
    assert delivery.status == Delivery.PENDING and delivery.attempts == 1
    assert delivery.last_status_code is None and "non-public" in delivery.last_error


def test_a_rebinding_answer_between_check_and_connect_is_not_followed(
    ops, shelter, receiver, dns, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    dns["rebind.example"] = [PUBLIC]
    created = post_endpoint(shelter, f"http://rebind.example:{receiver.port}/hook")
    receiver.secrets["/hook"] = created.json()["secret"]
    subject_id, _ = subject_with_consent(ops, [shelter])
    answers = iter([[PUBLIC]])  # the check gets the public answer, every later lookup the private one
    dns["rebind.example"] = lambda: next(answers, ["127.0.0.1"])

    with django_capture_on_commit_callbacks(execute=True):
        refer(ops, shelter, subject_id)

    assert receiver.attempts == [] and receiver.rejected == []
