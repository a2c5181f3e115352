-- Migration 5: the caches' version (docs/decisions.md, "Answers from memory").
-- change_head.epoch moves whenever something a cache may hold changes other
-- than a lead's mapping (whose version is its last history entry): cmsd
-- bumps it in the transaction of each such write itself (store.c), and
-- these triggers bump it for every write by any other program, a sqlite3
-- shell included.  cmsd's own connections run with triggers off
-- (SQLITE_DBCONFIG_ENABLE_TRIGGER), so its mapping writes cost nothing more.
-- Joined as C joins string literals (scripts/embed-sql): each line is
-- appended without its newline, so the text SQLite records is the lines'.
-- Append only: never edit a migration that has shipped.

ALTER TABLE change_head ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER contact_center_insert_epoch AFTER INSERT ON contact_center
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER contact_center_update_epoch AFTER UPDATE ON contact_center
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER contact_center_delete_epoch AFTER DELETE ON contact_center
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER users_insert_epoch AFTER INSERT ON users
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER users_update_epoch AFTER UPDATE ON users
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER users_delete_epoch AFTER DELETE ON users
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER process_insert_epoch AFTER INSERT ON process
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER process_update_epoch AFTER UPDATE ON process
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER process_delete_epoch AFTER DELETE ON process
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER lead_insert_epoch AFTER INSERT ON lead
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER lead_update_epoch AFTER UPDATE ON lead
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER lead_delete_epoch AFTER DELETE ON lead
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER campaign_insert_epoch AFTER INSERT ON campaign
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER campaign_update_epoch AFTER UPDATE ON campaign
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER campaign_delete_epoch AFTER DELETE ON campaign
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER campaign_user_insert_epoch AFTER INSERT ON campaign_user
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER campaign_user_update_epoch AFTER UPDATE ON campaign_user
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER campaign_user_delete_epoch AFTER DELETE ON campaign_user
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER campaign_lead_insert_epoch AFTER INSERT ON campaign_lead
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER campaign_lead_update_epoch AFTER UPDATE ON campaign_lead
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER campaign_lead_delete_epoch AFTER DELETE ON campaign_lead
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER lead_user_insert_epoch AFTER INSERT ON lead_user
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER lead_user_update_epoch AFTER UPDATE ON lead_user
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER lead_user_delete_epoch AFTER DELETE ON lead_user
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER token_insert_epoch AFTER INSERT ON token
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER token_update_epoch AFTER UPDATE ON token
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER token_delete_epoch AFTER DELETE ON token
 BEGIN UPDATE change_head SET epoch = epoch + 1 WHERE id = 1; END;
