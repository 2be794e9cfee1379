-- Range-partition the consent ledger's entries by recorded_at (deploy/SCALING.md,
-- "Partitioning the ledger and the outbox"). One-off, in a short maintenance
-- window; appends wait on the table lock meanwhile (and fail after lock_timeout,
-- a refusal the services already answer as an error: nothing is lost).
--
-- Usage, as the role that owns the ledger tables (the migration owner, never
-- the runtime role), after a backup (deploy/backup.sh):
--
--   psql "$DATABASE_URL" -X -v ON_ERROR_STOP=1 \
--        -v cutover='2027-01-01 00:00:00+00' [-v months_ahead=3] \
--        -f deploy/sql/partition_ledger.sql
--
-- cutover: every entry recorded before it stays where it is, in the old table,
-- which becomes the partition consent_ledger_ledgerentry_initial; from it on,
-- one partition per calendar month (UTC). It must be later than every stored
-- entry's recorded_at. A cutover a little in the future (the next midnight)
-- lets the slow steps run before the window, online (SCALING.md).
-- months_ahead: how many months of partitions to create beyond the current one
-- (default 3). Later months come from hub_ledger_partitions_ensure(), run
-- monthly by the owner role (SCALING.md): an append with no partition for its
-- time fails, which is the ledger failing closed, never a disclosure unrecorded.
--
-- What changes, and why (PostgreSQL requires the partition key in every
-- unique constraint of a partitioned table, and a foreign key must reference
-- a unique constraint):
--   * the primary key becomes (seq, recorded_at); seq keeps its sequence;
--   * the global uniqueness of seq and id, and the foreign keys into the
--     ledger (the sequencer's queue, notes, provisions), move to a narrow
--     unpartitioned table consent_ledger_ledgerentry_key (seq, id), filled by
--     a trigger on every append: no code changes;
--   * the append-only guards (consent_ledger/triggers.py) are re-created on
--     the partitioned table, whose row trigger every partition inherits, and
--     the TRUNCATE guard on it and on each partition (statement triggers are
--     not inherited); the key table is guarded the same way;
--   * the runtime role keeps exactly the privileges it had on the old table.
-- The Merkle log (leaves, nodes, checkpoints, sequencer state) is untouched:
-- sequencing and verify_ledger read the entries by seq and id as before.

\set ON_ERROR_STOP on
\if :{?cutover}
\else
  \warn 'Give the cutover: -v cutover=''2027-01-01 00:00:00+00'' (see the head of this file).'
  SELECT 1 / 0 AS cutover_not_given;
\endif
\if :{?months_ahead}
\else
  \set months_ahead 3
\endif

BEGIN;
-- Appends queue behind this lock: never let them wait long. If it cannot be
-- had in time (a long transaction), nothing changed: run the file again.
SET LOCAL lock_timeout = '5s';
SET LOCAL TimeZone = 'UTC';
SELECT set_config('hub.cutover', :'cutover', true);

LOCK TABLE consent_ledger_ledgerentry IN ACCESS EXCLUSIVE MODE;

DO $$
DECLARE
  cutover timestamptz := current_setting('hub.cutover')::timestamptz;
  latest timestamptz;
BEGIN
  IF (SELECT relkind FROM pg_class WHERE oid = 'consent_ledger_ledgerentry'::regclass) = 'p' THEN
    RAISE EXCEPTION 'consent_ledger_ledgerentry is partitioned already';
  END IF;
  -- A CHECK constraint validated beforehand (step 1 of the plan) spares this
  -- scan; ATTACH then checks that it implies the partition's bound.
  IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'consent_ledger_ledgerentry_before_cutover'
              AND conrelid = 'consent_ledger_ledgerentry'::regclass AND convalidated) THEN
    RETURN;
  END IF;
  SELECT max(recorded_at) INTO latest FROM consent_ledger_ledgerentry;
  IF latest >= cutover THEN
    RAISE EXCEPTION 'cutover % is not after the latest entry (recorded at %): choose a later one', cutover, latest;
  END IF;
END $$;

-- 1. Functions: the guards' (as consent_ledger/triggers.py defines them), the
-- key table's, and the monthly partitions'.

CREATE OR REPLACE FUNCTION hub_ledger_refuse() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'ledger is append-only: % on %', TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION hub_ledger_refuse_truncate() RETURNS trigger AS $$
DECLARE
  has_rows boolean;
