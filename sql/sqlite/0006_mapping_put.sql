-- Migration 6: PostgreSQL's mapping PUT in one statement (a function, see
-- sql/postgresql/0006_mapping_put.sql).  SQLite runs in cmsd's process,
-- where a statement costs no round trip: store.c runs the PUT's steps as
-- statements, and the schema does not change.  One version means one
-- schema on every backend (scripts/embed-sql), so this number is taken here
-- too, by a statement that changes nothing.
-- Append only: never edit a migration that has shipped.

SELECT 1;
