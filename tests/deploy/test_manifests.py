"""The deployment files (issue 13, items 1-3; deploy/README.md).

- Kubernetes: every manifest of deploy/k8s/base, and each overlay as
  `kubectl kustomize` renders it, is valid against the Kubernetes API schemas
  (kubernetes-validate, strict: an unknown field is an error), and holds what
  the README promises: locked-down pods, probes, one beat, autoscalers and
  disruption budgets that select real workloads, default-deny network
  policies, Secrets never rendered. kubectl must be installed (.ci/run
  installs Debian's kubernetes-client): without it these tests fail, never skip.
- Compose: the file, and the smoke test's override, are valid against the
  Compose Specification's JSON Schema (vendored in tests/deploy/vendor with
  its licence), the hub's four services share one image, migrate
  runs both migrations before the others start, no secret value is written
  in it, and each container gets only the credentials it needs.
- RabbitMQ: every queue the Celery settings name (as a deployment configures
  them) is declared a quorum queue, with the arguments Celery itself
  declares it with, under a policy with a delivery limit.
- The image: what the Dockerfile can be checked for without Docker, and its
  health check's one-liner run against a stand-in server.
- gunicorn: deploy/gunicorn.conf.py loaded by gunicorn's own loader, and its
  access and error lines carry no request data.

No cluster and no Docker here (CI has neither): the image is built and the
stack run where Docker is (deploy/README.md).
"""

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "k8s" / "base"
OVERLAYS = ("dev", "prod")
# The oldest Kubernetes the manifests are written for (autoscaling/v2,
# policy/v1, Pod Security Admission labels are all older) and the newest the
# installed kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
HUB_SERVICES = ("migrate", "web", "worker", "beat")
WORKLOAD_KINDS = ("Deployment", "Job")
PERSON = ("Anna", "Kowalska", "83010112345")


# --- helpers -------------------------------------------------------------------------