BEGIN
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', TG_TABLE_NAME) INTO has_rows;
  IF has_rows THEN
    RAISE EXCEPTION 'ledger is append-only: TRUNCATE on %', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

-- Every entry's (seq, id) once, across all partitions: a second entry with
-- either is refused at its INSERT, as the old table's unique indexes did.
CREATE OR REPLACE FUNCTION hub_ledger_entry_key_insert() RETURNS trigger AS $$
BEGIN
  INSERT INTO consent_ledger_ledgerentry_key (seq, id) VALUES (NEW.seq, NEW.id);
  RETURN NULL;
END $$ LANGUAGE plpgsql;

-- A new table's privileges may come from the owner's default privileges
-- (`manage.py db_roles` grants DML on new tables): on a ledger table no role
-- but its owner keeps UPDATE, DELETE or TRUNCATE, as db_roles leaves the
-- tables it guards.
CREATE OR REPLACE FUNCTION hub_ledger_append_only_privileges(ledger_table regclass) RETURNS void AS $$
DECLARE
  grantee text;
BEGIN
  FOR grantee IN
    SELECT DISTINCT CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(acl.grantee::regrole::text) END
      FROM pg_class c, aclexplode(c.relacl) acl
     WHERE c.oid = ledger_table AND acl.grantee <> c.relowner
  LOOP
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %s FROM %s', ledger_table, grantee);
  END LOOP;
END $$ LANGUAGE plpgsql;

-- The partition for [lo, hi), named by lo's month, with its TRUNCATE guard
-- (the row guard comes with the partition: it is inherited).
CREATE OR REPLACE FUNCTION hub_ledger_partition_create(lo timestamptz, hi timestamptz) RETURNS regclass
SET TimeZone = 'UTC' AS $$
DECLARE
  name text := 'consent_ledger_ledgerentry_' || to_char(lo, '"y"YYYY"m"MM');
BEGIN
  EXECUTE format('CREATE TABLE %I PARTITION OF consent_ledger_ledgerentry FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
  EXECUTE format('CREATE TRIGGER hub_ledger_entry_no_truncate BEFORE TRUNCATE ON %I '
                 'FOR EACH STATEMENT EXECUTE FUNCTION hub_ledger_refuse_truncate()', name);
  PERFORM hub_ledger_append_only_privileges(name::regclass);
  RETURN name::regclass;
END $$ LANGUAGE plpgsql;

-- Partitions up to the end of the month `months_ahead` months from now,
-- each from where the last one ends to the end of that month: the first one
-- after the cutover is a partial month. Safe to run any time, as often as
-- wanted; returns the partitions it created.
CREATE OR REPLACE FUNCTION hub_ledger_partitions_ensure(months_ahead integer DEFAULT 3) RETURNS SETOF regclass
SET TimeZone = 'UTC' AS $$
DECLARE
  upper timestamptz;
  horizon timestamptz := date_trunc('month', now()) + make_interval(months => months_ahead + 1);
BEGIN
  SELECT max((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz)
    INTO upper
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = 'consent_ledger_ledgerentry'::regclass;
  IF upper IS NULL THEN
    RAISE EXCEPTION 'consent_ledger_ledgerentry has no bounded partition to continue from';
  END IF;
  WHILE upper < horizon LOOP
    RETURN NEXT hub_ledger_partition_create(upper, date_trunc('month', upper) + interval '1 month');
    upper := date_trunc('month', upper) + interval '1 month';
  END LOOP;
END $$ LANGUAGE plpgsql;

-- 2. The key table, with every existing entry's (seq, id).

CREATE TABLE consent_ledger_ledgerentry_key (
  seq bigint PRIMARY KEY,
  id uuid NOT NULL UNIQUE
);
INSERT INTO consent_ledger_ledgerentry_key (seq, id) SELECT seq, id FROM consent_ledger_ledgerentry;
CREATE TRIGGER hub_ledger_entry_key_guard BEFORE UPDATE OR DELETE ON consent_ledger_ledgerentry_key
  FOR EACH ROW EXECUTE FUNCTION hub_ledger_refuse();
CREATE TRIGGER hub_ledger_entry_key_no_truncate BEFORE TRUNCATE ON consent_ledger_ledgerentry_key
  FOR EACH STATEMENT EXECUTE FUNCTION hub_ledger_refuse_truncate();

-- 3. Every foreign key into the entries (LedgerPending -> seq; LedgerNote,
-- Provision.granted_entry and .ended_entry -> id) now references the key
-- table: same name, same column, deferred as Django makes them. NOT VALID
-- here (no scan in the window); validated after the commit, below.

DO $$
DECLARE
  fk record;
BEGIN
  FOR fk IN
    SELECT c.conname, c.conrelid::regclass AS tbl, a.attname AS col, r.attname AS ref
      FROM pg_constraint c
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
      JOIN pg_attribute r ON r.attrelid = c.confrelid AND r.attnum = c.confkey[1]
     WHERE c.contype = 'f' AND c.confrelid = 'consent_ledger_ledgerentry'::regclass
  LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tbl, fk.conname);
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%I) REFERENCES consent_ledger_ledgerentry_key (%I) '
                   'DEFERRABLE INITIALLY DEFERRED NOT VALID', fk.tbl, fk.conname, fk.col, fk.ref);
  END LOOP;
