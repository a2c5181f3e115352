-- Migration 4: the mapping's history becomes the change feed (API.md §8):
-- each entry names its contact center (an entry outlives the campaign it
-- names, so the scope cannot come from a join) and its cause.  Entries
-- written before this migration keep cause 'mapping'.  Cursors are the
-- AUTOINCREMENT ids (SQLite's one writer commits them in order); the last
-- one appended is sqlite_sequence's, which each insert updates anyway.
-- change_head holds the last one purged by the retention window (its
-- `last` column is PostgreSQL's, unused here).
-- Joined as C joins string literals (scripts/embed-sql): each line is
-- appended without its newline, so the text SQLite records is the lines'.
-- Append only: never edit a migration that has shipped.

ALTER TABLE mapping_history ADD COLUMN cc_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mapping_history ADD COLUMN cause TEXT NOT NULL DEFAULT 'mapping';
UPDATE mapping_history SET cc_id = COALESCE((SELECT p.cc_id FROM campaign c
 JOIN process p ON p.id = c.process_id
 WHERE c.id = mapping_history.campaign_id), 0);
CREATE TABLE change_head (
 id INTEGER PRIMARY KEY CHECK (id = 1),
 last INTEGER NOT NULL,
 purged INTEGER NOT NULL);
INSERT INTO change_head (id, last, purged) VALUES (1, 0, 0);
