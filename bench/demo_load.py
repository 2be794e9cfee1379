"""The demo under concurrent users (issue 11, item 5): `make demo`'s embedded
SQLite, eager tasks and runserver, with clients mixing reads and writes.

    .venv/bin/python -m bench.demo_load [--duration 60] [--clients 8]

Builds a fresh demo database as `make demo` does (a temporary SQLite file,
`manage.py migrate`, `manage.py demo_seed`), starts the same server
(`manage.py runserver --noreload`, DEBUG on, tasks eager) on a free loopback
port, and drives `clients` threads for `duration` seconds. Each thread takes
a MOPS and a shelter token from the real /o/token/ endpoint, then picks at
random, one request after the other:

    subject read     GET  subjects/{demo person}?purpose=referral, as the shelter (a disclosure)
    referral read    GET  referrals/{id}, as the shelter (a disclosure)
    consent grant    POST subjects/{demo person}/consents/, as the MOPS
    consent revoke   POST consents/{id}/revoke, as the MOPS (a consent this thread granted)
    referral create  POST referrals/, as the MOPS, to the shelter
    case update      POST referrals/{id}/updates/, as the shelter

Reads and revocations race on the same person: the issue's "database is
locked" case. Then the server is stopped and the SQLite file is read: every
write answered with its success code must be there (and every revocation
ended its consent), the shelter's disclosures must have grown by exactly the
reads answered, and `manage.py verify_ledger` must pass on the file.

Prints requests, errors, req/s and p50/p99 latency per kind, and each check.
Exit status 1 on any failed request (a status other than the expected one, or
a dropped connection) or failed check. The per-client API throttles are lifted
(API_THROTTLE_RATE, API_DISCLOSURE_THROTTLE_RATE): eight clients of two agencies
back to back would exceed the demo's 600 requests and 120 reads of person data
a minute, and the throttle is not what is measured. Not a test
itself: tests/hub/test_demo_concurrency.py runs the same load for a few
seconds in the suite.
"""

import argparse
import base64
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
THROTTLE_LIFTED = "1000000/minute"
# Demo credentials (hub/management/commands/demo_seed.py).
MOPS_CLIENT = ("demo-mops", "demo-secret-mops")
SHELTER_CLIENT = ("demo-shelter", "demo-secret-shelter")
DEMO_PERSON = "MOPS/DEMO/1"
SHELTER_NAME = "Stowarzyszenie Bezpieczny Dom – schronisko dla kobiet"
# Categories of the demo person's profile her standing consent does not let
# the shelter receive (demo_seed): withheld from every referral, so that a
# create never depends on a consent another thread may be revoking.
WITHHELD = ["contact", "demographics"]
REFERRALS_BEFORE_LOAD = 4  # so that the first reads and case updates have something to read

# Relative weights of the kinds in each thread's random mix: reads as often as writes.
MIX = {
    "subject read": 3,
    "referral read": 3,
    "consent grant": 1,
    "consent revoke": 1,
    "referral create": 1,
    "case update": 1,
}
READS = ("subject read", "referral read")