END $$;

-- 4. The old table becomes the partition of everything before the cutover.
-- Its indexes are made to match the partitioned table's, so ATTACH adopts
-- them instead of building more (to keep this out of the window, build them
-- beforehand with CREATE INDEX CONCURRENTLY under these names: SCALING.md).
-- A CHECK constraint matching the bound spares ATTACH its scan, likewise.

ALTER TABLE consent_ledger_ledgerentry RENAME TO consent_ledger_ledgerentry_initial;
CREATE UNIQUE INDEX IF NOT EXISTS consent_ledger_ledgerentry_initial_seq_recorded_at
  ON consent_ledger_ledgerentry_initial (seq, recorded_at);
CREATE INDEX IF NOT EXISTS consent_ledger_ledgerentry_initial_id ON consent_ledger_ledgerentry_initial (id);
ALTER INDEX ledger_subject_kind_seq RENAME TO consent_ledger_ledgerentry_initial_subject_kind_seq;
-- The old keys go (uniqueness and the foreign keys are the key table's now);
-- the primary key becomes (seq, recorded_at), as a constraint, which is what
-- ATTACH looks for to adopt an index for the partitioned table's key.
ALTER TABLE consent_ledger_ledgerentry_initial
  DROP CONSTRAINT consent_ledger_ledgerentry_pkey,
  DROP CONSTRAINT consent_ledger_ledgerentry_id_key,
  ADD CONSTRAINT consent_ledger_ledgerentry_initial_pkey
    PRIMARY KEY USING INDEX consent_ledger_ledgerentry_initial_seq_recorded_at;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'consent_ledger_ledgerentry_before_cutover'
                  AND conrelid = 'consent_ledger_ledgerentry_initial'::regclass) THEN
    EXECUTE format('ALTER TABLE consent_ledger_ledgerentry_initial ADD CONSTRAINT consent_ledger_ledgerentry_before_cutover '
                   'CHECK (recorded_at < %L)', current_setting('hub.cutover')::timestamptz);
  END IF;
END $$;

-- seq leaves the old table's identity for a sequence of the partitioned
-- table's own, continuing where the identity stood (never below a stored seq).
SELECT greatest(nextval(pg_get_serial_sequence('consent_ledger_ledgerentry_initial', 'seq')),
                (SELECT coalesce(max(seq), 0) + 1 FROM consent_ledger_ledgerentry_initial)) AS next_seq \gset
ALTER TABLE consent_ledger_ledgerentry_initial ALTER COLUMN seq DROP IDENTITY;
-- The row guard is re-created on the partitioned table (and inherited by
-- this partition) before the commit: no moment without it is ever visible.
DROP TRIGGER hub_ledger_entry_guard ON consent_ledger_ledgerentry_initial;

-- 5. The partitioned table: the old one's columns, NOT NULLs and defaults.

CREATE TABLE consent_ledger_ledgerentry (LIKE consent_ledger_ledgerentry_initial INCLUDING DEFAULTS INCLUDING STORAGE)
  PARTITION BY RANGE (recorded_at);
CREATE SEQUENCE consent_ledger_ledgerentry_seq_seq AS bigint START :next_seq
  OWNED BY consent_ledger_ledgerentry.seq;
