"""Commit-to-first-delivery-attempt latency of the event pipeline with a real
Celery worker on RabbitMQ (issue 5, last acceptance bullet; target p99 < 2 s).

    .venv/bin/python -m bench.events [--rate 50] [--duration 60] [--workers 1] [--concurrency 2]

Creates a throwaway PostgreSQL database (BENCH_DATABASE_URL names the server
and a database to connect to for CREATE/DROP DATABASE; default
postgres://postgres@127.0.0.1:5432/postgres), migrates it with
bench.events_settings, starts a webhook receiver (a threaded http.server on
127.0.0.1 in this process, recording when the first attempt of each
webhook-id arrives), seeds two agencies and a webhook endpoint of the
recipient pointing at it, starts Celery worker subprocesses consuming a queue
of this run's own on RabbitMQ (amqp://guest:guest@127.0.0.1:5672//), then
emits events at a steady rate from this process: each in its own
transaction.atomic() with agencies.events.event_emit, paced by a monotonic
schedule. The on-commit nudge publishes the relay task; the relay creates the
delivery and enqueues webhook_deliver_task; the worker POSTs to the receiver.
Once a second the driver also sends agencies.tasks.outbox_sweep_task (what
beat does in a deployment: the safety net).

Latency is measured from the moment COMMIT returned (an on_commit callback
registered before event_emit's own, so before the nudge is published) to the
arrival of the first delivery attempt at the receiver; both clocks are this
process's time.time(). It prints events, duration, achieved rate, latency
p50/p90/p99/max, lost events (no attempt within --drain-timeout after the last
commit) and PASS/BELOW against the target, then where the time went (commit
to relay, relay to attempt), per-window percentiles, the CPU the machine, this
process and the workers used while emitting, and the deepest the queues got.
Not a test: CI never runs it and BELOW does not fail it; lost events, a worker
that does not start or a set-up error do (exit status 1). The load generator,
the receiver, the workers, PostgreSQL and RabbitMQ share the machine's cores
(and so does anything else running: see the CPU line), so the figure is
pessimistic for a deployment. Workers are stopped, the queues purged and
deleted and the database dropped on the way out.
"""

import argparse
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
SETTINGS = "bench.events_settings"
DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"
TARGET_P99_MS = 2000.0
EVENT_TYPE = "referral.requested"


# --- the throwaway database ---------------------------------------------------


def _database_url(admin_url: str, name: str) -> str:
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


