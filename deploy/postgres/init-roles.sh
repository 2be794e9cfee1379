#!/bin/sh
# Run by the postgres image once, when its data volume is empty
# (/docker-entrypoint-initdb.d/, as the superuser): the hub's two roles with
# their passwords, and the owner role as the database's owner. Everything
# else the roles need, `manage.py db_roles` grants: the compose stack's
# migrate service runs it as the owner after every migrate (deploy/DATABASE.md).
#
# Environment (compose.yaml): POSTGRES_DB, POSTGRES_USER (the superuser),
# HUB_OWNER_ROLE, HUB_OWNER_PASSWORD, HUB_RUNTIME_ROLE, HUB_RUNTIME_PASSWORD.
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v db="$POSTGRES_DB" \
  -v owner="$HUB_OWNER_ROLE" -v owner_password="$HUB_OWNER_PASSWORD" \
  -v runtime="$HUB_RUNTIME_ROLE" -v runtime_password="$HUB_RUNTIME_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN PASSWORD :'owner_password';
CREATE ROLE :"runtime" LOGIN PASSWORD :'runtime_password';
ALTER DATABASE :"db" OWNER TO :"owner";
SQL