def _load_all(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _base_manifests() -> list[Path]:
    return sorted(p for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml")


def _validate(doc: dict) -> None:
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            pytest.fail(f"{name} is not valid Kubernetes {version}: {error.message} at {list(error.path)}")


_rendered: dict[str, list[dict]] = {}


def _render(overlay: str) -> list[dict]:
    """The overlay as `kubectl kustomize` renders it (once per test run)."""
    if overlay not in _rendered:
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            pytest.fail("kubectl is missing: install Debian's kubernetes-client (.ci/run does when it is missing)")
        result = subprocess.run(
            [kubectl, "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)],
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
        _rendered[overlay] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return _rendered[overlay]


def _of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def _workloads(docs: list[dict]) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] in WORKLOAD_KINDS}


def _containers(pod_spec: dict) -> list[dict]:
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]


def _selects(selector: dict, labels: dict) -> bool:
    """A label selector's matchLabels and matchExpressions (In, Exists) against labels."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
        if expression["operator"] == "Exists" and value is None:
            return False
    return True


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _celery_queues_as_deployed() -> dict:
    """The Celery app's queues, their arguments and exchange type, under the
    production settings and the environment the ConfigMap (and compose) give
    every hub process: a fresh process, so that nothing of the tests'
    settings leaks in. Nothing connects to a broker."""
    config = _of_kind(_load_all(BASE / "configmap.yaml"), "ConfigMap")["hub-config"]["data"]
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update(config)
    env.update({
        "DJANGO_SECRET_KEY": "test-only-not-a-secret-0123456789-0123456789-0123456789",
        "CELERY_BROKER_URL": "amqp://hub:test@rabbitmq.invalid:5672/hub",
    })
    script = (
        "import json\n"
        "from hub.celery import app\n"
        "conf = app.conf\n"
        "routes = conf.task_routes if isinstance(conf.task_routes, dict) else {}\n"
        "print(json.dumps({\n"
        "  'queues': {name: {'arguments': queue.queue_arguments or {}, 'durable': queue.durable,\n"
        "                    'exchange_type': queue.exchange.type} for name, queue in app.amqp.queues.items()},\n"
        "  'routed': sorted({route['queue'] for route in routes.values() if isinstance(route, dict) and 'queue' in route}),\n"
        "  'default_queue': conf.task_default_queue,\n"
        "}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- Kubernetes: valid against the schemas -------------------------------------------------


@pytest.mark.parametrize("path", _base_manifests(), ids=lambda p: p.name)
def test_base_manifest_is_valid_kubernetes(path):
    docs = _load_all(path)
    assert docs, f"{path.name} holds no manifest"
    for doc in docs:
        _validate(doc)


def test_every_base_manifest_is_in_the_kustomization_but_the_secret_template():
    listed = set(yaml.safe_load((BASE / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in _base_manifests()} - {"secret.template.yaml"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_valid_kubernetes(overlay):
    docs = _render(overlay)
    kinds = {doc["kind"] for doc in docs}
    assert {"Deployment", "Job", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy",
            "ConfigMap", "Service", "Namespace"} <= kinds
    for doc in docs:
        _validate(doc)


# --- Kubernetes: what the README promises ----------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_locked_down(overlay):
    for name, workload in _workloads(_render(overlay)).items():
        spec = workload["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in _containers(spec):
            where = f"{name}/{container['name']}"
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{where}: {bound}"
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert mounts.get("/tmp") in tmp_volumes, f"{where}: /tmp must be a writable emptyDir"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_namespace_enforces_the_restricted_pod_security_profile(overlay):
    (namespace,) = _of_kind(_render(overlay), "Namespace").values()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert all(doc["metadata"].get("namespace") == namespace["metadata"]["name"]
               for doc in _render(overlay) if doc["kind"] != "Namespace")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_is_probed_on_readyz_and_healthz(overlay):
    web = _of_kind(_render(overlay), "Deployment")["hub-web"]["spec"]["template"]["spec"]
    (container,) = web["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e for e in container["env"]}
    # The probes' Host is the pod's address: it must be an allowed host.
    assert "$(POD_IP)" in env["DJANGO_ALLOWED_HOSTS"]["value"]
    assert env["PROMETHEUS_MULTIPROC_DIR"]["value"] in {m["mountPath"] for m in container["volumeMounts"]}
    assert web["terminationGracePeriodSeconds"] > 30  # gunicorn's graceful timeout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_is_probed_through_the_broker(overlay):
    worker = _of_kind(_render(overlay), "Deployment")["hub-worker"]["spec"]["template"]["spec"]
    (container,) = worker["containers"]
    assert "inspect ping" in " ".join(container["livenessProbe"]["exec"]["command"])
    assert "--concurrency=$(CELERY_WORKER_CONCURRENCY)" in container["args"]
    assert worker["terminationGracePeriodSeconds"] > 300  # CELERY_TASK_TIME_LIMIT


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_beat_runs_exactly_once(overlay):
    docs = _render(overlay)
    beat = _of_kind(docs, "Deployment")["hub-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    targets = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in _of_kind(docs, "HorizontalPodAutoscaler").values()}
    assert "hub-beat" not in targets
    labels = beat["spec"]["template"]["metadata"]["labels"]
    assert not any(_selects(pdb["spec"]["selector"], labels) for pdb in _of_kind(docs, "PodDisruptionBudget").values())
    claim = {v["persistentVolumeClaim"]["claimName"] for v in beat["spec"]["template"]["spec"]["volumes"]
             if "persistentVolumeClaim" in v}
    assert claim <= set(_of_kind(docs, "PersistentVolumeClaim")) and claim


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscalers_and_disruption_budgets_cover_web_and_worker(overlay):
    docs = _render(overlay)
    deployments = _of_kind(docs, "Deployment")
    hpas = {hpa["spec"]["scaleTargetRef"]["name"]: hpa["spec"] for hpa in _of_kind(docs, "HorizontalPodAutoscaler").values()}
    assert set(hpas) == {"hub-web", "hub-worker"}
    for name, hpa in hpas.items():
        assert "replicas" not in deployments[name]["spec"], f"{name}: the autoscaler owns the count"
        assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    for name in ("hub-web", "hub-worker"):
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        budgets = [p for p in _of_kind(docs, "PodDisruptionBudget").values() if _selects(p["spec"]["selector"], labels)]
        assert len(budgets) == 1, name
    if overlay == "dev":
        assert all(h["minReplicas"] == h["maxReplicas"] == 1 for h in hpas.values())
    else:
        assert hpas["hub-web"]["minReplicas"] >= 3 and hpas["hub-worker"]["minReplicas"] >= 2


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_image_runs_every_process(overlay):
    images = {c["image"] for w in _workloads(_render(overlay)).values() for c in _containers(w["spec"]["template"]["spec"])}
    assert images == {f"registry.example.invalid/welfare-hub:{'dev' if overlay == 'dev' else '0.1.0'}"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrate_job_migrates_both_databases_as_the_owner(overlay):
    job = _of_kind(_render(overlay), "Job")["hub-migrate"]["spec"]["template"]["spec"]
    (container,) = job["containers"]
    script = " ".join(container["args"])
    assert "migrate --noinput" in script and "migrate --database keys --noinput" in script
    assert script.count("db_roles") == 2 and "--apply --database keys" in script
    # The owner's credentials come last, so that they replace the runtime role's.
    assert container["envFrom"][-1] == {"secretRef": {"name": "hub-migrate-secrets"}}
    for name, workload in _workloads(_render(overlay)).items():
        if name != "hub-migrate":
            refs = json.dumps(workload["spec"]["template"]["spec"])
            assert "hub-migrate-secrets" not in refs, f"{name} must never see the owner role's credentials"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_never_rendered_and_every_reference_is_in_the_template(overlay):
    docs = _render(overlay)
    assert not _of_kind(docs, "Secret"), "applying an overlay must never overwrite the operator's Secrets"
    template = _of_kind(_load_all(BASE / "secret.template.yaml"), "Secret")
    assert all(value == "" for secret in template.values() for value in secret["stringData"].values())
    for name, workload in _workloads(docs).items():
        for container in _containers(workload["spec"]["template"]["spec"]):
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in template, name
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in template[ref["name"]]["stringData"], f"{name}: {ref}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_reference_is_defined(overlay):
    """$(NAME) in a command, argument or env value expands only to a variable
    the container has; an unknown one stays as the literal text."""
    docs = _render(overlay)
    config = _of_kind(docs, "ConfigMap")["hub-config"]["data"]
    secrets = {k for s in _of_kind(_load_all(BASE / "secret.template.yaml"), "Secret").values() for k in s["stringData"]}
    for name, workload in _workloads(docs).items():
        for container in _containers(workload["spec"]["template"]["spec"]):
            known = set(config) | secrets | {var["name"] for var in container.get("env", [])}
            text = json.dumps([container.get("command"), container.get("args"), container.get("env")])
            for reference in re.findall(r"\$\(([A-Z0-9_]+)\)", text):
                assert reference in known, f"{name}/{container['name']}: $({reference})"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_only_the_hub_reaches_the_databases(overlay):
    docs = _render(overlay)
    policies = _of_kind(docs, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    pods = {name: w["spec"]["template"]["metadata"]["labels"] for name, w in _workloads(docs).items()}
    for component in ("database", "keys-database", "broker"):
        policy = policies[component]["spec"]
        assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
        peers = [peer for rule in policy["ingress"] for peer in rule["from"]]
        # Pods of this namespace only: no other namespace, no address block.
        assert all(set(peer) == {"podSelector"} for peer in peers), component
        for selector in (peer["podSelector"] for peer in peers):
            reached_by = {name for name, labels in pods.items() if _selects(selector, labels)}
            # A client label is worn by hub pods only; a peer selector (replication) by none of them.
            assert reached_by <= {"hub-web", "hub-worker", "hub-migrate", "hub-beat"}, (component, selector)
    database_clients = {n for n, labels in pods.items() if labels.get("welfare-hub/database-client") == "true"}
    assert database_clients == {"hub-web", "hub-worker", "hub-migrate"}, "beat needs no database"
    web_ingress = policies["web-ingress"]["spec"]
    assert _selects(web_ingress["podSelector"], pods["hub-web"])
    assert all("namespaceSelector" in peer for rule in web_ingress["ingress"] for peer in rule["from"])


def test_prod_ingress_routes_to_the_web_service():
    docs = _render("prod")
    (ingress,) = _of_kind(docs, "Ingress").values()
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    service = _of_kind(docs, "Service")[backend["name"]]
    assert backend["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}
    assert ingress["spec"]["tls"], "HTTPS only"


# --- compose ---------------------------------------------------------------------------------


def test_compose_file_parses_with_the_whole_stack():
    services = _compose()["services"]
    assert set(services) == {*HUB_SERVICES, "db", "keys-db", "rabbitmq"}
    assert services["db"]["image"].startswith("${POSTGRES_IMAGE:-postgres:16")
    assert services["keys-db"]["image"] == services["db"]["image"]


COMPOSE_SCHEMA = Path(__file__).parent / "vendor" / "compose-spec.json"


@pytest.mark.parametrize("name", ["compose.yaml", "compose.smoke.yaml"])
def test_compose_files_follow_the_compose_specification(name):
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    document = yaml.safe_load((DEPLOY / name).read_text())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft7Validator(schema).iter_errors(document)]
    assert errors == []


def test_compose_specification_check_catches_a_wrong_file():
    """The check above can fail: an unknown service key and a wrong type."""
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    broken = _compose()
    broken["services"]["web"]["restart_policy"] = "always"
    broken["services"]["worker"]["ports"] = 8000
    assert len(list(jsonschema.Draft7Validator(schema).iter_errors(broken))) == 2


def test_compose_smoke_override_relaxes_only_webhook_delivery():
    """deploy/compose.smoke.yaml changes web and worker, and only to let them
    deliver webhooks to the test's receiver on the host."""
    override = yaml.safe_load((DEPLOY / "compose.smoke.yaml").read_text())
    assert set(override["services"]) == {"web", "worker"}
    for service in override["services"].values():
        assert set(service) == {"extra_hosts", "environment"}
        assert set(service["environment"]) == {"WEBHOOK_ALLOW_HTTP", "WEBHOOK_ALLOWED_NETWORKS"}


def test_smoke_compose_script_sets_every_required_variable():
    """deploy/smoke-compose.sh writes each password compose.yaml requires and
    each setting hub.env.example leaves empty, or the stack would not start."""
    script = (DEPLOY / "smoke-compose.sh").read_text()
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", (DEPLOY / "compose.yaml").read_text()))
    (loop,) = re.findall(r"for name in ([A-Z0-9_ \\\n]+); do", script)
    assert required == set(loop.split()) - {"\\"}
    hub_required = set(re.findall(r"^([A-Z0-9_]+)=$", (DEPLOY / "hub.env.example").read_text(), re.MULTILINE))
    written = set(re.findall(r'echo "([A-Z0-9_]+)=', script))
    assert hub_required <= written, hub_required - written


def test_hub_services_share_one_image():
    services = _compose()["services"]
    images = {json.dumps([services[name]["image"], services[name]["build"]]) for name in HUB_SERVICES}
    assert len(images) == 1
    assert services["migrate"]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_migrate_runs_both_migrations_before_the_rest_starts():
    services = _compose()["services"]
    script = " ".join(services["migrate"]["command"])
    assert "migrate --noinput" in script and "migrate --database keys --noinput" in script
    assert script.count("db_roles") == 2
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name


def test_compose_writes_no_secret_value():
    text = (DEPLOY / "compose.yaml").read_text()
    # Credentials in a URL come from deploy/.env, never written here.
    credentials = re.findall(r"://([^:/@\s]+):(\$\{[^}]*\}|[^@\s]+)@", text)
    assert len(credentials) == 5, "every database and broker URL of the stack was found"
    for user, password in credentials:
        assert password.startswith("${") and password.endswith("}"), f"{user}'s password is written in compose.yaml"
    secretish = re.compile(r"PASSWORD|SECRET|TOKEN|KEKS|SIGNING_KEY")
    for name, service in _compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if secretish.search(key):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+(:\?[^}]*)?\}", str(value)), f"{name}: {key}"
    assert "DJANGO_SECRET_KEY" not in text and "SEALING_KEKS" not in text


