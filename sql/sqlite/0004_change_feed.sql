-- Migration 4: the mapping's history becomes the change feed (API.md §8):
-- each entry names its contact center (an entry outlives the campaign it
-- names, so the scope cannot come from a join) and its cause.  Entries
-- written before this migration keep cause 'mapping'.  change_head holds
-- the last cursor appended (kept by the trigger; AUTOINCREMENT ids follow
-- SQLite's one writer, so they are in commit order) and the last one
-- purged by the retention window.
-- Joined as C joins string literals (scripts/embed-sql): each line is
-- appended without its newline, so the text SQLite records is the lines'.
-- Append only: never edit a migration that has shipped.

ALTER TABLE mapping_history ADD COLUMN cc_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mapping_history ADD COLUMN cause TEXT NOT NULL DEFAULT 'mapping';
UPDATE mapping_history SET cc_id = COALESCE((SELECT p.cc_id FROM campaign c
 JOIN process p ON p.id = c.process_id
 WHERE c.id = mapping_history.campaign_id), 0);
CREATE INDEX mapping_history_cc ON mapping_history(cc_id, id);
CREATE TABLE change_head (
 id INTEGER PRIMARY KEY CHECK (id = 1),
 last INTEGER NOT NULL,
 purged INTEGER NOT NULL);
INSERT INTO change_head (id, last, purged)
 SELECT 1, COALESCE(MAX(id), 0), 0 FROM mapping_history;
CREATE TRIGGER mapping_history_head AFTER INSERT ON mapping_history
 BEGIN UPDATE change_head SET last = NEW.id WHERE id = 1; END;
