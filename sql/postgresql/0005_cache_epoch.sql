-- Migration 5: the caches' version, as SQLite's (see there).  The triggers
-- are per statement, and skip cmsd's own sessions, which set cmsd.writer
-- (store_pg.c) and bump change_head.epoch themselves where they must.
-- Joined as C joins string literals (scripts/embed-sql): each line is
-- appended without its newline; the function's body is one line.
-- Append only: never edit a migration that has shipped.

ALTER TABLE change_head ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;
CREATE FUNCTION cmsd_bump_epoch() RETURNS trigger LANGUAGE plpgsql AS
 $$BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; RETURN NULL; END$$;
CREATE TRIGGER contact_center_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON contact_center
 FOR EACH STATEMENT WHEN (current_setting('cmsd.writer', true) IS DISTINCT FROM 'on')
 EXECUTE FUNCTION cmsd_bump_epoch();
CREATE TRIGGER users_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
 FOR EACH STATEMENT WHEN (current_setting('cmsd.writer', true) IS DISTINCT FROM 'on')
 EXECUTE FUNCTION cmsd_bump_epoch();
CREATE TRIGGER process_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON process
 FOR EACH STATEMENT WHEN (current_setting('cmsd.writer', true) IS DISTINCT FROM 'on')
 EXECUTE FUNCTION cmsd_bump_epoch();
CREATE TRIGGER lead_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON lead
 FOR EACH STATEMENT WHEN (current_setting('cmsd.writer', true) IS DISTINCT FROM 'on')
 EXECUTE FUNCTION cmsd_bump_epoch();
CREATE TRIGGER campaign_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON campaign
 FOR EACH STATEMENT WHEN (current_setting('cmsd.writer', true) IS DISTINCT FROM 'on')
 EXECUTE FUNCTION cmsd_bump_epoch();
CREATE TRIGGER campaign_user_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON campaign_user
 FOR EACH STATEMENT WHEN (current_setting('cmsd.writer', true) IS DISTINCT FROM 'on')
 EXECUTE FUNCTION cmsd_bump_epoch();
CREATE TRIGGER campaign_lead_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON campaign_lead
 FOR EACH STATEMENT WHEN (current_setting('cmsd.writer', true) IS DISTINCT FROM 'on')
 EXECUTE FUNCTION cmsd_bump_epoch();
CREATE TRIGGER lead_user_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON lead_user
 FOR EACH STATEMENT WHEN (current_setting('cmsd.writer', true) IS DISTINCT FROM 'on')
 EXECUTE FUNCTION cmsd_bump_epoch();
CREATE TRIGGER token_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON token
 FOR EACH STATEMENT WHEN (current_setting('cmsd.writer', true) IS DISTINCT FROM 'on')
 EXECUTE FUNCTION cmsd_bump_epoch();