def test_each_container_gets_only_its_own_credentials():
    services = _compose()["services"]
    for name in HUB_SERVICES:
        # Never the interpolation file: it holds the database superusers' passwords.
        assert services[name]["env_file"] == ["${HUB_ENV_FILE:-hub.env}"], name
    for name in ("web", "worker"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://hub_app:"), name
        assert env["KEYS_DATABASE_URL"].startswith("postgres://hub_app:"), name
    assert services["migrate"]["environment"]["DATABASE_URL"].startswith("postgres://hub_owner:")
    assert "DATABASE_URL" not in services["beat"]["environment"]
    for name in ("db", "keys-db", "rabbitmq"):
        assert "env_file" not in services[name], name


def test_data_lives_on_named_volumes():
    compose = _compose()
    declared = set(compose["volumes"])
    expected = {"db": "/var/lib/postgresql/data", "keys-db": "/var/lib/postgresql/data",
                "rabbitmq": "/var/lib/rabbitmq", "beat": "/var/lib/celerybeat"}
    for name, path in expected.items():
        mounts = dict(volume.split(":")[:2][::-1] for volume in compose["services"][name]["volumes"])
        assert mounts.get(path) in declared, f"{name}: {path} on a named volume"
    assert len({compose["services"][n]["volumes"][0] for n in ("db", "keys-db")}) == 2, "the key store's own volume"


def test_rabbitmq_loads_the_definitions_its_entrypoint_renders():
    rabbitmq = _compose()["services"]["rabbitmq"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in rabbitmq["volumes"]}
    assert mounts["/etc/rabbitmq/hub/definitions.json"] == "./rabbitmq/definitions.json"
    assert mounts["/etc/rabbitmq/conf.d/90-welfare-hub.conf"] == "./rabbitmq/rabbitmq.conf"
    conf = (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text()
    (loaded,) = re.findall(r"^load_definitions = (\S+)$", conf, re.MULTILINE)
    entrypoint = (DEPLOY / "rabbitmq" / "entrypoint.sh").read_text()
    assert f"rendered={loaded}" in entrypoint
    assert str(Path(loaded).parent) in rabbitmq["tmpfs"], "the rendered password only on a tmpfs"


def test_broker_settings_agree_between_compose_and_kubernetes():
    compose_env = _compose()["x-broker-env"]
    config = _of_kind(_load_all(BASE / "configmap.yaml"), "ConfigMap")["hub-config"]["data"]
    for key in ("CELERY_TASK_DEFAULT_QUEUE_TYPE", "CELERY_TASK_DEFAULT_EXCHANGE_TYPE"):
        assert compose_env[key] == config[key], key


def test_env_examples_name_every_variable_and_hold_no_value():
    compose_text = (DEPLOY / "compose.yaml").read_text()
    example = (DEPLOY / "env.example").read_text()
    set_lines = dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", example, re.MULTILINE))
    for name in re.findall(r"\$\{([A-Z0-9_]+):\?", compose_text):
        assert name in set_lines, f"{name} (required by compose.yaml) is missing from env.example"
        assert set_lines[name] == "", f"env.example must not hold a value for {name}"
    for name in re.findall(r"\$\{([A-Z0-9_]+):-", compose_text):
        assert re.search(rf"^(# )?{name}=", example, re.MULTILINE), f"{name} is missing from env.example"


def test_hub_env_example_names_every_setting_the_hub_reads():
    settings_text = "".join((ROOT / "hub" / "settings" / name).read_text() for name in ("base.py", "production.py"))
    read = set(re.findall(r"env(?:\.[a-z_]+)?\(\s*\"([A-Z0-9_]+)\"", settings_text))
    read |= set(re.findall(r"(?:_env_int|os\.environ\.get)\(\s*\"([A-Z0-9_]+)\"", (DEPLOY / "gunicorn.conf.py").read_text()))
    example = (DEPLOY / "hub.env.example").read_text()
    named = set(re.findall(r"^(?:# )?([A-Z0-9_]+)=", example, re.MULTILINE))
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "KEYS_DATABASE_URL", "SEALING_KEKS"} <= read
    assert sorted(read - named) == []
    values = dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", example, re.MULTILINE))
    for secret in ("DJANGO_SECRET_KEY", "SEALING_KEKS", "METRICS_TOKEN"):
        assert values[secret] == "", f"hub.env.example must not hold a value for {secret}"


# --- RabbitMQ ------------------------------------------------------------------------------


def _definitions() -> dict:
    return json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())


