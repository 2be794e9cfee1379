"""A real Celery worker on RabbitMQ, killed with SIGKILL in the middle of a
delivery and restarted: every event still reaches the receiver; an event
arrives twice only as a redelivery with the same webhook-id and body.

The worker runs tests/events/worker_settings.py against this test's
PostgreSQL database (committed data: ledger_transactional_db) and consumes a
queue of this run's own; the test process sends its tasks (the relay nudges
on commit, the beat sweep) to the same queue. RabbitMQ is started if it is
down: this test never skips."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from django.conf import settings
from kombu import pools as kombu_pools
from kombu import Connection

from agencies.models import Delivery, OutboxEvent
from agencies.tasks import outbox_sweep_task
from hub.celery import app

from .conftest import refer, register, subject_with_consent

pytestmark = pytest.mark.postgres

BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
ROOT = Path(__file__).resolve().parents[2]
REFERRALS = 30
WAIT_SECONDS = 40  # for all deliveries after the restart; the test takes about 15 s


def _broker_port_open() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def rabbitmq():
    """RabbitMQ on 127.0.0.1:5672, started (detached) when it is not running."""
    if not _broker_port_open():
        subprocess.run(["rabbitmq-server", "-detached"], check=False, capture_output=True)
    deadline = time.monotonic() + 60
    while not _broker_port_open():
        assert time.monotonic() < deadline, "RabbitMQ did not start within 60 s"
        time.sleep(0.5)
    with Connection(BROKER_URL) as connection:
        connection.ensure_connection(max_retries=60, interval_start=0.5, interval_step=0, interval_max=0.5)
    return BROKER_URL


def _broker_op(broker_url, operation) -> None:
    """Run one channel operation; a missing queue or exchange is fine."""
    with Connection(broker_url) as connection:
        try:
            operation(connection.channel())
        except Exception:  # the channel is closed by a 404; nothing to clean up
            pass


@pytest.fixture
def queue(rabbitmq):
    """This run's own queue; purged and deleted afterwards."""
    name = f"hub-test-{uuid.uuid4().hex[:12]}"
    yield name
    _broker_op(rabbitmq, lambda channel: channel.queue_purge(name))
    _broker_op(rabbitmq, lambda channel: channel.queue_delete(name))
    _broker_op(rabbitmq, lambda channel: channel.exchange_delete(name))


def _forget_connections() -> None:
    """Drop the app's cached broker pool and routing so a changed conf takes effect."""
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.__dict__.pop("amqp", None)
    # kombu keeps producer pools in a process-wide registry keyed by broker URL;
    # a pool left there would hold the closed connections of the old one.
    kombu_pools.reset()


@pytest.fixture
def celery_on_rabbitmq(rabbitmq, queue):
    """The test process sends tasks to RabbitMQ, to `queue`, instead of running them eagerly."""
    wanted = {"task_always_eager": False, "broker_url": rabbitmq, "task_default_queue": queue}
    # The app reads Django settings with the CELERY_ namespace: an update needs the prefixed keys.
    changes = {f"CELERY_{key.upper()}": value for key, value in wanted.items()}
    saved = {f"CELERY_{key.upper()}": app.conf[key] for key in wanted}
    _forget_connections()
    app.conf.update(changes)
    assert (app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue) == (False, rabbitmq, queue)
    yield rabbitmq
    _forget_connections()
    app.conf.update(saved)


class Workers:
    """`celery -A hub worker` processes, each in a process group of its own."""

    def __init__(self, broker_url: str, queue: str, log_dir: Path):
        self.broker_url, self.queue, self.log_dir, self.processes = broker_url, queue, log_dir, []

    def start(self) -> subprocess.Popen:
        number = len(self.processes) + 1
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.events.worker_settings",
            "HUB_TEST_QUEUE": self.queue,
            "HUB_TEST_DB_NAME": settings.DATABASES["default"]["NAME"],
            "HUB_TEST_KEYS_DB_NAME": settings.DATABASES.get("keys", {}).get("NAME", ""),
            "HUB_TEST_BROKER_URL": self.broker_url,
            "CELERY_BROKER_URL": self.broker_url,
            "PYTHONPATH": str(ROOT),
        }
        command = [
            sys.executable, "-m", "celery", "-A", "hub", "worker", "-Q", self.queue, "-P", "prefork", "-c", "2",
            "-n", f"{self.queue}-{number}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-l", "INFO",
        ]
        log = open(self.log_dir / f"worker-{number}.log", "wb")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        log.close()
        self.processes.append(process)
        return process

    @staticmethod
    def kill9(process: subprocess.Popen) -> None:
        """kill -9 the worker: its main process and its pool children at once."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)
            try:  # pool children orphaned by a kill of the main process
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n" + path.read_text(errors="replace")[-3000:] for path in sorted(self.log_dir.glob("*.log"))
        )


@pytest.fixture
def workers(ledger_transactional_db, receiver, celery_on_rabbitmq, queue, tmp_path):
    """Torn down before the database is flushed and the receiver stopped."""
    started = Workers(celery_on_rabbitmq, queue, tmp_path)
    yield started
    started.stop_all()


def beat_until(condition, seconds: float, receiver, why) -> None:
    """Send the sweep once a second, as beat does, until condition(receiver)
    holds; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition(receiver):
        assert time.monotonic() < deadline, why()
        outbox_sweep_task.delay()
        receiver.wait_for(condition, timeout=1.0)


def test_a_worker_killed_mid_delivery_loses_no_event(workers, ops, shelter, receiver):
    register(shelter, receiver, "/shelter")
    subject_id, _ = subject_with_consent(ops, [shelter])
    receiver.delay = 0.15  # each delivery takes a while: there is a middle to kill the worker in
    for _ in range(REFERRALS):
        refer(ops, shelter, subject_id)  # each commit sends a relay nudge to RabbitMQ
    # The feed's audience rows are written by the relay, so select by the event's own list.
    expected = {str(e.id) for e in OutboxEvent.objects.all() if str(shelter.agency.id) in e.agencies}
    assert len(expected) == REFERRALS

    def progress():
        return f"{len(set(receiver.event_ids('/shelter')))}/{len(expected)} events arrived:\n" + workers.logs()

    def in_flight(r):  # a few delivered, and one sent but not yet answered
        return len(r.received) >= 5 and r.arrived > len(r.attempts) + len(r.rejected)

    def everything_arrived(r):
        return expected <= set(r.event_ids("/shelter"))

    first = workers.start()
    beat_until(in_flight, 30, receiver, progress)
    workers.kill9(first)
    seen_before_kill = set(receiver.event_ids("/shelter"))
    workers.start()
    beat_until(everything_arrived, WAIT_SECONDS, receiver, progress)
    deadline = time.monotonic() + 10  # the last answers are being recorded
    while Delivery.objects.exclude(status=Delivery.DELIVERED).exists():
        assert time.monotonic() < deadline, progress()
        time.sleep(0.1)

    assert len(seen_before_kill) < len(expected)  # the kill came in the middle
    assert receiver.rejected == []  # every signature verified
    arrivals = Counter(receiver.event_ids("/shelter"))
    assert set(arrivals) == expected  # nothing lost, nothing foreign
    bodies = defaultdict(set)
    for request in receiver.received:
        assert request.webhook_id == request.event_id
        bodies[request.webhook_id].add(request.raw)
    assert all(len(raw) == 1 for raw in bodies.values())  # a repeat is the same message
    # The delivery cut by the kill was answered but never recorded: it is sent again.
    assert sum(arrivals.values()) > len(expected)
    assert Delivery.objects.filter(status=Delivery.DELIVERED).count() == len(expected)