# --- the demo server -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def demo_environment(database: Path) -> dict[str, str]:
    """`make demo`'s environment (manage.py's default settings, DEBUG, no broker
    so tasks run eagerly) on `database`, whatever the caller's environment
    says (the suite's settings, a DATABASE_URL for PostgreSQL)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KEYS_DATABASE_URL", "CELERY_BROKER_URL")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "hub.settings.local",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{database}",
        "KEYS_DATABASE_URL": f"sqlite:///{database.with_name(database.stem + '-keys.sqlite3')}",
        "API_THROTTLE_RATE": THROTTLE_LIFTED,
        "API_DISCLOSURE_THROTTLE_RATE": THROTTLE_LIFTED,
        "PYTHONUNBUFFERED": "1",
    })
    return env


def manage(database: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`manage.py <args>` on the demo database; raises with its output when it fails."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=demo_environment(database),
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    if done.returncode != 0:
        output = done.stdout[-3000:] + done.stderr[-3000:]
        raise RuntimeError(f"manage.py {' '.join(args)} exited {done.returncode}:\n{output}")
    return done


def demo_database_create(database: Path) -> None:
    """Migrate and seed as `make demo` does."""
    manage(database, "migrate", "--noinput")
    manage(database, "migrate", "--database", "keys", "--noinput")
    manage(database, "demo_seed")


class DemoServer:
    """`manage.py runserver --noreload` (make demo's server, without the
    autoreloader's extra process) on a free loopback port, in its own process
    group, logging to a temporary file."""

    def __init__(self, database: Path):
        self.database = database
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="demo-load-server-", suffix=".log", delete=False)
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "DemoServer":
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"{HOST}:{self.port}"],
            cwd=REPO, env=demo_environment(self.database), stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"runserver exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/healthz")
                ready = conn.getresponse().status == 200
                conn.close()
                if ready:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"runserver did not answer /healthz within {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Ctrl-C, as a person stops `make demo`; the group is killed only if
        it does not exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def remove_log(self) -> None:
        Path(self.log.name).unlink(missing_ok=True)


# --- what the load needs from the seeded file ---------------------------------------


def _table(model: str) -> str:
    """A model's table name (Django must be set up, with any settings: only
    the models' metadata is read, never their database)."""
    from django.apps import apps

    return apps.get_model(model)._meta.db_table


def _uuid(value: str) -> str:
    """Django stores a UUIDField on SQLite as 32 hex digits."""
    return uuid.UUID(value).hex


def _read(database: Path, query: str, params=()) -> list[tuple]:
    # Read-only, so that nothing here can change the file being checked.
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return conn.execute(query, params).fetchall()


@dataclass(frozen=True)
class Seeded:
    subject_id: str
    shelter_id: str
    shelter_disclosures: int


def seeded(database: Path) -> Seeded:
    """The demo person and the shelter, from the seeded file, and how many
    disclosures to the shelter it already holds."""
    subject = _read(
        database, f"SELECT subject_id FROM {_table('consent_ledger.SubjectReference')} WHERE external_ref = ?",
        (DEMO_PERSON,),
    )[0][0]
    shelter = _read(database, f"SELECT id FROM {_table('agencies.Agency')} WHERE name = ?", (SHELTER_NAME,))[0][0]
    return Seeded(str(uuid.UUID(subject)), str(uuid.UUID(shelter)), _shelter_disclosures(database, shelter))


def _shelter_disclosures(database: Path, shelter_hex: str) -> int:
    return _read(
        database,
        f"SELECT COUNT(*) FROM {_table('consent_ledger.LedgerEntry')} WHERE kind = 'disclosure' AND recorded_by_id = ?",
        (shelter_hex,),
    )[0][0]


# --- the load ------------------------------------------------------------------------


@dataclass
class Kind:
    """The answers of one kind of request."""

    name: str
    latencies: list[float] = field(default_factory=list)  # answered as expected, seconds
    errors: list[str] = field(default_factory=list)  # each failure, described

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.errors)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")


@dataclass
class LoadResult:
    seconds: float
    kinds: dict[str, Kind]
    consents_granted: set[str] = field(default_factory=set)
    consents_revoked: set[str] = field(default_factory=set)
    referrals: set[str] = field(default_factory=set)
    case_updates: set[str] = field(default_factory=set)

    @property
    def errors(self) -> list[str]:
        return [f"{k.name}: {e}" for k in self.kinds.values() for e in k.errors]

    @property
    def requests(self) -> int:
        return sum(k.requests for k in self.kinds.values())

    @property
    def reads_answered(self) -> int:
        return sum(len(self.kinds[name].latencies) for name in READS)