def test_every_celery_queue_is_a_quorum_queue_with_a_delivery_limit():
    celery = _celery_queues_as_deployed()
    names = {celery["default_queue"], *celery["queues"], *celery["routed"]}
    definitions = _definitions()
    declared = {q["name"]: q for q in definitions["queues"]}
    for name in names:
        assert name in declared, f"queue {name!r} is not declared in deploy/rabbitmq/definitions.json"
        queue = declared[name]
        assert queue["arguments"]["x-queue-type"] == "quorum", name
        assert queue["durable"] is True and queue["auto_delete"] is False, name
        limits = [p for p in definitions["policies"] if re.search(p["pattern"], name) and p["vhost"] == queue["vhost"]]
        assert [p["definition"]["delivery-limit"] for p in limits] == [5], f"{name}: one policy with a delivery limit"
        # A poison message, past its limit, goes to the dead-letter queue, never away.
        exchange = limits[0]["definition"]["dead-letter-exchange"]
        assert any(b["source"] == exchange and b["destination"] in declared for b in definitions["bindings"])


def test_celery_declares_the_queues_as_the_broker_does():
    """A worker or publisher that declared the queue with other arguments
    (or none, a classic queue) would get PRECONDITION_FAILED from RabbitMQ
    and stop. Celery's delayed delivery on quorum queues needs a topic
    exchange (a direct one blocks a worker on every countdown)."""
    celery = _celery_queues_as_deployed()
    declared = {q["name"]: q for q in _definitions()["queues"]}
    for name, queue in celery["queues"].items():
        assert queue["arguments"] == declared[name]["arguments"], name
        assert queue["durable"] is True, name
        assert queue["exchange_type"] == "topic", name


