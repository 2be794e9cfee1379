#!/usr/bin/env bash
# The production smoke test against the compose stack (`make smoke-compose`):
# builds the image, starts deploy/compose.yaml (with deploy/compose.smoke.yaml)
# as a project of its own with fresh passwords and keys, runs
# tests/deploy/test_compose_smoke.py against it, and removes the stack with
# its volumes, whatever happened. Needs a Docker engine with the compose
# plugin; CI machines have none, and run the same lifecycle without Docker
# (tests/deploy/test_production_smoke.py, in `make test`).
#
#   HUB_SMOKE_PORT      the web port on 127.0.0.1 (default 18000)
#   HUB_SMOKE_KEEP=1    leave the stack running for a look (remove it with the
#                       `docker compose ... down -v` line this prints)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! docker info >/dev/null 2>&1 || ! docker compose version >/dev/null 2>&1; then
  echo "smoke-compose: needs a running Docker engine and its compose plugin (docker info; docker compose version)" >&2
  exit 2
fi
python=.venv/bin/python
[ -x "$python" ] || make venv

work=$(mktemp -d)
chmod 700 "$work"
project="hub-smoke-$(date +%s)"
port=${HUB_SMOKE_PORT:-18000}
random() { "$python" -c 'import secrets; print(secrets.token_hex(24))'; }

# The stack's passwords (deploy/env.example), fresh for this run.
{
  for name in POSTGRES_PASSWORD HUB_OWNER_DB_PASSWORD HUB_APP_DB_PASSWORD KEYS_POSTGRES_PASSWORD \
              HUB_OWNER_KEYS_DB_PASSWORD HUB_APP_KEYS_DB_PASSWORD RABBITMQ_HUB_PASSWORD; do
    echo "$name=$(random)"
  done
  echo "HUB_IMAGE=welfare-hub:smoke"
  echo "HUB_HTTP_PORT=$port"
} >"$work/.env"

# The hub's settings (deploy/hub.env.example): the defaults, and what is required.
{
  echo "DJANGO_SECRET_KEY=$(random)$(random)"
  echo "DJANGO_ALLOWED_HOSTS=hub.smoke.test"
  echo "SEALING_KEKS=smoke=$("$python" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
  echo "NUM_PROXIES=1"
  echo "FORWARDED_ALLOW_IPS=*"
  echo "METRICS_TOKEN=$(random)"
  echo "LEDGER_ORIGIN=hub.smoke.test/consent-ledger"
  echo "LEDGER_KEY_NAME=hub.smoke.test/consent-ledger"
} >"$work/hub.env"
chmod 600 "$work/.env" "$work/hub.env"

export HUB_ENV_FILE="$work/hub.env"
compose=(docker compose -p "$project" --env-file "$work/.env" -f deploy/compose.yaml -f deploy/compose.smoke.yaml)
finish() {
  status=$?
  if [ "${HUB_SMOKE_KEEP:-}" = 1 ]; then
    echo "smoke-compose: left running; remove with: HUB_ENV_FILE=$HUB_ENV_FILE ${compose[*]} down -v"
  else
    "${compose[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true
    rm -rf "$work"
  fi
  exit $status
}
trap finish EXIT

"${compose[@]}" build
# Waits for migrate to finish and for each service's health check.
"${compose[@]}" up --detach --wait --wait-timeout 600 web worker beat

HUB_COMPOSE_PROJECT="$project" HUB_COMPOSE_ENV_FILE="$work/.env" HUB_COMPOSE_PORT="$port" \
  "$python" -m pytest -p no:cacheprovider -m compose tests/deploy/test_compose_smoke.py -v