class Client:
    """One client thread's connection (kept alive as the server allows):
    every request is timed and its answer filed under its kind."""

    def __init__(self, port: int, result: LoadResult, lock: threading.Lock):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)
        self.result, self.lock = result, lock

    def call(self, kind: str, method: str, path: str, expected: int, *, token: str = "", body=None,
             headers=None) -> dict | None:
        """The parsed answer when it has the expected status, else None (the
        failure is recorded). No retry: a retry would hide the error."""
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        began = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            return self._failed(kind, f"{method} {path}: connection dropped ({exc!r})")
        elapsed = time.perf_counter() - began
        if response.status != expected:
            return self._failed(kind, f"{method} {path}: {response.status} {raw[:300]!r}")
        with self.lock:
            self.result.kinds[kind].latencies.append(elapsed)
        return json.loads(raw) if raw else {}

    def _failed(self, kind: str, error: str) -> None:
        with self.lock:
            self.result.kinds[kind].errors.append(error)

    def token(self, client: tuple[str, str]) -> str | None:
        """Client credentials at the real token endpoint (RFC 6749 §4.4)."""
        basic = base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()
        answer = self.call(
            "token", "POST", "/o/token/", 200, body=urlencode({"grant_type": "client_credentials"}).encode(),
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        return answer["access_token"] if answer else None

    def close(self) -> None:
        self.conn.close()


class Worker:
    """One client thread: its tokens, its own consents (the ones it may
    revoke) and the referrals every thread created (shared)."""

    def __init__(self, client: Client, seed: Seeded, rng: random.Random):
        self.client, self.seed, self.rng = client, seed, rng
        self.mops = client.token(MOPS_CLIENT)
        self.shelter = client.token(SHELTER_CLIENT)
        self.my_consents: list[str] = []

    @property
    def ready(self) -> bool:
        return bool(self.mops and self.shelter)

    def step(self) -> None:
        kind = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        if kind == "consent revoke" and not self.my_consents:
            kind = "consent grant"
        if kind in ("referral read", "case update") and not self._referrals():
            kind = "referral create"
        getattr(self, kind.replace(" ", "_"))()

    def _referrals(self) -> list[str]:
        with self.client.lock:
            return list(self.client.result.referrals)

    def subject_read(self) -> None:
        self.client.call("subject read", "GET", f"/api/v1/subjects/{self.seed.subject_id}?purpose=referral", 200,
                         token=self.shelter)

    def referral_read(self) -> None:
        referral = self.rng.choice(self._referrals())
        self.client.call("referral read", "GET", f"/api/v1/referrals/{referral}", 200, token=self.shelter)

    def consent_grant(self) -> None:
        """Contact details for the shelter: the category the reads then see
        appear and disappear."""
        answer = self.client.call("consent grant", "POST", f"/api/v1/subjects/{self.seed.subject_id}/consents/", 201,
                                  token=self.mops, body={
            "recipients": {"agencies": [self.seed.shelter_id]}, "categories": ["contact"],
            "purposes": ["referral"], "form": "verbal_witnessed", "grantor": "subject",
        })
        if answer:
            self.my_consents.append(answer["id"])
            self._record("consents_granted", answer["id"])

    def consent_revoke(self) -> None:
        consent = self.my_consents.pop(self.rng.randrange(len(self.my_consents)))
        answer = self.client.call("consent revoke", "POST", f"/api/v1/consents/{consent}/revoke", 200,
                                  token=self.mops, body={"reason": "Withdrawn by phone."})
        if answer:
            self._record("consents_revoked", consent)

    def referral_create(self) -> None:
        answer = self.client.call("referral create", "POST", "/api/v1/referrals/", 201, token=self.mops, body={
            "subject": self.seed.subject_id, "to_agency": self.seed.shelter_id, "service": "shelter",
            "urgency": "urgent", "purpose": "referral", "withhold_categories": WITHHELD,
            "payload": {"summary": "Needs a safe place tonight.", "risk": {"level": "high"},
                        "confidential_address_required": True},
        })
        if answer:
            self._record("referrals", answer["id"])

    def case_update(self) -> None:
        referral = self.rng.choice(self._referrals())
        answer = self.client.call("case update", "POST", f"/api/v1/referrals/{referral}/updates/", 201,
                                  token=self.shelter, body={"kind": "note", "payload": {"text": "Called her back."}})
        if answer:
            self._record("case_updates", answer["id"])

    def _record(self, what: str, value: str) -> None:
        with self.client.lock:
            getattr(self.client.result, what).add(value)


def run_load(port: int, seed: Seeded, *, clients: int = 8, duration: float = 60, rng_seed: int = 11) -> LoadResult:
    """`clients` threads, started together, each taking its tokens and then
    sending requests back to back until `duration` seconds have passed
    (requests under way then are finished and counted)."""
    result = LoadResult(duration, {name: Kind(name) for name in ("token", *MIX)})
    lock = threading.Lock()
    first = Worker(Client(port, result, lock), seed, random.Random(rng_seed))
    for _ in range(REFERRALS_BEFORE_LOAD if first.ready else 0):
        first.referral_create()
    first.client.close()
    began = time.perf_counter()

    def thread(index: int) -> None:
        client = Client(port, result, lock)
        worker = Worker(client, seed, random.Random(rng_seed * 1000 + index))
        while worker.ready and time.perf_counter() < began + duration:
            worker.step()
        client.close()

    threads = [threading.Thread(target=thread, args=(i,), name=f"demo-load-{i}") for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - began
    return result


# --- after the load: what the file holds ------------------------------------------------


def _ids_present(database: Path, table: str, ids: set[str], where: str = "") -> set[str]:
    if not ids:
        return set()
    hexes = {_uuid(i): i for i in ids}
    marks = ",".join("?" * len(hexes))
    rows = _read(database, f"SELECT id FROM {table} WHERE id IN ({marks}){where}", list(hexes))
    return {hexes[row[0]] for row in rows}


def stored_problems(database: Path, seed: Seeded, result: LoadResult) -> list[str]:
    """Each write answered as successful, looked for in the file (read after
    the server stopped); empty when everything is there."""
    provisions = _table("consent_ledger.Provision")
    checks = [
        ("referral", _table("referrals.Referral"), result.referrals, ""),
        ("case update", _table("referrals.CaseUpdate"), result.case_updates, ""),
        ("granted consent still in force", provisions, result.consents_granted - result.consents_revoked,
         " AND kind = 'consent' AND ended_at IS NULL"),
        ("revoked consent ended", provisions, result.consents_revoked,
         " AND kind = 'consent' AND ended_at IS NOT NULL"),
    ]
    problems = [
        f"{what} answered but not in the database: {sorted(ids - _ids_present(database, table, ids, where))[:5]}"
        for what, table, ids, where in checks
        if ids - _ids_present(database, table, ids, where)
    ]
    disclosures = _shelter_disclosures(database, _uuid(seed.shelter_id)) - seed.shelter_disclosures
    if disclosures != result.reads_answered:
        problems.append(f"{result.reads_answered} reads answered but {disclosures} disclosures to the shelter recorded")
    return problems


def ledger_verifies(database: Path) -> tuple[bool, str]:
    """`manage.py verify_ledger --json` on the file: (ok, its report)."""
    done = subprocess.run(
        [sys.executable, "manage.py", "verify_ledger", "--json"], cwd=REPO, env=demo_environment(database),
        capture_output=True, text=True, timeout=300, check=False,
    )
    return done.returncode == 0, (done.stdout.strip().splitlines() or [done.stderr[-2000:]])[-1]


# --- the report ------------------------------------------------------------------------


def table(result: LoadResult) -> str:
    lines = [f"{'kind':<16}{'requests':>9}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"]
    for kind in result.kinds.values():
        lines.append(
            f"{kind.name:<16}{kind.requests:>9}{len(kind.errors):>8}{kind.requests / result.seconds:>9.1f}"
            f"{kind.percentile(0.50):>9.1f}{kind.percentile(0.99):>9.1f}"
        )
    every = [latency for kind in result.kinds.values() for latency in kind.latencies]
    total = Kind("all", every, result.errors)
    lines.append(
        f"{'all':<16}{total.requests:>9}{len(total.errors):>8}{total.requests / result.seconds:>9.1f}"
        f"{total.percentile(0.50):>9.1f}{total.percentile(0.99):>9.1f}"
    )
    return "\n".join(lines)


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.demo_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (60)")
    parser.add_argument("--clients", type=int, default=8, help="client threads, one connection each (8)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = _arguments(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.local")
    import django

    django.setup()  # for the models' table names only: the load and the checks read the file
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the server
    with tempfile.TemporaryDirectory(prefix="demo-load-") as directory:
        database = Path(directory) / "db.sqlite3"
        print("migrating and seeding a fresh demo database ...", flush=True)
        demo_database_create(database)
        seed = seeded(database)
        server = DemoServer(database)
        with server:
            print(f"runserver on {HOST}:{server.port}; {args.clients} clients for {args.duration:g} s "
                  f"on {os.cpu_count()} CPU(s) shared with the server", flush=True)
            result = run_load(server.port, seed, clients=args.clients, duration=args.duration)
        print()
        print(table(result))
        problems = stored_problems(database, seed, result)
        verified, report = ledger_verifies(database)
        print()
        print(f"writes answered: {len(result.referrals)} referrals, {len(result.case_updates)} case updates, "
              f"{len(result.consents_granted)} consents granted, {len(result.consents_revoked)} revoked; "
              f"reads answered: {result.reads_answered}")
        print("in the database after the server stopped: " + ("all of them" if not problems else "; ".join(problems)))
        print(f"verify_ledger: {report}")
        for error in result.errors[:10]:
            print(f"failed: {error}", file=sys.stderr)
        if result.errors:
            print(f"server log (last lines):\n{server.log_tail()}", file=sys.stderr)
        server.remove_log()
    return 1 if result.errors or problems or not verified else 0


if __name__ == "__main__":
    sys.exit(main())
