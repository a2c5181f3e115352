-- The versions applied, created before any migration runs, inside the same
-- transaction.
-- Joined as C joins string literals (scripts/embed-sql).

CREATE TABLE IF NOT EXISTS schema_version (
 version INTEGER PRIMARY KEY,
 applied_at BIGINT NOT NULL)
