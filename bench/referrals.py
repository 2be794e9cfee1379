"""Referral create and read throughput against PostgreSQL and gunicorn, next
to a baseline measured in the same run (issue 4, last acceptance bullet).

    .venv/bin/python -m bench.referrals [--duration 12] [--rounds 4] [--warmup 1] [--clients 4]

Creates a throwaway PostgreSQL database (BENCH_DATABASE_URL names the server
and a database to connect to for CREATE/DROP DATABASE; default
postgres://postgres@127.0.0.1:5432/postgres), migrates it with
hub.settings.bench, seeds an OPS and a shelter with OAuth2 clients, a subject
and her consent covering every category of the payload and profile, starts
gunicorn on a free loopback port, takes tokens from /o/token/ and drives four
scenarios from client threads in this process:

    create           POST /api/v1/referrals/ (schema, decision, outbox)
    baseline create  POST /api/v1/bench-baseline/referrals/ (bench/baseline.py)
    read             GET  /api/v1/referrals/{id} as the recipient (disclosed)
    baseline read    GET  /api/v1/bench-baseline/referrals/{id}

It prints requests, seconds, req/s and p50/p99 latency per scenario and the
ratios against the baseline with their targets. Then, back to back in the
same run, it stops its server and runs the peer (../shared/bench-peer: a
minimal hand-written DRF hub, same gunicorn shape and client count, its own
throwaway database; bench/peer.py runs run.sh's steps) for as many seconds
per scenario, and prints the hub's create and read beside the peer's with the
ratios against the issue's target (issue 11: at least the peer's req/s, with
p99 under 50 ms at 4 clients). `--no-peer` skips it; a missing peer directory
is reported and skipped.

Not a test: CI never runs it, and a ratio below target does not fail it;
failed requests, a server that does not start or a peer run that fails do
(exit status 1). Everything started is stopped and the database dropped on
the way out.
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from .cpu import CpuMeter
from .peer import PEER_DIR, PeerFigure, peer_measure

REPO = Path(__file__).resolve().parent.parent
SETTINGS = "hub.settings.bench"
DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"

FIRST_WARMUP = 3  # seconds, before a scenario's first slice
# Ratio of the real endpoint's throughput to its baseline's (issue 4; issue 11 for read).
TARGETS = {"create": 0.60, "read": 0.60}
# Against the peer (issue 11): at least its throughput, with p99 under this.
PEER_TARGET = 1.0
PEER_P99_MS = 50.0

PROFILE = {
    "person": {"given_name": "Anna", "family_name": "Nowak", "birth_date": "1970-01-01"},
    "contact": {"phone": "+48 600 100 200"},
    "safe_contact": {"channel": "sms", "codeword": "konwalia"},
    "languages": ["pl"],
}
# A shelter referral as a caseworker would fill it in: several categories.
PAYLOAD = {
    "summary": "Needs a safe place tonight with her two children.",
    "risk": {"level": "high", "notes": "Partner threatened her yesterday; police called twice this month."},
    "health": {"notes": "Asthma; inhaler needed."},
    "needs": ["a safe place", "psychological help", "school for the children"],
    "accompanying_children": {"count": 2, "ages": [4, 9], "notes": "The older child witnessed violence."},
    "confidential_address_required": True,
    "perpetrator_knows_current_address": "yes",
    "expected_stay_days": 30,
}
REASON = "Violence at home."


@dataclass
class Result:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)  # measured window only, seconds
    errors: int = 0
    succeeded_total: int = 0  # warm-up included: what the database must show
    first_error: str = ""
    cpu: dict[str, float] = field(default_factory=dict)  # seconds per side, warm-up included

    def cpu_per_request(self, side: str) -> float:
        """Milliseconds of CPU that `side` spent per request answered."""
        return self.cpu.get(side, 0.0) / max(1, self.succeeded_total) * 1000

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")


# --- the throwaway database ---------------------------------------------------


def _database_url(admin_url: str, name: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _database_create(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _database_drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        # FORCE (PostgreSQL 13+) ends any session a killed worker left behind.
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --- Django, in this process: migrate, seed, count ------------------------------


def _django_setup(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()


def _django_close() -> None:
    from django.apps import apps
    from django.db import connections

    if not apps.ready:
        return
    for connection in connections.all():
        connection.close()
        if hasattr(connection, "close_pool"):
            connection.close_pool()


@dataclass(frozen=True)
class Seed:
    subject_id: str
    shelter_id: str
    ops_client: tuple[str, str]  # client_id, secret
    shelter_client: tuple[str, str]


def _seed() -> Seed:
    """Through the services, as an agency's system would: two agencies with
    clients, the subject, and a written consent covering every category the
    payload, the reason (case_notes) and the profile hold."""
    from agencies.callers import Caller
    from agencies.services import agency_create, client_create
    from consent_ledger.services import Terms, consent_grant, subject_create
    from schemas.registry import get_registry

    registry = get_registry()
    problems = registry.validate("referral-shelter", PAYLOAD)
    if problems:
        raise SystemExit(f"bench payload does not match referral-shelter: {problems}")
    categories = (
        registry.categories_present("referral-shelter", PAYLOAD)
        | registry.categories_present("subject", PROFILE)
        | {"case_notes"}
    )
    ops = agency_create(name="MOPS Benchmark", kind="ops")
    shelter = agency_create(name="Schronisko Benchmark", kind="shelter")
    ops_client = client_create(agency=ops, scopes=["referrals:read", "referrals:write", "subjects:write", "consents:write"])
    shelter_client = client_create(agency=shelter, scopes=["referrals:read", "referrals:write"])
    caller = Caller(agency=ops, application=ops_client.application)
    subject = subject_create(caller=caller, external_ref="BENCH/1", profile=PROFILE)
    consent_grant(
        caller=caller, subject_id=subject.id,
        terms=Terms(categories=sorted(categories), purposes=["referral"], agencies=[str(shelter.id)]),
        form="written", grantor="subject", evidence_sha256=hashlib.sha256(b"signed consent form").hexdigest(),
    )
    return Seed(
        subject_id=str(subject.id), shelter_id=str(shelter.id),
        ops_client=(ops_client.application.client_id, ops_client.client_secret),
        shelter_client=(shelter_client.application.client_id, shelter_client.client_secret),
    )


def _counts() -> dict[str, int]:
    from agencies.models import OutboxEvent
    from consent_ledger.models import EntryKind, LedgerEntry
    from referrals.models import Referral

    counts = {
        "referrals": Referral.objects.count(),
        "outbox": OutboxEvent.objects.count(),
        "disclosures": LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).count(),
    }
    _django_close()
    return counts


# --- gunicorn -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn hub.wsgi on loopback with the bench settings, in its own
    process group so that stopping it stops its workers too."""

    def __init__(self, *, database_url: str, workers: int, worker_class: str, threads: int):
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
        self.command = [
            sys.executable, "-m", "gunicorn", "hub.wsgi:application",
            "--bind", f"{HOST}:{self.port}", "--workers", str(workers), "--worker-class", worker_class,
            "--threads", str(threads), "--log-level", "warning", "--error-logfile", "-",
        ]
        # hub.wsgi defaults to production settings: the environment overrides it.
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, cwd=REPO, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the group this driver started
                self.process.wait()
        self.log.close()

    def remove_log(self) -> None:
        Path(self.log.name).unlink(missing_ok=True)