def test_definitions_hold_no_password():
    (user,) = _definitions()["users"]
    assert user["password"] == "@HUB_BROKER_PASSWORD@", "filled in by entrypoint.sh from the environment"
    assert "password_hash" not in user


# --- the image --------------------------------------------------------------------------------


def _dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text()


def test_image_is_built_in_two_stages_and_runs_as_a_user():
    text = _dockerfile()
    stages = re.findall(r"^FROM \$\{PYTHON_IMAGE\} AS (\w+)$", text, re.MULTILINE)
    assert stages == ["builder", "runtime"]
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim-bookworm$", text, re.MULTILINE)
    runtime = text.split("AS runtime", 1)[1]
    assert "build-essential" not in runtime and "apt-get" not in runtime, "no compilers in the final stage"
    (user,) = re.findall(r"^USER (\S+)$", runtime, re.MULTILINE)
    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0", "a numeric, non-root user"
    assert "collectstatic" in runtime
    assert re.search(r'^CMD \["gunicorn", "--config", "/app/deploy/gunicorn.conf.py"', runtime, re.MULTILINE)
    # The build-only key is set for one command, never in the image's environment.
    env_block = "".join(re.findall(r"^ENV (?:.*\\\n)*.*$", text, re.MULTILINE))
    assert "DJANGO_SECRET_KEY" not in env_block


