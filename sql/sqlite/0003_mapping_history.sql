-- Migration 3: the audit history of the mapping.  No foreign keys: an entry
-- outlives the campaign lead, campaign or user it names (ids are never
-- reused, so it can never be read as another's).
-- Joined as C joins string literals (scripts/embed-sql): each line is
-- appended without its newline, so the text SQLite records is the lines'.
-- Append only: never edit a migration that has shipped.

CREATE TABLE mapping_history (
 id INTEGER PRIMARY KEY AUTOINCREMENT,
 campaign_id INTEGER NOT NULL,
 lead_id INTEGER NOT NULL,
 campaign_lead_id INTEGER NOT NULL,
 changed_at INTEGER NOT NULL,
 changed_by TEXT NOT NULL,
 request_id TEXT NOT NULL,
 assigned TEXT NOT NULL,
 unassigned TEXT NOT NULL);
CREATE INDEX mapping_history_lead
 ON mapping_history(campaign_id, lead_id, id);
