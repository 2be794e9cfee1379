#!/usr/bin/env bash
# Back up the hub's two PostgreSQL databases, each to its own custom-format
# dump (pg_dump -Fc): the main database and the key store (subjects' wrapped
# data keys, consent_ledger/sealing.py). Why two files, and why the key
# store's are kept for a much shorter time: deploy/DATABASE.md, "Backups".
#
# Usage (as a cron job or a Kubernetes CronJob, once a day or more often):
#
#   DATABASE_URL=postgres://hub_owner@db.internal:5432/hub \
#   KEYS_DATABASE_URL=postgres://hub_owner@keys.internal:5432/hub_keys \
#   BACKUP_DIR=/srv/backups/hub-main \
#   KEYS_BACKUP_DIR=/srv/backups/hub-keys \
#   deploy/backup.sh
#
# Environment:
#   DATABASE_URL, KEYS_DATABASE_URL   what the hub itself is configured with
#                                     (postgres:// or postgresql:// URLs; keep
#                                     passwords out of them: use ~/.pgpass or
#                                     PGPASSFILE, a URL is visible in `ps`).
#   BACKUP_DIR                        where the main database's dumps go.
#   KEYS_BACKUP_DIR                   where the key store's go: another place
#                                     than BACKUP_DIR and not inside it, so that
#                                     nothing that copies or keeps the main
#                                     dumps (off-site sync, snapshots) takes
#                                     the keys along by accident.
#   BACKUP_RETENTION_DAYS             main dumps older than this are deleted
#                                     (default 35).
#   KEYS_BACKUP_RETENTION_DAYS        key-store dumps older than this are
#                                     deleted (default 7): the longest an
#                                     erased person's key survives in a backup.
#   BACKUP_LOCK_WAIT                  how long pg_dump waits for a table lock
#                                     (default 60s: a running migration).
#
# Writes, and prints one path per line on stdout (logs go to stderr):
#   $BACKUP_DIR/main-<UTC time>.dump         the main database
#   $BACKUP_DIR/main-<UTC time>.dump.sha256  its checksum (sha256sum -c)
#   $BACKUP_DIR/main-<UTC time>.manifest     versions, its key-store pair, and
#                                            the ledger's latest signed
#                                            checkpoint before the dump began
#   $KEYS_BACKUP_DIR/keys-<UTC time>.dump    the key store (+ .sha256)
# Then, only when both dumps succeeded, deletes this script's own files older
# than their retention. Copies made elsewhere (object storage, tape) need the
# same two retentions set there: a lifecycle rule per bucket.
#
# Run it as the migration owner role (or any role that can read every table);
# the runtime role may lack SELECT on tables it never reads. Exit status is
# non-zero on any failure, and no partial file is left behind.
#
# Restore with deploy/restore.sh, one dump at a time, into new databases.

set -euo pipefail

log() { printf '%s backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

: "${DATABASE_URL:?set DATABASE_URL (the main database)}"
: "${BACKUP_DIR:?set BACKUP_DIR (where the main dumps go)}"
: "${KEYS_BACKUP_DIR:?set KEYS_BACKUP_DIR (where the key-store dumps go, apart from BACKUP_DIR)}"
BACKUP_RETENTION_DAYS=${BACKUP_RETENTION_DAYS:-35}
KEYS_BACKUP_RETENTION_DAYS=${KEYS_BACKUP_RETENTION_DAYS:-7}
BACKUP_LOCK_WAIT=${BACKUP_LOCK_WAIT:-60s}

# Without a key store of its own the keys sit in the main database, and every
# main dump would hold the keys of people erased since (check consent_ledger.W001).
if [[ -z "${KEYS_DATABASE_URL:-}" || "$KEYS_DATABASE_URL" == "$DATABASE_URL" ]]; then
  die "KEYS_DATABASE_URL must name the key store, a database apart from DATABASE_URL (deploy/DATABASE.md)"
fi

for days in "$BACKUP_RETENTION_DAYS" "$KEYS_BACKUP_RETENTION_DAYS"; do
  [[ "$days" =~ ^[1-9][0-9]*$ ]] || die "retentions are whole days, at least 1 (got '$days')"
done

for tool in pg_dump pg_restore psql sha256sum; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian: apt-get install postgresql-client)"
done

mkdir -p -- "$BACKUP_DIR" "$KEYS_BACKUP_DIR"
main_dir=$(cd -- "$BACKUP_DIR" && pwd -P)
keys_dir=$(cd -- "$KEYS_BACKUP_DIR" && pwd -P)
if [[ "$keys_dir/" == "$main_dir/"* ]]; then
  die "KEYS_BACKUP_DIR ($keys_dir) must not be BACKUP_DIR or inside it"