def test_image_copies_only_what_exists_and_the_ignore_file_allows():
    text = _dockerfile()
    ignore = [line.strip() for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()]
    assert "*" in ignore, "an allow-list: everything is ignored but what is named"
    allowed = {line[1:] for line in ignore if line.startswith("!")}
    for sources in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.MULTILINE):
        for source in sources.split():
            assert (ROOT / source).exists(), source
            assert source in allowed, f"{source} is not in Dockerfile.dockerignore's allow-list"


class _HealthzStandIn(BaseHTTPRequestHandler):
    """Answers /healthz as the hub does, and only for the Host Django allows."""

    def do_GET(self):
        ok = self.path == "/healthz" and self.headers["Host"] == "hub.example.invalid"
        self.send_response(200 if ok else 400)
        self.end_headers()

    def log_message(self, *args):
        pass


def _run_healthcheck(allowed_hosts: str) -> int:
    (command,) = re.findall(r"^\s+CMD (\[.*\])$", _dockerfile(), re.MULTILINE)
    argv = json.loads(command)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HealthzStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {"PATH": os.environ["PATH"], "PORT": str(server.server_address[1]), "DJANGO_ALLOWED_HOSTS": allowed_hosts}
        argv[0] = sys.executable
        return subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False).returncode
    finally:
        server.shutdown()
        server.server_close()