def _database_create(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _database_drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        # FORCE (PostgreSQL 13+) ends any session a killed worker left behind.
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _django_setup() -> None:
    import django

    django.setup()
    import hub.celery  # noqa: F401  the app the tasks' .delay() publishes with


def _django_close() -> None:
    from django.apps import apps
    from django.db import connections

    if not apps.ready:
        return
    for connection in connections.all():
        connection.close()
        if hasattr(connection, "close_pool"):
            connection.close_pool()


# --- the webhook receiver -----------------------------------------------------


class Receiver(ThreadingHTTPServer):
    """Records, per webhook-id, when its first attempt arrived (time.time(),
    taken before the body is read) and how many attempts came in all."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self):
        super().__init__((HOST, 0), _ReceiverHandler)
        self.lock = threading.Lock()
        self.first: dict[str, float] = {}
        self.attempts = 0
        self.without_id = 0
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/hook"

    def record(self, webhook_id: str | None, at: float) -> None:
        with self.lock:
            self.attempts += 1
            if not webhook_id:
                self.without_id += 1
            elif webhook_id not in self.first:
                self.first[webhook_id] = at

    def arrived(self, ids) -> int:
        with self.lock:
            return sum(1 for i in ids if i in self.first)

    def stop(self) -> None:
        if self.thread.is_alive():
            self.shutdown()
        self.server_close()


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802  (http.server's naming)
        at = time.time()
        self.server.record(self.headers.get("webhook-id"), at)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):  # quiet
        pass


# --- the workers ----------------------------------------------------------------


class Worker:
    """One `celery -A hub worker` in its own process group, logging to a file."""

    def __init__(self, *, index: int, run: str, queues: list[str], concurrency: int, env: dict, log_level: str = "warning"):
        celery = Path(sys.executable).with_name("celery")
        self.name = f"bench-events-{run}-{index}@{HOST}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-events-worker{index}-", suffix=".log", delete=False)
        self.command = [
            *([str(celery)] if celery.exists() else [sys.executable, "-m", "celery"]),
            "-A", "hub", "worker", "-Q", ",".join(queues), "--concurrency", str(concurrency), "-l", log_level, "-n", self.name,
        ]
        self.env = {**env, "PYTHONUNBUFFERED": "1"}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, cwd=REPO, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: finishes the task in hand
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the group this driver started
                self.process.wait()
        self.log.close()

    def remove_log(self) -> None:
        Path(self.log.name).unlink(missing_ok=True)


def _wait_workers(workers: list[Worker], timeout: float = 60) -> None:
    """Until every worker answers a broadcast ping (it then consumes the queue)."""
    from hub.celery import app

    names = {w.name for w in workers}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in workers:
            if worker.process.poll() is not None:
                raise RuntimeError(f"worker exited with {worker.process.returncode}:\n{worker.log_tail()}")
        answered = {name for reply in app.control.ping(timeout=0.5) for name in reply}
        if names <= answered:
            return
    tails = "\n".join(w.log_tail() for w in workers)
    raise RuntimeError(f"workers did not answer a ping within {timeout} s:\n{tails}")


def _queues() -> list[str]:
    """The run's queues: CELERY_TASK_QUEUES when the settings declare several
    (e.g. a queue of the relay's own), else the default queue. All are named
    after BENCH_EVENTS_QUEUE, so they are this run's alone."""
    from django.conf import settings

    declared = getattr(settings, "CELERY_TASK_QUEUES", None)
    return [q.name for q in declared] if declared else [settings.CELERY_TASK_DEFAULT_QUEUE]


class QueueProbe:
    """Messages ready in the run's queues (passive declares), sampled once a second."""

    def __init__(self, queues: list[str]):
        from hub.celery import app

        self.queues = queues
        self.connection = app.connection_for_write()
        self.depths: list[int] = []

    def sample(self) -> None:
        try:
            channel = self.connection.default_channel
            self.depths.append(sum(channel.queue_declare(q, passive=True)[1] for q in self.queues))
        except Exception:  # noqa: BLE001  a probe must never stop the run
            pass

    def close(self) -> None:
        self.connection.release()


def _queues_remove(queues: list[str]) -> None:
    """Purge and delete the run's queues and the direct exchanges Celery
    declared for them (after the workers stopped, so that the messages they
    held unacked are back in the queues)."""
    from hub.celery import app

    for queue in queues:
        with app.connection_for_write() as connection:  # a failed call closes the channel
            try:
                channel = connection.default_channel
                channel.queue_purge(queue)
                channel.queue_delete(queue)
                channel.exchange_delete(queue)
            except Exception as exc:  # noqa: BLE001  never declared (set-up failed early)
                print(f"note: queue {queue} not removed: {exc}", file=sys.stderr)


# --- where the CPU went ------------------------------------------------------------


@dataclass(frozen=True)
class CpuSample:
    """Linux /proc figures, in CPU seconds: the machine's busy and total time,
    this process (load generator and receiver), the workers' process groups."""

    busy: float
    total: float
    driver: float
    workers: float


def _cpu_sample(workers: list) -> CpuSample | None:
    try:
        tick = os.sysconf("SC_CLK_TCK")
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
        idle = values[3] + values[4]  # idle + iowait
        groups = {w.process.pid for w in workers}
        in_groups = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[2]) in groups:  # pgrp: each worker leads its own group
                in_groups += int(fields[11]) + int(fields[12])  # utime + stime
        own = os.times()
        return CpuSample(
            busy=(sum(values) - idle) / tick, total=sum(values) / tick,
            driver=own.user + own.system, workers=in_groups / tick,
        )
    except (OSError, ValueError, IndexError):
        return None  # not Linux: the report leaves the line out


def _cpu_line(before: CpuSample | None, after: CpuSample | None, seconds: float) -> str | None:
    if before is None or after is None or seconds <= 0:
        return None
    cores = (after.total - before.total) / seconds
    busy = (after.busy - before.busy) / seconds
    driver = (after.driver - before.driver) / seconds
    workers = (after.workers - before.workers) / seconds
    return (
        f"CPU while emitting (cores) machine {busy:.2f} of {cores:.0f} busy: driver {driver:.2f}, "
        f"workers {workers:.2f}, rest {max(0.0, busy - driver - workers):.2f} (PostgreSQL, RabbitMQ, anything else running)"
    )


# --- seed and load --------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    sender_id: str
    recipient_id: str


def _seed(receiver_url: str) -> Seed:
    from agencies.callers import Caller
    from agencies.services import agency_create
    from agencies.webhooks import webhook_endpoint_create

    sender = agency_create(name="MOPS Benchmark", kind="ops")
    recipient = agency_create(name="Schronisko Benchmark", kind="shelter")
    webhook_endpoint_create(caller=Caller(agency=recipient, application=None), url=receiver_url, event_types=[EVENT_TYPE])
    return Seed(sender_id=str(sender.id), recipient_id=str(recipient.id))


@dataclass
class Run:
    commits: dict[str, float] = field(default_factory=dict)  # event id -> time.time() right after COMMIT
    published: dict[str, float] = field(default_factory=dict)  # event id -> after the atomic block (nudge sent)
    lags: list[float] = field(default_factory=list)  # seconds behind the schedule at each emit
    started: float = 0.0  # time.time() of the first scheduled emit
    seconds: float = 0.0  # first emit to last commit
    sweeps: int = 0
    cpu: tuple = (None, None)  # CpuSample at the first and the last emit
    load: tuple = ()  # os.getloadavg() before the run


class Sweeper:
    """What beat does in a deployment, on the driver's own clock."""

    def __init__(self, interval: float, probe: QueueProbe):
        from agencies.tasks import outbox_sweep_task

        self.task, self.interval, self.probe = outbox_sweep_task, interval, probe
        self.next = time.monotonic()
        self.count = 0

    def tick(self, now: float) -> None:
        if now >= self.next:
            self.task.delay()
            self.count += 1
            self.probe.sample()
            self.next += self.interval
            if self.next < now:  # fell far behind: do not burst
                self.next = now + self.interval


def _emit(seed: Seed) -> tuple[str, float, float]:
    from django.db import transaction

    from agencies.events import event_emit

    committed = []
    with transaction.atomic():
        # Registered first, so it runs right after COMMIT and before the relay nudge.
        transaction.on_commit(lambda: committed.append(time.time()))
        event = event_emit(
            type=EVENT_TYPE, object_type="referral", object_id=uuid.uuid4(), status="requested",
            agencies=[seed.sender_id, seed.recipient_id], data={"version": 1},
        )
    return str(event.id), committed[0], time.time()


def _drive(seed: Seed, sweeper: Sweeper, *, rate: float, seconds: float, workers=()) -> Run:
    """Emit rate * seconds events on a fixed monotonic schedule: the i-th is due
    at start + i / rate whatever the previous ones cost (no sleep drift); one
    that is late goes at once."""
    run = Run(load=os.getloadavg() if hasattr(os, "getloadavg") else ())
    count = round(rate * seconds)
    cpu_before = _cpu_sample(list(workers))
    start = time.monotonic() + 0.05
    run.started = time.time() + (start - time.monotonic())
    for i in range(count):
        due = start + i / rate
        while True:
            sweeper.tick(time.monotonic())
            now = time.monotonic()
            if now >= due:
                break
            time.sleep(max(0.0, min(due, sweeper.next) - now))
        run.lags.append(now - due)
        event_id, committed, published = _emit(seed)
        run.commits[event_id] = committed
        run.published[event_id] = published
    run.seconds = max(run.commits.values()) - run.started
    run.cpu = (cpu_before, _cpu_sample(list(workers)))
    return run


def _drain(receiver: Receiver, ids, sweeper: Sweeper, timeout: float) -> None:
    """Wait (bounded) for the first attempt of every event, sweeping as beat would."""
    ids = list(ids)
    deadline = time.monotonic() + timeout
    while receiver.arrived(ids) < len(ids) and time.monotonic() < deadline:
        sweeper.tick(time.monotonic())
        time.sleep(0.05)


# --- the report -------------------------------------------------------------------


def _percentile(ordered: list[float], p: float) -> float:
    """Nearest rank on an ascending list."""
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, math.ceil(p * len(ordered)) - 1))]


