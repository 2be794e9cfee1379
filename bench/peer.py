"""The peer of `make bench` (issue 11): ../shared/bench-peer, a minimal
hand-written DRF referral hub, measured the way its run.sh measures it
(gunicorn, 2 sync workers, 4 client threads, a throwaway database on
PostgreSQL at 127.0.0.1:5432 as user postgres, which its settings name).

run.sh cannot run in this project's virtualenv as it is: the project is
installed editable, and setuptools' editable finder answers any `hub.<name>`
that the peer's own `hub` package lacks with this project's module. Django
looks for `hub.apps` in every app; the peer has none, so it gets ours, whose
ready() imports models the peer does not have. So this module runs run.sh's
steps itself, each Python process of the peer started with that finder
taken off `sys.meta_path` first: the peer then runs exactly its own code,
with its own seed, server and load generator, unchanged.

    .venv/bin/python -m bench.peer [SECONDS] [--peer-dir DIR]
"""

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from .cpu import CpuMeter

REPO = Path(__file__).resolve().parent.parent
PEER_DIR = REPO.parent / "shared" / "bench-peer"
# The server the peer's settings.py names; the database is ours to create and drop.
PEER_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"
CLIENTS = 4

# Before anything is imported: the editable finder off, so `hub` is the peer's only.
_ISOLATED = (
    "import runpy, sys; "
    "sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, '__module__', '').startswith('__editable__')]; "
)
_RUN_SCRIPT = _ISOLATED + "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
_MIGRATE = _ISOLATED + (
    "import django; django.setup(); "
    "from django.core.management import call_command; call_command('migrate', verbosity=0)"
)
_GUNICORN = _ISOLATED + "from gunicorn.app.wsgiapp import run; sys.argv = ['gunicorn', *sys.argv[1:]]; run()"


@dataclass(frozen=True)
class PeerFigure:
    rate: float
    p50: float  # ms
    p99: float  # ms
    errors: int
    server_ms: float = 0.0  # CPU per request: the peer's gunicorn, its database backends
    database_ms: float = 0.0


# A line of the peer's load.py: "<path> conc=4 n=3620 rps=181 p50=20.1ms p99=48.3ms errors=0".
_LOAD_LINE = re.compile(
    r"^(?P<what>\S+) conc=\d+ n=(?P<n>\d+) rps=(?P<rate>[\d.]+)"
    r" p50=(?P<p50>[\d.]+)ms p99=(?P<p99>[\d.]+)ms errors=(?P<errors>\d+)$"
)


def peer_figures(output: str, cpu: dict[str, dict[str, float]] | None = None) -> dict[str, PeerFigure]:
    """The create (POST /referrals/) and read (GET) figures in load.py's
    output, with the CPU seconds each side spent per scenario when measured."""
    figures = {}
    for line in output.splitlines():
        found = _LOAD_LINE.match(line.strip())
        if found:
            kind = "read" if found["what"] == "GET" else "create"
            spent, requests = (cpu or {}).get(kind, {}), max(1, int(found["n"]))
            figures[kind] = PeerFigure(
                float(found["rate"]), float(found["p50"]), float(found["p99"]), int(found["errors"]),
                spent.get("server", 0.0) / requests * 1000, spent.get("database", 0.0) / requests * 1000,
            )
    return figures


class _Peer:
    """A copy of the peer in a temporary directory, with its own database."""

    def __init__(self, peer_dir: Path):
        self.database = f"bench_peer_{os.getpid()}"
        self.directory = Path(tempfile.mkdtemp(prefix="bench-peer-"))
        shutil.copytree(peer_dir, self.directory, dirs_exist_ok=True)
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings", "BENCH_PEER_DB": self.database}
        self.server: subprocess.Popen | None = None
        self.port = 0

    def python(self, code: str, *args: str) -> str:
        run = subprocess.run(
            [sys.executable, "-c", code, *args], cwd=self.directory, env=self.env, capture_output=True, text=True,
            timeout=600,
        )
        if run.returncode != 0:
            raise RuntimeError(f"peer step {args or code[-60:]} exited {run.returncode}:\n{run.stderr[-2000:]}")
        return run.stdout

    def prepare(self) -> None:
        with psycopg.connect(PEER_ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        self.python(_MIGRATE)
        self.python(_RUN_SCRIPT, "seed.py")

    def serve(self) -> None:
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            self.port = sock.getsockname()[1]
        log = self.directory / "gunicorn.log"
        with log.open("wb") as output:
            self.server = subprocess.Popen(
                [sys.executable, "-c", _GUNICORN, "wsgi", "-w", "2", "-b", f"{HOST}:{self.port}",
                 "--log-level", "warning"],
                cwd=self.directory, env=self.env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"the peer's gunicorn exited:\n{log.read_text(errors='replace')[-2000:]}")
            try:  # any answer: a worker is up (run.sh sleeps 3 s instead)
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/referrals/0/")
                conn.getresponse().read()
                conn.close()
                return
            except (OSError, http.client.HTTPException):
                time.sleep(0.2)
        raise RuntimeError("the peer's gunicorn did not answer within 30 s")

    def load(self, seconds: float) -> tuple[str, dict[str, dict[str, float]]]:
        """load.py's create run, then its read run over the referrals the seed
        consented to; its output and the CPU seconds per side of each run."""
        self.env["BENCH_PEER_PORT"] = str(self.port)
        meter, cpu = CpuMeter(self.server.pid, PEER_ADMIN_URL, self.database), {}

        def measured(kind: str, *args: str) -> str:
            before = meter.sample()
            output = self.python(_RUN_SCRIPT, "load.py", *args)
            cpu[kind] = CpuMeter.spent(before, meter.sample())
            return output

        create = measured("create", "/referrals/", str(CLIENTS), str(seconds))
        self.python(_RUN_SCRIPT, "pairs.py", "pairs.json")
        read = measured("read", "GET", str(CLIENTS), str(seconds), "pairs.json")
        return create + read, cpu

    def close(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)  # the group this module started
                self.server.wait()
        with psycopg.connect(PEER_ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.database)))
        shutil.rmtree(self.directory, ignore_errors=True)


def peer_measure(peer_dir: Path, seconds: float) -> dict[str, PeerFigure]:
    """The peer's create and read figures, `seconds` each; RuntimeError when it fails."""
    if not (peer_dir / "load.py").is_file():
        raise RuntimeError(f"no peer in {peer_dir}")
    peer = _Peer(peer_dir)
    try:
        peer.prepare()
        peer.serve()
        output, cpu = peer.load(seconds)
    finally:
        peer.close()
    figures = peer_figures(output, cpu)
    if set(figures) != {"create", "read"}:
        raise RuntimeError(f"the peer printed no figures:\n{output[-2000:]}")
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", nargs="?", type=float, default=20, help="seconds per scenario (20, as run.sh)")
    parser.add_argument("--peer-dir", type=Path, default=PEER_DIR, help=f"the peer ({PEER_DIR})")
    args = parser.parse_args(argv)
    for kind, figure in peer_measure(args.peer_dir, args.seconds).items():
        print(f"peer {kind:<7}{figure.rate:>8.1f} req/s  p50 {figure.p50:.1f} ms  p99 {figure.p99:.1f} ms  "
              f"errors {figure.errors}  CPU ms/request: server {figure.server_ms:.2f}, database {figure.database_ms:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