def test_image_healthcheck_asks_healthz_as_an_allowed_host():
    assert _run_healthcheck("hub.example.invalid,other.example.invalid") == 0
    assert _run_healthcheck("other.example.invalid") != 0


# --- gunicorn ---------------------------------------------------------------------------------


def _gunicorn_config(monkeypatch, **env):
    from gunicorn.app.base import Application

    class ConfigOnly(Application):
        """gunicorn's own loading and validation of a config file, no server."""

        def load_config(self):
            self.load_config_from_file(str(DEPLOY / "gunicorn.conf.py"))

        def load(self):
            raise AssertionError("nothing is served")

    for name in ("WEB_CONCURRENCY", "PORT", "GUNICORN_TIMEOUT", "GUNICORN_GRACEFUL_TIMEOUT",
                 "GUNICORN_MAX_REQUESTS", "FORWARDED_ALLOW_IPS", "LOG_LEVEL", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["gunicorn"])
    return ConfigOnly().cfg


@pytest.fixture
def gunicorn_loggers():
    """gunicorn's loggers as they were: a gunicorn Logger reconfigures them."""
    saved = {name: (log.handlers[:], log.filters[:], log.propagate, log.level)
             for name in ("gunicorn.error", "gunicorn.access") for log in [logging.getLogger(name)]}
    yield
    for name, (handlers, filters, propagate, level) in saved.items():
        log = logging.getLogger(name)
        log.handlers[:], log.filters[:], log.propagate = handlers, filters, propagate
        log.setLevel(level)


def test_gunicorn_settings_come_from_the_environment(monkeypatch):
    cfg = _gunicorn_config(monkeypatch, WEB_CONCURRENCY="5", PORT="9000", GUNICORN_TIMEOUT="45",
                           GUNICORN_GRACEFUL_TIMEOUT="20", FORWARDED_ALLOW_IPS="10.1.2.3,10.1.2.4")
    assert cfg.workers == 5
    assert cfg.bind == ["0.0.0.0:9000"]
    assert (cfg.timeout, cfg.graceful_timeout) == (45, 20)
    assert cfg.forwarded_allow_ips == ["10.1.2.3", "10.1.2.4"]
    assert cfg.preload_app is False
    assert (cfg.max_requests, cfg.max_requests_jitter) == (1000, 100)
    assert cfg.accesslog == "-" and cfg.logger_class.__name__ == "HubLogger"
    assert cfg.wsgi_app == "hub.wsgi:application"