fi

# Dumps hold sealed person data and wrapped keys: readable by this user only.
umask 077

# The database name of a URL (for the manifest: never the URL, it may hold a password).
db_name() { local path=${1%%\?*}; printf '%s' "${path##*/}"; }

# One value from the database; no .psqlrc, never a password prompt.
query() { psql -X -w -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

client_major() { "$1" --version | grep -oE '[0-9]+' | head -n 1; }

# pg_dump refuses a server newer than itself; say so before it does, and
# which client to install. A newer pg_dump is fine, but its dumps then need
# a pg_restore at least as new (deploy/DATABASE.md).
check_versions() {
  local url=$1 server client
  server=$(query "$url" "SHOW server_version_num")
  client=$(client_major pg_dump)
  if (( client < server / 10000 )); then
    die "pg_dump $client is older than the server of $(db_name "$url") ($((server / 10000))): install postgresql-client-$((server / 10000))"
  fi
  printf '%s' "$server"
}

partials=()
cleanup() { ((${#partials[@]})) && rm -f -- "${partials[@]}"; return 0; }
trap cleanup EXIT

# dump URL FILE: pg_dump into FILE.partial, check the archive's table of
# contents reads back, then move it in place and write its checksum.
dump() {
  local url=$1 file=$2
  partials+=("$file.partial")
  log "dumping $(db_name "$url") to $file"
  pg_dump --format=custom --no-password --lock-wait-timeout="$BACKUP_LOCK_WAIT" \
    --dbname="$url" --file="$file.partial"
  pg_restore --list "$file.partial" >/dev/null || die "$file.partial does not read back"
  mv -- "$file.partial" "$file"
  (cd -- "$(dirname -- "$file")" && sha256sum -- "$(basename -- "$file")" >"$(basename -- "$file").sha256")
}

# Files of one kind (main-*, keys-*) in one place older than their retention.
prune() {
  local dir=$1 prefix=$2 days=$3
  find "$dir" -maxdepth 1 -type f -name "$prefix-*" -mmin "+$((days * 24 * 60))" -print -delete |
    while read -r gone; do log "retention ($days days): deleted $gone"; done
}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
main_file="$main_dir/main-$stamp.dump"
keys_file="$keys_dir/keys-$stamp.dump"
[[ -e "$main_file" || -e "$keys_file" ]] && die "a backup stamped $stamp exists already"

main_server=$(check_versions "$DATABASE_URL")
check_versions "$KEYS_DATABASE_URL" >/dev/null

# The log's latest signed checkpoint before the dump starts: the dump holds
# it or a later one, so a restore drill can check the restored log extends
# it (verify_ledger --from-checkpoint SIZE --root ROOT) without the original.
checkpoint=$(query "$DATABASE_URL" \
  "SELECT tree_size || ' ' || root_hash FROM consent_ledger_checkpoint ORDER BY tree_size DESC, id DESC LIMIT 1")

# The main database first, then the key store: a data key is created (in the
# key store) before the row sealed with it commits, and is only deleted at
# erasure, so a key-store dump taken after the main one holds every key the
# main dump needs, apart from those of people erased in between.
dump "$DATABASE_URL" "$main_file"
dump "$KEYS_DATABASE_URL" "$keys_file"

manifest="$main_dir/main-$stamp.manifest"
partials+=("$manifest.partial")
{
  printf 'created_at=%s\n' "$stamp"
  printf 'database=%s\n' "$(db_name "$DATABASE_URL")"
  printf 'key_store_database=%s\n' "$(db_name "$KEYS_DATABASE_URL")"
  printf 'key_store_dump=%s\n' "$(basename -- "$keys_file")"
  printf 'server_version_num=%s\n' "$main_server"
  printf 'pg_dump_version=%s\n' "$(pg_dump --version | grep -oE '[0-9]+(\.[0-9]+)*' | head -n 1)"
  printf 'ledger_tree_size=%s\n' "${checkpoint%% *}"
  printf 'ledger_root_hash=%s\n' "${checkpoint#* }"
} >"$manifest.partial"
mv -- "$manifest.partial" "$manifest"

prune "$main_dir" main "$BACKUP_RETENTION_DAYS"
prune "$keys_dir" keys "$KEYS_BACKUP_RETENTION_DAYS"

log "done"
printf '%s\n' "$main_file" "$keys_file"
