-- Migration 1: the whole schema.  Every foreign key that a WHERE or a cascade
-- searches by is the leading column of some index (a UNIQUE constraint
-- counts), so no delete and no lookup scans a table.  Ids come from
-- AUTOINCREMENT and are never reused.
-- Joined as C joins string literals (scripts/embed-sql): each line is
-- appended without its newline, so the text SQLite records is the lines'.
-- Append only: never edit a migration that has shipped.

CREATE TABLE contact_center (
 id INTEGER PRIMARY KEY AUTOINCREMENT,
 name TEXT NOT NULL UNIQUE);

CREATE TABLE users (
 pk INTEGER PRIMARY KEY AUTOINCREMENT,
 user_id TEXT NOT NULL UNIQUE,
-- NULL: system admin
 cc_id INTEGER REFERENCES contact_center(id),
 name TEXT NOT NULL,
 role TEXT NOT NULL CHECK (role IN
  ('Administrator', 'Supervisor', 'Agent', 'System')),
-- NULL: cannot log in
 pw_hash TEXT);
CREATE INDEX users_cc ON users(cc_id);

CREATE TABLE process (
 id INTEGER PRIMARY KEY AUTOINCREMENT,
 cc_id INTEGER NOT NULL REFERENCES contact_center(id),
 name TEXT NOT NULL,
 UNIQUE (cc_id, name));

CREATE TABLE lead (
 id INTEGER PRIMARY KEY AUTOINCREMENT,
 process_id INTEGER NOT NULL REFERENCES process(id),
 name TEXT NOT NULL,
 UNIQUE (process_id, name));

CREATE TABLE campaign (
 id INTEGER PRIMARY KEY AUTOINCREMENT,
 process_id INTEGER NOT NULL REFERENCES process(id),
 name TEXT NOT NULL,
 UNIQUE (process_id, name));

CREATE TABLE campaign_user (
 id INTEGER PRIMARY KEY AUTOINCREMENT,
 campaign_id INTEGER NOT NULL
  REFERENCES campaign(id) ON DELETE CASCADE,
 user_pk INTEGER NOT NULL REFERENCES users(pk) ON DELETE CASCADE,
 UNIQUE (campaign_id, user_pk));
CREATE INDEX campaign_user_user ON campaign_user(user_pk);

-- no cascade from lead: a lead attached to a campaign is in use
CREATE TABLE campaign_lead (
 id INTEGER PRIMARY KEY AUTOINCREMENT,
 campaign_id INTEGER NOT NULL
  REFERENCES campaign(id) ON DELETE CASCADE,
 lead_id INTEGER NOT NULL REFERENCES lead(id),
 priority INTEGER NOT NULL,
 enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
 UNIQUE (campaign_id, lead_id));
CREATE INDEX campaign_lead_lead ON campaign_lead(lead_id);

CREATE TABLE lead_user (
 campaign_lead_id INTEGER NOT NULL
  REFERENCES campaign_lead(id) ON DELETE CASCADE,
 campaign_user_id INTEGER NOT NULL
  REFERENCES campaign_user(id) ON DELETE CASCADE,
 PRIMARY KEY (campaign_lead_id, campaign_user_id)) WITHOUT ROWID;
CREATE INDEX lead_user_cu ON lead_user(campaign_user_id);

-- context_cc: NULL for a System token; always the user's own contact
-- center otherwise, so it goes with the user and needs no key
CREATE TABLE token (
 hash BLOB PRIMARY KEY,
 user_pk INTEGER NOT NULL REFERENCES users(pk) ON DELETE CASCADE,
 context_cc INTEGER,
 expires_at INTEGER NOT NULL);
CREATE INDEX token_user ON token(user_pk);
CREATE INDEX token_expires ON token(expires_at);