def _line(label: str, values_ms: list[float]) -> str:
    o = sorted(values_ms)
    return (
        f"{label:<26}p50 {_percentile(o, .50):8.1f}  p90 {_percentile(o, .90):8.1f}  "
        f"p99 {_percentile(o, .99):8.1f}  max {(o[-1] if o else float('nan')):8.1f}  ms"
    )


def _report(args, run: Run, receiver: Receiver, probe: QueueProbe, *, workers: int) -> tuple[list[str], int]:
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count, Sum

    from agencies.models import Delivery, OutboxEvent

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    with receiver.lock:
        first = dict(receiver.first)
        attempts = receiver.attempts
    latencies = {i: (first[i] - c) * 1000 for i, c in run.commits.items() if i in first}
    lost = len(run.commits) - len(latencies)
    ordered = sorted(latencies.values())
    p99 = _percentile(ordered, 0.99)
    verdict = "PASS" if lost == 0 and p99 < TARGET_P99_MS else "BELOW"

    relayed = dict(
        (str(i), r) for i, r in OutboxEvent.objects.filter(id__in=list(run.commits)).values_list("id", "relayed_at")
    )
    to_relay = [(relayed[i].timestamp() - c) * 1000 for i, c in run.commits.items() if relayed.get(i)]
    to_attempt = [(first[i] - relayed[i].timestamp()) * 1000 for i in latencies if relayed.get(i)]
    publish = [(run.published[i] - c) * 1000 for i, c in run.commits.items()]
    missing = [i for i in run.commits if i not in first]
    never_relayed = sum(1 for i in missing if not relayed.get(i))
    statuses = dict(Delivery.objects.values_list("status").annotate(n=Count("id")))
    total_attempts = Delivery.objects.aggregate(n=Sum("attempts"))["n"] or 0

    lines = [
        f"event latency benchmark: PostgreSQL {pg}, RabbitMQ {urlsplit(settings.CELERY_BROKER_URL).hostname}, "
        f"{workers} worker(s) x concurrency {args.concurrency}, relay batch {settings.OUTBOX_RELAY_BATCH}, "
        f"{os.cpu_count()} CPUs shared by the load generator, receiver, workers, PostgreSQL and RabbitMQ"
        + (f"; load average {run.load[0]:.2f} before the run" if run.load else ""),
        "",
        f"{'events':<26}{len(run.commits)}",
        f"{'duration':<26}{run.seconds:.1f} s",
        f"{'achieved rate':<26}{len(run.commits) / run.seconds:.1f} events/s  (target {args.rate:g}; "
        f"behind schedule p99 {_percentile(sorted(run.lags), .99) * 1000:.1f} ms, max {max(run.lags) * 1000:.1f} ms)",
        _line(f"latency ({len(ordered)} of {len(run.commits)})" if lost else "latency", ordered),
        f"{'lost':<26}{lost}  (no attempt within {args.drain_timeout:g} s of the last commit"
        + (f": {never_relayed} never relayed, the rest still pending)" if lost else ")"),
        f"{'p99 target':<26}< {TARGET_P99_MS:.0f} ms: {verdict}",
        "",
        "where the time went",
        _line("  commit -> relayed", to_relay),
        _line("  relayed -> attempt", to_attempt),
        _line("  nudge publish (driver)", publish),
        "per 10 s window (by commit time)",
    ]
    for start in range(0, math.ceil(run.seconds), 10):
        window = sorted(
            v for i, v in latencies.items() if start <= run.commits[i] - run.started < start + 10
        )
        if window:
            lines.append(
                f"  {start:>3}-{start + 10:<3} s  {len(window):>5} attempted  p50 {_percentile(window, .5):8.1f}  "
                f"p99 {_percentile(window, .99):8.1f}  max {window[-1]:8.1f}  ms"
            )
    cpu = _cpu_line(*run.cpu, run.seconds)
    lines += [
        *([cpu] if cpu else []),
        f"queue depth (1/s samples)   max {max(probe.depths, default=0)}, median "
        f"{sorted(probe.depths)[len(probe.depths) // 2] if probe.depths else 0}",
        f"receiver                    {attempts} attempts for {len(first)} webhook-ids (warm-up included), "
        f"{receiver.without_id} without a webhook-id",
        f"deliveries                  {statuses}, {total_attempts} attempts; sweeps sent {run.sweeps}",
    ]
    return lines, lost