# --- the load -------------------------------------------------------------------


def _token(port: int, client: tuple[str, str]) -> str:
    """A client-credentials token from the real token endpoint (RFC 6749 §4.4)."""
    basic = base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    conn.request(
        "POST", "/o/token/", body=urlencode({"grant_type": "client_credentials"}),
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"token endpoint answered {response.status}: {body[:500]!r}")
    return json.loads(body)["access_token"]


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    paths: list[str]  # cycled through by the client threads
    token: str
    expected: int
    body: bytes | None = None
    keep_ids: bool = False  # collect the ids of created referrals


def _drive(port: int, scenario: Scenario, *, clients: int, warmup: float, duration: float) -> tuple[Result, list[str]]:
    """`clients` threads, each with its own connection (kept alive when the
    server allows it), send requests back to back for warmup + duration
    seconds. Only requests started and finished inside the measured window
    count towards the rate and the latencies."""
    headers = {"Authorization": f"Bearer {scenario.token}", "Accept": "application/json"}
    if scenario.body is not None:
        headers["Content-Type"] = "application/json"
    start = time.perf_counter() + warmup
    end = start + duration
    result = Result(scenario.name, duration)
    ids: list[str] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        latencies, succeeded, errors, first_error, created = [], 0, 0, "", []
        n = index
        while True:
            began = time.perf_counter()
            if began >= end:
                break
            path = scenario.paths[n % len(scenario.paths)]
            n += clients
            try:
                conn.request(scenario.method, path, body=scenario.body, headers=headers)
                response = conn.getresponse()
                body = response.read()
                ok = response.status == scenario.expected
                error = "" if ok else f"{response.status} {body[:300]!r}"
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                ok, body, error = False, b"", repr(exc)
            finished = time.perf_counter()
            if ok:
                succeeded += 1
                if scenario.keep_ids and len(created) < 1000:
                    created.append(json.loads(body)["id"])
            if began >= start and finished <= end:
                if ok:
                    latencies.append(finished - began)
                else:
                    errors += 1
            if not ok and not first_error:
                first_error = error
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.succeeded_total += succeeded
            result.errors += errors
            result.first_error = result.first_error or first_error
            ids.extend(created)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result, ids


