-- Migration 4: the mapping's history becomes the change feed (API.md §8),
-- as SQLite's, except how cursors are given: from here on an entry's id is
-- not the identity column's but change_head.last + 1, taken by the
-- statement that appends it (store_pg.c).  Updating that one row holds its
-- lock until the transaction ends, so ids are handed out in commit order
-- and every prefix of the feed is final once visible: no reader can see
-- cursor N+1 before N has committed (docs/decisions.md, "the change feed").
-- Joined as C joins string literals (scripts/embed-sql): each line is
-- appended without its newline, so the text SQLite records is the lines'.
-- Append only: never edit a migration that has shipped.

ALTER TABLE mapping_history ADD COLUMN cc_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mapping_history ADD COLUMN cause TEXT NOT NULL DEFAULT 'mapping';
UPDATE mapping_history h SET cc_id = p.cc_id FROM campaign c
 JOIN process p ON p.id = c.process_id WHERE c.id = h.campaign_id;
CREATE TABLE change_head (
 id INT PRIMARY KEY CHECK (id = 1),
 last BIGINT NOT NULL,
 purged BIGINT NOT NULL);
INSERT INTO change_head (id, last, purged)
 SELECT 1, COALESCE(MAX(id), 0), 0 FROM mapping_history;