def test_gunicorn_defaults_follow_the_containers_cpu_quota(monkeypatch, tmp_path):
    cfg = _gunicorn_config(monkeypatch)
    conf = sys.modules["__config__"]
    assert cfg.workers == conf.default_workers(conf.available_cpus())
    assert (cfg.timeout, cfg.graceful_timeout, cfg.forwarded_allow_ips) == (30, 30, ["127.0.0.1", "::1"])
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("150000 100000\n")
    assert conf.available_cpus(cpu_max) == 2
    cpu_max.write_text("50000 100000\n")
    assert conf.available_cpus(cpu_max) == 1
    cpu_max.write_text("max 100000\n")
    assert conf.available_cpus(cpu_max) == len(os.sched_getaffinity(0))
    assert [conf.default_workers(n) for n in (1, 2, 3, 4, 16)] == [3, 5, 7, 8, 8]


class _Response:
    status = "200 OK"
    sent = 1234
    headers = (("Content-Type", "application/json"), ("X-Request-ID", "req-0123456789abcdef"))


def _a_request_full_of_a_person():
    name, surname, pesel = PERSON
    query = f"purpose=referral&name={name}+{surname}&pesel={pesel}"
    environ = {
        "REQUEST_METHOD": "GET", "RAW_URI": f"/api/v1/subjects/{pesel}?{query}", "PATH_INFO": f"/api/v1/subjects/{pesel}",
        "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.7",
        "HTTP_REFERER": f"https://hub.example.invalid/app/people?q={surname}", "HTTP_USER_AGENT": f"agent {surname}",
    }
    headers = [("Authorization", "Bearer secret-token"), ("X-Person", surname)]
    return environ, headers


def test_access_lines_are_json_without_request_data(monkeypatch, capsys, gunicorn_loggers):
    cfg = _gunicorn_config(monkeypatch)
    logger = cfg.logger_class(cfg)
    environ, headers = _a_request_full_of_a_person()

    class Request:
        pass

    request = Request()
    request.headers = headers
    logger.access(_Response(), request, environ, timedelta(milliseconds=12.5))
    (line,) = capsys.readouterr().out.strip().splitlines()
    record = json.loads(line)
    assert record["logger"] == "gunicorn.access" and record["level"] == "INFO"
    assert {key: record[key] for key in ("method", "status", "bytes", "duration_ms", "request_id")} == {
        "method": "GET", "status": 200, "bytes": 1234, "duration_ms": 12.5, "request_id": "req-0123456789abcdef"}
    assert record["message"] == "GET answered 200"
    for forbidden in (*PERSON, "/api/", "purpose", "203.0.113.7", "secret-token"):
        assert forbidden not in line, forbidden


def test_requests_gunicorn_refuses_or_fails_are_logged_without_their_content(monkeypatch, capsys, gunicorn_loggers):
    cfg = _gunicorn_config(monkeypatch)
    logger = cfg.logger_class(cfg)
    name, surname, pesel = PERSON
    # As gunicorn's workers word them (gunicorn/workers/base.py, handle_error).
    logger.warning(f"Invalid request from ip=203.0.113.7: Invalid Request Line 'GET /app/people?q={name}+{surname}'")
    try:
        raise ValueError(f"no person {pesel}")
    except ValueError:
        logger.exception("Error handling request %s", f"/api/v1/subjects/{pesel}?name={surname}")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert records[0]["message"] == "refused a request gunicorn could not parse"
    assert records[1]["message"] == "error handling a request"
    assert "ValueError: [redacted]" in records[1]["exc_info"]
    for forbidden in (*PERSON, "203.0.113.7"):
        assert all(forbidden not in line for line in lines), forbidden


def test_gunicorn_keeps_the_prometheus_directory_for_live_workers_only(monkeypatch, tmp_path):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_111.db").write_bytes(b"stale")
    cfg = _gunicorn_config(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(directory))
    cfg.on_starting(None)
    assert list(directory.iterdir()) == [], "an earlier run's metrics are cleared"
    (directory / "gauge_liveall_4242.db").write_bytes(b"")
    (directory / "counter_4242.db").write_bytes(b"")

    class Worker:
        pid = 4242

    cfg.child_exit(None, Worker())
    assert sorted(p.name for p in directory.iterdir()) == ["counter_4242.db"], "a dead worker's live gauges go"