def _abba(pair: list[Scenario], rounds: int) -> list[Scenario]:
    """A B, B A, A B ...: a load that drifts during the run (other processes
    on the machine, a growing table) weighs on both sides alike."""
    return [s for r in range(rounds) for s in (pair if r % 2 == 0 else pair[::-1])]


def _merge(totals: dict[str, Result], deltas: dict[str, dict[str, int]], result: Result, delta: dict[str, int]) -> None:
    total = totals.setdefault(result.name, Result(result.name, 0.0))
    total.seconds += result.seconds
    total.latencies += result.latencies
    total.errors += result.errors
    total.succeeded_total += result.succeeded_total
    total.first_error = total.first_error or result.first_error
    for side, seconds in result.cpu.items():
        total.cpu[side] = total.cpu.get(side, 0.0) + seconds
    counts = deltas.setdefault(result.name, dict.fromkeys(delta, 0))
    for key, value in delta.items():
        counts[key] += value


# --- the report -----------------------------------------------------------------


def _table(results: list[Result]) -> str:
    lines = [
        f"{'scenario':<18}{'requests':>9}{'seconds':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"   CPU ms/request: {'server':>7}{'database':>9}{'client':>7}"
    ]
    for r in results:
        lines.append(
            f"{r.name:<18}{r.requests:>9}{r.seconds:>9.1f}{r.rate:>9.1f}"
            f"{r.percentile(0.50):>9.1f}{r.percentile(0.99):>9.1f}{r.errors:>8}"
            f"{'':>19}{r.cpu_per_request('server'):>7.2f}{r.cpu_per_request('database'):>9.2f}"
            f"{r.cpu_per_request('client'):>7.2f}"
        )
    return "\n".join(lines)


def _verdicts(by_name: dict[str, Result]) -> list[str]:
    lines = []
    for kind, target in TARGETS.items():
        ratio = by_name[kind].rate / by_name[f"baseline {kind}"].rate
        verdict = "PASS" if ratio >= target else "BELOW"
        cpu = {name: sum(by_name[name].cpu_per_request(side) for side in ("server", "database"))
               for name in (kind, f"baseline {kind}")}
        lines.append(f"{kind:<7} {ratio:6.1%} of baseline  (target >= {target:.0%})  {verdict}")
        if cpu[kind]:
            lines.append(
                f"        server + database CPU per request {cpu[kind]:.2f} ms, the baseline's {cpu[f'baseline {kind}']:.2f}"
                f" ({cpu[f'baseline {kind}'] / cpu[kind]:.1%})"
            )
    return lines