ALTER TABLE consent_ledger_ledgerentry ALTER COLUMN seq SET DEFAULT nextval('consent_ledger_ledgerentry_seq_seq');
ALTER TABLE consent_ledger_ledgerentry ADD CONSTRAINT consent_ledger_ledgerentry_pkey PRIMARY KEY (seq, recorded_at);
CREATE INDEX consent_ledger_ledgerentry_id ON consent_ledger_ledgerentry (id);
CREATE INDEX ledger_subject_kind_seq ON consent_ledger_ledgerentry (subject_id, kind, seq);

-- The entries' own foreign keys (subject, recording agency), as the old table
-- had them; ATTACH adopts the old table's matching ones.
DO $$
DECLARE
  fk record;
BEGIN
  FOR fk IN
    SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint
     WHERE contype = 'f' AND conrelid = 'consent_ledger_ledgerentry_initial'::regclass
  LOOP
    EXECUTE format('ALTER TABLE consent_ledger_ledgerentry ADD CONSTRAINT %I %s', fk.conname, fk.definition);
  END LOOP;
END $$;

ALTER TABLE consent_ledger_ledgerentry ATTACH PARTITION consent_ledger_ledgerentry_initial
  FOR VALUES FROM (MINVALUE) TO (:'cutover');
ALTER TABLE consent_ledger_ledgerentry_initial DROP CONSTRAINT consent_ledger_ledgerentry_before_cutover;

-- 6. The guards (names as consent_ledger/triggers.py gives them) and the key trigger.

CREATE TRIGGER hub_ledger_entry_guard BEFORE UPDATE OR DELETE ON consent_ledger_ledgerentry
  FOR EACH ROW EXECUTE FUNCTION hub_ledger_refuse();
CREATE TRIGGER hub_ledger_entry_no_truncate BEFORE TRUNCATE ON consent_ledger_ledgerentry
  FOR EACH STATEMENT EXECUTE FUNCTION hub_ledger_refuse_truncate();
CREATE TRIGGER hub_ledger_entry_key AFTER INSERT ON consent_ledger_ledgerentry
  FOR EACH ROW EXECUTE FUNCTION hub_ledger_entry_key_insert();

-- 7. Whoever could read or append to the old table can to the new one, and
-- to the key table its appends write through the trigger; an INSERT takes
-- seq from the new sequence. (Direct privileges only: the runtime role
-- reaches the partitions through the partitioned table.)
DO $$
DECLARE
  grant_ record;
BEGIN
  FOR grant_ IN
    SELECT DISTINCT acl.grantee::regrole AS grantee, acl.privilege_type
      FROM pg_class c, aclexplode(c.relacl) acl
     WHERE c.oid = 'consent_ledger_ledgerentry_initial'::regclass AND acl.grantee <> c.relowner AND acl.grantee <> 0
  LOOP
    EXECUTE format('GRANT %s ON consent_ledger_ledgerentry TO %s', grant_.privilege_type, grant_.grantee);
    IF grant_.privilege_type IN ('SELECT', 'INSERT') THEN
      EXECUTE format('GRANT %s ON consent_ledger_ledgerentry_key TO %s', grant_.privilege_type, grant_.grantee);
    END IF;
    IF grant_.privilege_type = 'INSERT' THEN
      EXECUTE format('GRANT USAGE ON SEQUENCE consent_ledger_ledgerentry_seq_seq TO %s', grant_.grantee);
    END IF;
  END LOOP;
END $$;

SELECT hub_ledger_append_only_privileges('consent_ledger_ledgerentry'),
       hub_ledger_append_only_privileges('consent_ledger_ledgerentry_key');

-- 8. The months from the cutover on.
SELECT hub_ledger_partitions_ensure(:'months_ahead') AS partition_created;

COMMIT;

-- After the window, online: check the re-pointed foreign keys against the
-- rows that were there (SHARE UPDATE EXCLUSIVE: appends go on), and give
-- the planner statistics of the new tables.
DO $$
DECLARE
  fk record;
BEGIN
  FOR fk IN
    SELECT conname, conrelid::regclass AS tbl FROM pg_constraint
     WHERE contype = 'f' AND NOT convalidated AND confrelid = 'consent_ledger_ledgerentry_key'::regclass
  LOOP
    EXECUTE format('ALTER TABLE %s VALIDATE CONSTRAINT %I', fk.tbl, fk.conname);
  END LOOP;
END $$;
ANALYZE consent_ledger_ledgerentry_key;
ANALYZE consent_ledger_ledgerentry;
