-- Migration 9: PostgreSQL's group of mapping PUTs with fewer statements
-- (sql/postgresql/0009_mapping_put_lean.sql).  SQLite runs a group's PUTs
-- as statements in the process (src/store.c): the schema does not change,
-- and this number is taken by a statement that changes nothing (one version
-- means one schema on every backend).
-- Append only: never edit a migration that has shipped.

SELECT 1;
