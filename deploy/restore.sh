#!/usr/bin/env bash
# Restore one dump made by deploy/backup.sh (any pg_dump -Fc archive) into a
# NEW database, never over an existing one. Run it once per database: the
# main database and the key store are restored apart, each from its own dump.
#
# Usage:
#
#   deploy/restore.sh DUMP TARGET_DATABASE_URL
#
#   deploy/restore.sh /srv/backups/hub-main/main-20261130T020000Z.dump \
#       postgres://hub_owner@db.internal:5432/hub_restored
#   deploy/restore.sh /srv/backups/hub-keys/keys-20261130T020000Z.dump \
#       postgres://hub_owner@keys.internal:5432/hub_keys_restored
#
# then prove the restore before pointing anything at it (deploy/DATABASE.md,
# "Restore drill"):
#
#   DATABASE_URL=postgres://...hub_restored KEYS_DATABASE_URL=postgres://...hub_keys_restored \
#       manage.py verify_ledger
#   ... manage.py verify_ledger --from-checkpoint <ledger_tree_size> --root <ledger_root_hash>
#       (both from the dump's .manifest)
#
# What it does: checks the dump against its .sha256 file when there is one and
# that its table of contents reads; creates the database named by the URL
# (from template0, UTF8) through the server's maintenance database; restores
# with pg_restore --no-owner in a single transaction, stopping at the first
# error; ANALYZEs; drops the database it created if anything failed.
#
# Ownership (--no-owner): every restored object is owned by the role that
# runs this script, whatever owned it in the dump. Run it as the migration
# owner role (which needs CREATEDB), never as the runtime role: the runtime
# role must not own the ledger tables, since an owner can disable their
# append-only triggers (consent_ledger/triggers.py); and not as a superuser,
# or the next `migrate` (as the owner role) cannot alter the tables.
# Privileges (GRANTs to the runtime role) are restored as dumped, so that role
# must exist on the target server (create the roles first, deploy/DATABASE.md
# "Roles"); RESTORE_NO_PRIVILEGES=1 skips them, to grant them afresh after.
#
# Environment:
#   RESTORE_MAINTENANCE_DB   the database to connect to for CREATE/DROP
#                            DATABASE on the target's server (default postgres)
#   RESTORE_NO_PRIVILEGES    1: restore no GRANTs (pg_restore --no-privileges)
#
# The target URL's database name must be a plain identifier (letters, digits,
# underscores). Prints the restored database's name on stdout; logs to stderr.

set -euo pipefail

log() { printf '%s restore: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $# -eq 2 ]] || die "usage: $0 DUMP TARGET_DATABASE_URL"
dump=$1
target=$2
maintenance_db=${RESTORE_MAINTENANCE_DB:-postgres}

for tool in pg_restore psql sha256sum; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian: apt-get install postgresql-client)"
done
[[ -f "$dump" && -r "$dump" ]] || die "no readable dump at $dump"

# postgres://user@host:port/name?options -> name, and the same URL naming the
# maintenance database instead.
url_pattern='^((postgres|postgresql)://[^/?]*)/([^/?]+)(\?.*)?$'
[[ "$target" =~ $url_pattern ]] || die "TARGET_DATABASE_URL must be postgres://[user@]host[:port]/name"
name=${BASH_REMATCH[3]}
server_url="${BASH_REMATCH[1]}/$maintenance_db${BASH_REMATCH[4]}"
[[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]] || die "database name '$name' is not a plain identifier"

# psql on the maintenance database, the name passed as a variable (quoted by psql, never spliced).
on_server() { psql -X -w -A -t -v ON_ERROR_STOP=1 -v name="$name" -d "$server_url"; }

if [[ -f "$dump.sha256" ]]; then
  (cd -- "$(dirname -- "$dump")" && sha256sum --check --status -- "$(basename -- "$dump").sha256") ||
    die "$dump does not match its checksum ($dump.sha256): damaged or altered"
  log "checksum matches ($dump.sha256)"
fi
pg_restore --list "$dump" >/dev/null || die "$dump is not a readable pg_dump custom-format archive"

exists=$(on_server <<<"SELECT count(*) FROM pg_database WHERE datname = :'name';")
[[ "$exists" == 0 ]] || die "database $name exists already: restore into a new database, never over one"

created=0
drop_on_failure() {
  local status=$?
  if ((status != 0 && created)); then
    log "restore failed: dropping $name, which this run created"
    on_server <<<'DROP DATABASE IF EXISTS :"name" WITH (FORCE);' >/dev/null || log "could not drop $name: drop it by hand"
  fi
}
trap drop_on_failure EXIT

log "creating database $name"
on_server <<<"CREATE DATABASE :\"name\" TEMPLATE template0 ENCODING 'UTF8';" >/dev/null
created=1

options=(--no-owner --single-transaction --exit-on-error --no-password)
[[ "${RESTORE_NO_PRIVILEGES:-0}" == 1 ]] && options+=(--no-privileges)
log "restoring $dump into $name (pg_restore ${options[*]})"
pg_restore "${options[@]}" --dbname="$target" "$dump"

# Fresh planner statistics: a restored database has none until autovacuum
# gets to it, and the first verify_ledger on it would be planned blind.
psql -X -w -q -v ON_ERROR_STOP=1 -d "$target" -c "ANALYZE" >/dev/null

log "restored into $name"
printf '%s\n' "$name"