def _checks(deltas: dict[str, dict[str, int]], by_name: dict[str, Result]) -> list[str]:
    """What the database must show for the requests that succeeded (warm-up
    included): the real endpoints did their work, the baselines none of it."""
    expected = {
        "create": {"referrals": by_name["create"].succeeded_total, "outbox": by_name["create"].succeeded_total, "disclosures": 0},
        "baseline create": {"referrals": by_name["baseline create"].succeeded_total, "outbox": 0, "disclosures": 0},
        # The recipient's read discloses payload, profile and reason together: one entry.
        "read": {"referrals": 0, "outbox": 0, "disclosures": by_name["read"].succeeded_total},
        "baseline read": {"referrals": 0, "outbox": 0, "disclosures": 0},
    }
    return [
        f"{name}: {deltas[name]}" + ("" if deltas[name] == want else f"  MISMATCH, expected {want}")
        for name, want in expected.items()
    ]


def _header(args) -> list[str]:
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    _django_close()
    cpus = os.cpu_count()
    return [
        f"referral benchmark: PostgreSQL {pg}, gunicorn {args.workers} x {args.worker_class}"
        f" (threads {args.threads}), {args.clients} client threads, {args.duration:g} s per scenario"
        f" in {args.rounds} slices (A B B A ...), {args.warmup:g} s warm-up each ({max(args.warmup, FIRST_WARMUP):g} s"
        f" the first), {cpus} CPU(s)",
        "note: the load generator, gunicorn and PostgreSQL share this machine's cores; "
        "compare the ratios, not the absolute rates.",
        "ledger sequencer: " + (
            "eager, inside each request (BENCH_EAGER_TASKS)" if settings.CELERY_TASK_ALWAYS_EAGER
            else "nudges published to an in-memory broker and not run (a deployment's worker does that work)"
        ),
    ]


# --- the peer ---------------------------------------------------------------------


def peer_verdicts(by_name: dict[str, Result], peer: dict[str, PeerFigure]) -> list[str]:
    """The hub beside the peer, per scenario, against the issue's target."""
    lines = [
        f"{'':<8}{'hub req/s':>10}{'hub p99':>9}{'peer req/s':>11}{'peer p99':>9}{'ratio':>7}  "
        f"target >= {PEER_TARGET:.1f}x the peer, hub p99 < {PEER_P99_MS:g} ms"
    ]
    for kind in ("create", "read"):
        hub, other = by_name[kind], peer[kind]
        ratio = hub.rate / other.rate
        p99 = hub.percentile(0.99)
        verdict = "PASS" if ratio >= PEER_TARGET and p99 < PEER_P99_MS else "BELOW"
        lines.append(
            f"{kind:<8}{hub.rate:>10.1f}{p99:>9.1f}{other.rate:>11.1f}{other.p99:>9.1f}{ratio:>6.2f}x  {verdict}"
            + (f"  (peer errors: {other.errors})" if other.errors else "")
        )
    lines.append("CPU ms per request (server + database):")
    for kind in ("create", "read"):
        hub, other = by_name[kind], peer[kind]
        lines.append(
            f"  {kind:<8}hub {hub.cpu_per_request('server'):.2f} + {hub.cpu_per_request('database'):.2f}"
            f"   peer {other.server_ms:.2f} + {other.database_ms:.2f}"
        )
    return lines


# --- main -------------------------------------------------------------------------


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.referrals", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=12, help="measured seconds per scenario, all rounds (12)")
    parser.add_argument("--rounds", type=int, default=4, help="slices per scenario, run A B B A ... (4)")
    parser.add_argument("--warmup", type=float, default=1, help=f"unmeasured seconds before each slice (1; {FIRST_WARMUP} before the first)")
    parser.add_argument("--clients", type=int, default=4, help="client threads, one connection each (4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class: sync (deploy/README.md) or gthread")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker (1)")
    parser.add_argument("--no-peer", action="store_true", help="do not run ../shared/bench-peer after the hub")
    parser.add_argument("--peer-dir", type=Path, default=PEER_DIR, help=f"the peer's directory ({PEER_DIR})")
    return parser.parse_args(argv)


