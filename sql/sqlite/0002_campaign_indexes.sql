-- Migration 2.  Paged lists of one campaign's users or leads read these in id
-- order (an index's entries follow the rowid within one key), so no page
-- sorts.
-- Joined as C joins string literals (scripts/embed-sql): each line is
-- appended without its newline, so the text SQLite records is the lines'.
-- Append only: never edit a migration that has shipped.

CREATE INDEX campaign_user_campaign ON campaign_user(campaign_id);
CREATE INDEX campaign_lead_campaign ON campaign_lead(campaign_id);
