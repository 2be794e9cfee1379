"""The production smoke test against the compose stack (issue 13, item 7,
"when Docker is available"): the same referral lifecycle as
test_production_smoke.py, carried by the image's own processes.

deploy/smoke-compose.sh (`make smoke-compose`) builds the image, starts
deploy/compose.yaml with deploy/compose.smoke.yaml under a project of its
own, runs this module and removes the stack with its volumes. It names the
stack in the environment (HUB_COMPOSE_PROJECT, HUB_COMPOSE_ENV_FILE,
HUB_COMPOSE_PORT); without them these tests are deselected (tests/conftest.py),
as CI machines have no Docker engine.

Here the operator's steps run in the containers (`docker compose exec web
python manage.py ...`, as the runtime role), the web port is the one compose
publishes on loopback, and the webhooks come from the worker container to a
receiver on this machine, reached at host.docker.internal (the override file
maps it to the host's gateway address)."""

import json
import os
import subprocess

import pytest

from tests.events.receiver import Receiver

from .test_production_smoke import (
    Hub, assert_webhooks_signed, carry_a_referral, seed, wait_for_webhooks_and_ledger,
)
from .test_db_roles import ROOT

pytestmark = pytest.mark.compose

HUB_PROCESSES = ("web", "worker", "beat")
HOOK_HOST = "host.docker.internal"


class ComposeStack:
    """The running stack, through the docker compose CLI."""

    def __init__(self):
        self.command = [
            "docker", "compose", "-p", os.environ["HUB_COMPOSE_PROJECT"],
            "--env-file", os.environ["HUB_COMPOSE_ENV_FILE"],
            "-f", str(ROOT / "deploy" / "compose.yaml"), "-f", str(ROOT / "deploy" / "compose.smoke.yaml"),
        ]
        self.port = int(os.environ["HUB_COMPOSE_PORT"])

    def compose(self, *args: str) -> str:
        done = subprocess.run([*self.command, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"docker compose {' '.join(args)}: {done.stderr}\n{self.logs()}"
        return done.stdout

    def manage(self, *args: str) -> str:
        return self.compose("exec", "-T", "web", "python", "manage.py", *args)

    def manage_each(self, commands: list[list[str]]) -> list[str]:
        return [self.manage(*command) for command in commands]

    def states(self) -> dict[str, dict]:
        """Each hub service's container state (`docker compose ps --format
        json` prints one JSON object per line in compose v2.21 and later, one
        array before)."""
        out = self.compose("ps", "--all", "--format", "json", *HUB_PROCESSES).strip()
        rows = json.loads(out) if out.startswith("[") else [json.loads(line) for line in out.splitlines()]
        return {row["Service"]: row for row in rows}

    def assert_running(self) -> None:
        exited = {name: row["State"] for name, row in self.states().items() if row["State"] != "running"}
        assert not exited, f"not running: {exited}\n{self.logs()}"

    def pending_entries(self) -> int:
        out = self.compose("exec", "-T", "db", "psql", "-U", "postgres", "-d", "hub", "-tAc",
                           "SELECT count(*) FROM consent_ledger_ledgerpending")
        return int(out.strip())

    def stop(self) -> dict[str, int]:
        """SIGTERM to every hub container, as `docker compose stop` sends it,
        within each service's stop_grace_period; their exit codes."""
        self.compose("stop", *HUB_PROCESSES)
        return {name: row["ExitCode"] for name, row in self.states().items()}

    def logs(self) -> str:
        done = subprocess.run([*self.command, "logs", "--no-color", "--tail", "200", *HUB_PROCESSES],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        return done.stdout[-12000:]


@pytest.fixture
def receiver():
    server = Receiver(bind="0.0.0.0").start()
    yield server
    server.stop()


def test_compose_stack_carries_a_referral_and_its_signed_webhooks(receiver):
    stack = ComposeStack()
    hub = Hub(stack.port, stack)
    hub.wait_ready()
    # The image's environment passes the deployment checks (migrate ran them too).
    stack.manage("check", "--deploy", "--fail-level", "WARNING")
    seeded = seed(stack.manage_each)

    referral = carry_a_referral(hub, seeded, receiver, hook_host=HOOK_HOST)
    wait_for_webhooks_and_ledger(receiver, stack, stack.pending_entries)
    exit_codes = stack.stop()
    # Verified by a fresh container of the image, as the runtime role.
    verify = subprocess.run([*stack.command, "run", "--rm", "--no-deps", "-T", "web", "python", "manage.py",
                             "verify_ledger", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600)

    assert_webhooks_signed(receiver, referral)
    assert exit_codes == dict.fromkeys(HUB_PROCESSES, 0), stack.logs()
    assert verify.returncode == 0, verify.stderr
    report = json.loads(verify.stdout)
    assert report["ok"] and report["tree_size"] > 0, report
