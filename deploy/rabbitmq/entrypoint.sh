#!/bin/sh
# Entry point of the compose stack's RabbitMQ: writes the definitions that
# rabbitmq.conf loads at boot (deploy/rabbitmq/definitions.json, the hub's
# user's password filled in from HUB_BROKER_PASSWORD), then hands over to the
# image's own entry point. The password never lives in a file in git, and the
# rendered file only on a tmpfs, readable by the rabbitmq user alone.
set -eu

: "${HUB_BROKER_PASSWORD:?set RABBITMQ_HUB_PASSWORD in deploy/.env}"
# It goes into a JSON string here and into CELERY_BROKER_URL: letters, digits
# and - . _ ~ need escaping in neither (use `openssl rand -hex 32`).
case "$HUB_BROKER_PASSWORD" in
  *[!A-Za-z0-9._~-]*)
    echo "HUB_BROKER_PASSWORD: use only letters, digits and - . _ ~ (openssl rand -hex 32)" >&2
    exit 1
    ;;
esac

rendered=/run/hub-rabbitmq/definitions.json
mkdir -p "$(dirname "$rendered")"
umask 077
sed "s|@HUB_BROKER_PASSWORD@|$HUB_BROKER_PASSWORD|" /etc/rabbitmq/hub/definitions.json >"$rendered"
chown -R rabbitmq:rabbitmq "$(dirname "$rendered")"

exec docker-entrypoint.sh "$@"