def _measure(args, port: int, seed: Seed, meter: CpuMeter) -> tuple[list[Result], dict[str, dict[str, int]]]:
    """Tokens from the real token endpoint, then creates (whose ids the reads
    cycle through) and reads, each against its baseline."""
    ops_token, shelter_token = _token(port, seed.ops_client), _token(port, seed.shelter_client)
    body = json.dumps({
        "subject": seed.subject_id, "to_agency": seed.shelter_id, "service": "shelter", "urgency": "urgent",
        "purpose": "referral", "payload": PAYLOAD, "reason": REASON,
    }).encode()
    totals: dict[str, Result] = {}
    deltas: dict[str, dict[str, int]] = {}

    def run(scenario: Scenario) -> list[str]:
        # A scenario's first slice warms longer: the workers' first requests
        # load the schema registry and open their connection pools.
        warmup = args.warmup if scenario.name in totals else max(args.warmup, FIRST_WARMUP)
        before, cpu_before = _counts(), meter.sample()
        result, ids = _drive(port, scenario, clients=args.clients, warmup=warmup, duration=args.duration / args.rounds)
        result.cpu = CpuMeter.spent(cpu_before, meter.sample())
        after = _counts()
        _merge(totals, deltas, result, {k: after[k] - before[k] for k in after})
        print(f"  {scenario.name}: {result.rate:.1f} req/s", flush=True)
        return ids

    create = Scenario("create", "POST", ["/api/v1/referrals/"], ops_token, 201, body, keep_ids=True)
    baseline_create = Scenario("baseline create", "POST", ["/api/v1/bench-baseline/referrals/"], ops_token, 201, body)
    created = [i for scenario in _abba([create, baseline_create], args.rounds) for i in run(scenario)]
    if not created:
        raise RuntimeError(f"no referral was created: {totals['create'].first_error}")
    read = Scenario("read", "GET", [f"/api/v1/referrals/{i}" for i in created], shelter_token, 200)
    baseline_read = Scenario("baseline read", "GET", [f"/api/v1/bench-baseline/referrals/{i}" for i in created], shelter_token, 200)
    for scenario in _abba([read, baseline_read], args.rounds):
        run(scenario)
    return list(totals.values()), deltas


def _report(results: list[Result], deltas: dict[str, dict[str, int]]) -> int:
    by_name = {r.name: r for r in results}
    print()
    print(_table(results))
    print()
    print("\n".join(_verdicts(by_name)))
    print("database changes per scenario (warm-up included):")
    print("\n".join(f"  {line}" for line in _checks(deltas, by_name)), flush=True)
    failed = [r for r in results if r.first_error]
    for r in failed:
        print(f"{r.name}: {r.errors} failed requests measured; first failure: {r.first_error}", file=sys.stderr)
    return 1 if failed else 0


def _compare_with_peer(args, results: list[Result]) -> int:
    """Run the peer after the hub's server has stopped, and print both."""
    if args.no_peer:
        return 0
    if not (args.peer_dir / "load.py").is_file():
        print(f"\npeer: none in {args.peer_dir}; skipped")
        return 0
    print(f"\npeer: {args.peer_dir}, {args.duration:g} s per scenario, right after the hub (bench/peer.py)", flush=True)
    try:
        peer = peer_measure(args.peer_dir, args.duration)
    except (RuntimeError, OSError, subprocess.TimeoutExpired, psycopg.Error) as error:
        print(f"peer: {error}", file=sys.stderr)
        return 1
    print("\n".join(peer_verdicts({r.name: r for r in results}, peer)))
    print("note: noisy on a shared machine; compare ratios from one quiet run, never absolute rates across runs.")
    return 0


def main(argv=None) -> int:
    args = _arguments(argv)
    # `make` interrupted or killed: still stop gunicorn and drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    admin_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_ADMIN_URL)
    name = f"bench_referrals_{secrets.token_hex(4)}"
    database_url = _database_url(admin_url, name)
    _database_create(admin_url, name)
    server = None
    try:
        _django_setup(database_url)
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        seed = _seed()
        _django_close()
        server = Gunicorn(database_url=database_url, workers=args.workers, worker_class=args.worker_class, threads=args.threads)
        server.start()
        server.wait_ready()
        print("\n".join(_header(args)), flush=True)
        results, deltas = _measure(args, server.port, seed, CpuMeter(server.process.pid, admin_url, name))
        status = _report(results, deltas)
        server.stop()  # the peer gets the machine to itself, as the hub had it
        return _compare_with_peer(args, results) or status
    except Exception:
        if server is not None:
            print(f"gunicorn log:\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        if server is not None:
            server.stop()
            server.remove_log()
        _django_close()
        _database_drop(admin_url, name)


if __name__ == "__main__":
    sys.exit(main())
