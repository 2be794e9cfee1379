"""The production smoke test (issue 13, item 7), without Docker.

The hub's three process types started as a deployment runs them, with
production settings (tests/deploy/smoke_settings.py: production plus a queue
of this run's own and a loopback webhook receiver) and connecting to
PostgreSQL as the runtime role, which owns nothing (test_db_roles.py):

- gunicorn on a free loopback port, with deploy/gunicorn.conf.py when it
  exists; requests carry `X-Forwarded-Proto: https` and `X-Forwarded-For`
  as the TLS-terminating proxy in front would send them;
- a Celery worker and Celery beat on RabbitMQ (started when it is down).

The operator's steps come first: throwaway databases and roles (made as
deploy/postgres/init-roles.sh makes them: the owner role owns the databases),
both databases migrated as the owner and `db_roles` applied by it, agencies, OAuth2 clients and a user made
with the management commands. Then everything goes over HTTP: tokens from
/o/token/, each agency registers a webhook endpoint, the OPS registers a
person and her consent and sends a referral, the shelter takes it from
requested to completed (each transition with If-Match, the ETag it was
given). Every `referral.*` webhook must reach both receivers, signed
(Standard Webhooks, verified with the endpoint's secret); the ledger must be
sequenced and `verify_ledger` must pass; every process must stop on SIGTERM
with status 0 and leave nothing behind.

Waits poll with generous limits, only to fail instead of hang; nothing is
judged on speed. Marked `postgres` (deselected on SQLite) and `smoke`."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
import urllib3
from kombu import Connection
from standardwebhooks import Webhook

from tests.events.receiver import Receiver

from .test_db_roles import ROOT, Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.smoke]

BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
SETTINGS = "tests.deploy.smoke_settings"
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
HOST = "hub.smoke.test"
PROXY_HEADERS = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.10"}
# Limits that only turn a hang into a failure.
READY_SECONDS = 120
ARRIVAL_SECONDS = 180
STOP_SECONDS = 60

OPS_SCOPES = "subjects:write consents:write referrals:read referrals:write webhooks:manage"
SHELTER_SCOPES = "referrals:read referrals:write webhooks:manage"
REFERRAL_EVENTS = [
    "referral.requested", "referral.received", "referral.accepted", "referral.in_progress", "referral.completed",
]
STEPS = [
    {"status": "received"}, {"status": "accepted"}, {"status": "in-progress"},
    {"status": "completed", "outcome": {"success": True}},
]
PROFILE = {
    "person": {"given_name": "Anna", "family_name": "Nowak", "birth_date": "1970-01-01"},
    "contact": {"phone": "+48 600 100 200"},
    "safe_contact": {"channel": "sms", "codeword": "konwalia"},
    "languages": ["pl"],
}
PAYLOAD = {
    "summary": "Needs a safe place tonight; two children.",
    "risk": {"level": "high", "notes": "Partner threatened her yesterday."},
    "health": {"notes": "Asthma; inhaler needed."},
}
CONSENTED = ["identity", "safe_contact", "case_notes", "risk"]
WITHHOLD = ["health", "contact", "demographics"]


# --- the broker ------------------------------------------------------------------------


def _broker_port_open() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def broker():
    """RabbitMQ on 127.0.0.1:5672, started (detached) when it is down, as .ci/run does."""
    if not _broker_port_open():
        subprocess.run(["rabbitmq-server", "-detached"], check=False, capture_output=True)
    deadline = time.monotonic() + READY_SECONDS
    while not _broker_port_open():
        assert time.monotonic() < deadline, "RabbitMQ did not start"
        time.sleep(0.5)
    with Connection(BROKER_URL) as connection:
        connection.ensure_connection(max_retries=60, interval_start=0.5, interval_step=0, interval_max=0.5)
    return BROKER_URL


@pytest.fixture
def queue(broker):
    """This run's own queue, deleted afterwards with its exchange."""
    name = f"hub-smoke-{uuid.uuid4().hex[:12]}"
    yield name
    for operation in (lambda c: c.queue_delete(name), lambda c: c.exchange_delete(name)):
        with Connection(broker) as connection:
            try:
                operation(connection.channel())
            except Exception:  # never declared: nothing to remove
                pass