# --- main -------------------------------------------------------------------------


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="events per second (default 50)")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds (default 60)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds at the same rate, not measured (default 2)")
    parser.add_argument("--workers", type=int, default=1, help="celery worker processes (default 1)")
    parser.add_argument("--concurrency", type=int, default=2, help="--concurrency of each worker (default 2)")
    parser.add_argument("--sweep-interval", type=float, default=1.0, help="seconds between outbox sweeps (default 1)")
    parser.add_argument("--drain-timeout", type=float, default=20.0, help="wait for stragglers (default 20 s)")
    parser.add_argument("--settings", default=SETTINGS, help=f"a variant to measure (default {SETTINGS})")
    parser.add_argument("--keep-logs", action="store_true", help="keep the workers' log files")
    parser.add_argument("--worker-log-level", default="warning", help="celery -l (info logs every task's run time)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = _parse(argv)
    admin_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_ADMIN_URL)
    run_id = secrets.token_hex(4)
    name, queue = f"bench_events_{run_id}", f"welfare-hub-bench-events-{run_id}"
    os.environ["DJANGO_SETTINGS_MODULE"] = args.settings
    os.environ["BENCH_EVENTS_DATABASE_URL"] = _database_url(admin_url, name)
    os.environ["BENCH_EVENTS_QUEUE"] = queue

    created, receiver, workers, probe, queues = False, None, [], None, [queue]
    lost, crashed = 0, True  # crashed: set-up or a worker failed (their logs are shown)
    try:
        began = time.monotonic()
        _database_create(admin_url, name)
        created = True
        _django_setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        queues = _queues()
        receiver = Receiver()
        receiver.thread.start()
        seed = _seed(receiver.url)
        _django_close()  # the workers fork with no connection of ours in flight

        workers = [
            Worker(
                index=i, run=run_id, queues=queues, concurrency=args.concurrency, env=dict(os.environ),
                log_level=args.worker_log_level,
            )
            for i in range(args.workers)
        ]
        for worker in workers:
            worker.start()
        _wait_workers(workers)
        probe = QueueProbe(queues)
        sweeper = Sweeper(args.sweep_interval, probe)
        print(f"set-up {time.monotonic() - began:.1f} s; warm-up {args.warmup:g} s, then "
              f"{args.rate:g} events/s for {args.duration:g} s", file=sys.stderr, flush=True)

        if args.warmup > 0:
            warm = _drive(seed, sweeper, rate=args.rate, seconds=args.warmup)
            _drain(receiver, warm.commits, sweeper, timeout=10)
        probe.depths.clear()
        sweeps_before = sweeper.count
        run = _drive(seed, sweeper, rate=args.rate, seconds=args.duration, workers=workers)
        _drain(receiver, run.commits, sweeper, timeout=args.drain_timeout)
        run.sweeps = sweeper.count - sweeps_before

        lines, lost = _report(args, run, receiver, probe, workers=len(workers))
        print("\n".join(lines), flush=True)
        crashed = any(worker.process.poll() is not None for worker in workers)
    finally:
        if receiver is not None:
            receiver.stop()
        for worker in workers:
            died = worker.process is not None and worker.process.poll() is not None
            worker.stop()
            if crashed or died:
                print(f"--- {worker.name} log tail ---\n{worker.log_tail()}", file=sys.stderr)
            if not args.keep_logs:
                worker.remove_log()
            else:
                print(f"worker log: {worker.log.name}", file=sys.stderr)
        if probe is not None:
            probe.close()
        if created:
            try:
                _queues_remove(queues)
            finally:
                _django_close()
                _database_drop(admin_url, name)
    return 1 if crashed or lost else 0


if __name__ == "__main__":
    sys.exit(main())
