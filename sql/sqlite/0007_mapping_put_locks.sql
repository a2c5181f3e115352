-- Migration 7: PostgreSQL's mapping PUT holds the campaign users it names
-- (sql/postgresql/0007_mapping_put_locks.sql).  SQLite has one writer at a
-- time, which already holds everything a PUT reads until it commits: the
-- schema does not change, and this number is taken by a statement that
-- changes nothing (one version means one schema on every backend).
-- Append only: never edit a migration that has shipped.

SELECT 1;
