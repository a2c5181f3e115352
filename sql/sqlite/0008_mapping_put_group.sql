-- Migration 8: PostgreSQL's mapping PUTs sent in groups, as one call of a
-- function (sql/postgresql/0008_mapping_put_group.sql).  SQLite, in the
-- process, runs a group's PUTs as statements under savepoints (src/writer.c):
-- the schema does not change, and this number is taken by a statement that
-- changes nothing (one version means one schema on every backend).
-- Append only: never edit a migration that has shipped.

SELECT 1;