# --- the processes ---------------------------------------------------------------------


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


class Processes:
    """The hub's processes, each the leader of a process group of its own (so
    that a signal reaches its workers too), each writing one log file."""

    def __init__(self, log_dir: Path):
        self.log_dir, self.started = log_dir, {}
        self.stopped: dict | None = None

    def start(self, name: str, command: list[str], env: dict) -> None:
        with open(self.log_dir / f"{name}.log", "wb") as log:
            self.started[name] = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def assert_running(self) -> None:
        exited = {name: p.returncode for name, p in self.started.items() if p.poll() is not None}
        assert not exited, f"exited early: {exited}\n{self.logs()}"

    def stop(self) -> tuple[dict, list]:
        """SIGTERM to each main process, as a container platform sends it
        (gunicorn's and Celery's own children are theirs to stop), wait for it
        and then for its whole group to be gone; SIGKILL the group of whatever
        outlives STOP_SECONDS. (exit statuses, groups that had to be killed).
        Safe to call again."""
        if self.stopped is not None:
            return self.stopped
        for process in self.started.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        statuses, killed = {}, []
        for name, process in self.started.items():
            try:
                statuses[name] = process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                statuses[name] = "still running"
            while _group_alive(process.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _group_alive(process.pid):
                killed.append(name)
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        self.stopped = statuses, killed
        return self.stopped

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}" for path in sorted(self.log_dir.glob("*.log"))
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_command(port: int) -> list[str]:
    """The deployment's gunicorn configuration when there is one (the address
    and worker count given here win over it), plain flags otherwise."""
    command = [sys.executable, "-m", "gunicorn"]
    if GUNICORN_CONFIG.exists():
        command += ["-c", str(GUNICORN_CONFIG)]
    else:
        command += ["--access-logfile", "-", "--error-logfile", "-", "--graceful-timeout", "20"]
    return command + ["--bind", f"127.0.0.1:{port}", "--workers", "2", "hub.wsgi:application"]


def celery_commands(queue: str, state_dir: Path) -> dict[str, list[str]]:
    celery = [sys.executable, "-m", "celery", "-A", "hub"]
    return {
        "worker": [*celery, "worker", "-Q", queue, "-c", "2", "-n", f"{queue}@%h", "-l", "INFO"],
        "beat": [*celery, "beat", "-s", str(state_dir / "celerybeat-schedule"), "-l", "INFO"],
    }


# --- HTTP, as an agency's system behind the proxy ---------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict
    body: dict

    def expect(self, status: int, logs) -> dict:
        assert self.status == status, f"{self.status} {self.body}\n{logs()}"
        return self.body


class Hub:
    def __init__(self, port: int, processes: Processes):
        self.pool = urllib3.HTTPConnectionPool("127.0.0.1", port, timeout=30.0, retries=False, maxsize=2)
        self.processes = processes

    def request(self, method: str, path: str, *, token: str = "", body=None, form=None, headers=None) -> Answer:
        sent = {**PROXY_HEADERS, **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data, sent["Content-Type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
        response = self.pool.urlopen(method, path, body=data, headers=sent, redirect=False)
        text = response.data.decode(errors="replace")
        try:
            parsed = json.loads(text) if text else {}
        except ValueError:
            parsed = {"text": text[:500]}
        return Answer(response.status, dict(response.headers), parsed)

    def wait_ready(self) -> None:
        """/readyz answers 200 once a web worker reaches the database and the broker."""
        deadline = time.monotonic() + READY_SECONDS
        while True:
            self.processes.assert_running()
            try:
                if self.request("GET", "/readyz").status == 200:
                    return
            except urllib3.exceptions.HTTPError:
                pass  # not listening yet
            assert time.monotonic() < deadline, f"/readyz never answered 200\n{self.processes.logs()}"
            time.sleep(0.5)

    def token(self, client: dict, scope: str) -> str:
        basic = b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
        answer = self.request(
            "POST", "/o/token/", form={"grant_type": "client_credentials", "scope": scope},
            headers={"Authorization": f"Basic {basic}"},
        )
        return answer.expect(200, self.processes.logs)["access_token"]


# --- the operator's steps -----------------------------------------------------------------


def seed(manage_each) -> dict:
    """Agencies, OAuth2 clients and a user through the management commands
    (the commands of each round side by side): `manage_each(commands)` runs
    them as the deployment does and returns what each printed."""

    def manage(*commands):
        return [json.loads(out) for out in manage_each([[*c, "--json"] for c in commands])]

    ops, shelter = (agency["id"] for agency in manage(
        ["add_agency", "--name", "MOPS Smoke", "--kind", "ops"],
        ["add_agency", "--name", "Schronisko Smoke", "--kind", "shelter"],
    ))
    ops_client, shelter_client, _ = manage(
        ["add_client", "--agency", ops, "--scope", OPS_SCOPES],
        ["add_client", "--agency", shelter, "--scope", SHELTER_SCOPES],
        ["add_user", "--agency", ops, "--username", "smoke-caseworker", "--password", "a smoke test passphrase 7",
         "--role", "caseworker"],
    )
    return {"ops": ops, "shelter": shelter, "ops_client": ops_client, "shelter_client": shelter_client}


# --- the lifecycle, over HTTP: shared with the compose stack's run (test_compose_smoke.py) ---


def carry_a_referral(hub: Hub, seeded: dict, receiver: Receiver, hook_host: str = "127.0.0.1") -> str:
    """Tokens, each agency's webhook endpoint (at `hook_host`, where the
    hub's workers reach this process), a person and her consent, a referral
    taken from requested to completed with If-Match. Returns its id."""
    logs = hub.processes.logs
    ops_token = hub.token(seeded["ops_client"], OPS_SCOPES)
    shelter_token = hub.token(seeded["shelter_client"], SHELTER_SCOPES)
    for token, path in ((ops_token, "/ops"), (shelter_token, "/shelter")):
        endpoint = hub.request("POST", "/api/v1/webhook-endpoints/", token=token,
                               body={"url": receiver.url(path, hook_host), "events": REFERRAL_EVENTS}).expect(201, logs)
        receiver.secrets[path] = endpoint["secret"]

    subject = hub.request("POST", "/api/v1/subjects/", token=ops_token,
                          body={"external_ref": "SMOKE/1", "profile": PROFILE}).expect(201, logs)["id"]
    hub.request("POST", f"/api/v1/subjects/{subject}/consents/", token=ops_token, body={
        "recipients": {"agencies": [seeded["shelter"]]}, "categories": CONSENTED, "purposes": ["referral"],
        "form": "written", "grantor": "subject", "evidence_sha256": "a" * 64,
    }).expect(201, logs)
    referral = hub.request("POST", "/api/v1/referrals/", token=ops_token, body={
        "subject": subject, "to_agency": seeded["shelter"], "service": "shelter", "urgency": "emergency",
        "purpose": "referral", "payload": PAYLOAD, "reason": "Violence at home.", "withhold_categories": WITHHOLD,
    }).expect(201, logs)["id"]

    read = hub.request("GET", f"/api/v1/referrals/{referral}", token=shelter_token)
    read.expect(200, logs)
    assert read.body["payload"]["summary"] == PAYLOAD["summary"]
    assert "health" in read.body["withheld_categories"]
    etag = read.headers["ETag"]
    for step in STEPS:
        moved = hub.request("POST", f"/api/v1/referrals/{referral}/transition", token=shelter_token, body=step,
                            headers={"If-Match": etag})
        moved.expect(200, logs)
        etag = moved.headers["ETag"]
    final = hub.request("GET", f"/api/v1/referrals/{referral}", token=shelter_token).expect(200, logs)
    assert final["status"] == "completed"
    return referral


def wait_for_webhooks_and_ledger(receiver: Receiver, processes, pending_entries) -> None:
    """Every `referral.*` webhook reached both receivers, and the sequencer
    has given every ledger entry its leaf (`pending_entries()` is 0)."""
    paths = ("/ops", "/shelter")
    _wait(lambda: all(_types_arrived(receiver, path) >= set(REFERRAL_EVENTS) for path in paths), ARRIVAL_SECONDS,
          processes, lambda: f"webhooks so far: { {path: sorted(_types_arrived(receiver, path)) for path in paths} }, "
                             f"rejected: {receiver.rejected}")
    _wait(lambda: pending_entries() == 0, ARRIVAL_SECONDS, processes,
          lambda: f"{pending_entries()} ledger entries still unsequenced")


def assert_webhooks_signed(receiver: Receiver, referral: str) -> None:
    assert receiver.rejected == []  # every delivery's signature verified
    for request in receiver.received:
        # The receiver verified it; again here, with the library and the secret, to say so.
        Webhook(receiver.secrets[request.path]).verify(request.raw, request.headers)
        assert request.body["object"] == {"type": "referral", "id": referral}


# --- fixtures, torn down in reverse: processes, receiver, queue, databases ---------------


@pytest.fixture
def cluster():
    made = Cluster("hub_smoke")
    try:
        # As the compose stack does: the roles own the databases, only the owner runs db_roles.
        made.set_up(bootstrap=False)
        yield made
    finally:
        made.drop()


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def processes(cluster, queue, receiver, tmp_path):
    started = Processes(tmp_path)
    yield started
    started.stop()


def _wait(condition, seconds: float, processes, why) -> None:
    """`processes`: whatever runs the hub (Processes, or the compose stack)."""
    deadline = time.monotonic() + seconds
    while not condition():
        processes.assert_running()
        assert time.monotonic() < deadline, f"{why()}\n{processes.logs()}"
        time.sleep(0.5)


def _types_arrived(receiver: Receiver, path: str) -> set[str]:
    return {request.body["type"] for request in receiver.received if request.path == path}


def _pending_entries(cluster: Cluster) -> int:
    with cluster.connect(cluster.runtime, cluster.main) as app:
        return app.execute("SELECT count(*) FROM consent_ledger_ledgerpending").fetchone()[0]


def test_production_processes_carry_a_referral_and_its_signed_webhooks(cluster, queue, receiver, processes, tmp_path):
    env = cluster.env(
        cluster.runtime, DJANGO_SETTINGS_MODULE=SETTINGS, HUB_SMOKE_QUEUE=queue, CELERY_BROKER_URL=BROKER_URL,
        WEBHOOK_ALLOW_HTTP="true", WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    for directory in ("static", "metrics"):
        (tmp_path / directory).mkdir()
    # The production settings themselves pass the deployment checks.
    cluster.manage(cluster.runtime, "check", "--deploy", "--fail-level", "WARNING")
    seeded = seed(lambda commands: cluster.manage_each(cluster.runtime, commands, env=env))

    port = _free_port()
    processes.start("gunicorn", gunicorn_command(port), env)
    for name, command in celery_commands(queue, tmp_path).items():
        processes.start(name, command, env)
    hub = Hub(port, processes)
    hub.wait_ready()

    referral = carry_a_referral(hub, seeded, receiver)
    wait_for_webhooks_and_ledger(receiver, processes, lambda: _pending_entries(cluster))
    statuses, killed = processes.stop()
    report = json.loads(cluster.manage(cluster.runtime, "verify_ledger", "--json"))
    with cluster.connect(cluster.runtime, cluster.main) as app:
        entries = app.execute("SELECT count(*) FROM consent_ledger_ledgerentry").fetchone()[0]

    assert_webhooks_signed(receiver, referral)
    assert statuses == dict.fromkeys(processes.started, 0), processes.logs()
    assert killed == [], processes.logs()
    assert report["ok"], report
    assert report["tree_size"] == entries > 0
