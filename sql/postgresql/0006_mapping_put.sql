-- Migration 6: a lead's mapping PUT as one statement (issue 13: at most two
-- round trips for a PUT).  store.c's store_mapping_put() calls it; SQLite,
-- in the same process, runs the same steps as statements (store.c).
-- The steps, in the order of the statement path: the campaign lead in the
-- caller's contact center (p_cc, 0: any), held until the commit; every
-- userId resolved to its campaign user; when one is missing nothing is
-- written; else the mappings set, and the history entry with the userIds
-- that changed, in request order, appended to the change feed.  p_dry:
-- what would change, and nothing written.
-- Rows: (0, 0, campaign lead, 1 when an event was appended), then
-- (1, i, campaign user or NULL, changed) per assigned userId and
-- (2, i, ...) per unassigned one; no row at all: no such campaign lead.
-- Joined as C joins string literals (scripts/embed-sql): every line after
-- the first of a statement starts with a space.  OR REPLACE: a downgraded
-- store that ran it before runs it again.
-- Append only: never edit a migration that has shipped.

CREATE OR REPLACE FUNCTION cmsd_mapping_put(p_cc bigint, p_campaign bigint, p_lead bigint,
 p_as text[], p_un text[], p_dry bigint, p_at bigint, p_by text, p_req text)
 RETURNS TABLE (o_kind int, o_index int, o_id bigint, o_changed int)
 LANGUAGE plpgsql AS $$
 DECLARE
 cl_id bigint; a_ids bigint[]; u_ids bigint[];
 a_done bigint[] := '{}'; u_done bigint[] := '{}';
 a_txt text; u_txt text; appended int := 0;
 BEGIN
 SELECT cl.id INTO cl_id FROM campaign_lead cl
 WHERE cl.campaign_id = p_campaign AND cl.lead_id = p_lead
 AND (p_cc = 0 OR EXISTS (SELECT 1 FROM campaign sc JOIN process sp ON sp.id = sc.process_id
 WHERE sc.id = p_campaign AND sp.cc_id = p_cc))
 FOR UPDATE OF cl;
 IF cl_id IS NULL THEN RETURN; END IF;
 SELECT COALESCE(array_agg(x.id ORDER BY j.ord), '{}') INTO a_ids
 FROM unnest(p_as) WITH ORDINALITY AS j(uid, ord) LEFT JOIN LATERAL
 (SELECT cu.id FROM users u JOIN campaign_user cu ON cu.user_pk = u.pk
 AND cu.campaign_id = p_campaign WHERE u.user_id = j.uid OFFSET 0) x ON true;
 SELECT COALESCE(array_agg(x.id ORDER BY j.ord), '{}') INTO u_ids
 FROM unnest(p_un) WITH ORDINALITY AS j(uid, ord) LEFT JOIN LATERAL
 (SELECT cu.id FROM users u JOIN campaign_user cu ON cu.user_pk = u.pk
 AND cu.campaign_id = p_campaign WHERE u.user_id = j.uid OFFSET 0) x ON true;
 IF array_position(a_ids, NULL) IS NULL AND array_position(u_ids, NULL) IS NULL THEN
 IF p_dry <> 0 THEN
 SELECT COALESCE(array_agg(t.id), '{}') INTO a_done FROM unnest(a_ids) AS t(id)
 WHERE NOT EXISTS (SELECT 1 FROM lead_user lu WHERE lu.campaign_lead_id = cl_id
 AND lu.campaign_user_id = t.id);
 SELECT COALESCE(array_agg(t.id), '{}') INTO u_done FROM unnest(u_ids) AS t(id)
 WHERE EXISTS (SELECT 1 FROM lead_user lu WHERE lu.campaign_lead_id = cl_id
 AND lu.campaign_user_id = t.id);
 ELSE
 WITH ins AS (INSERT INTO lead_user (campaign_lead_id, campaign_user_id)
 SELECT cl_id, t.id FROM unnest(a_ids) AS t(id) ORDER BY t.id
 ON CONFLICT DO NOTHING RETURNING lead_user.campaign_user_id)
 SELECT COALESCE(array_agg(ins.campaign_user_id), '{}') INTO a_done FROM ins;
 WITH del AS (DELETE FROM lead_user lu WHERE lu.campaign_lead_id = cl_id
 AND lu.campaign_user_id = ANY (u_ids) RETURNING lu.campaign_user_id)
 SELECT COALESCE(array_agg(del.campaign_user_id), '{}') INTO u_done FROM del;
 END IF;
 IF p_dry = 0 AND (cardinality(a_done) > 0 OR cardinality(u_done) > 0) THEN
 SELECT '[' || COALESCE(string_agg(to_json(j.uid)::text, ',' ORDER BY j.ord), '') || ']'
 INTO a_txt FROM unnest(p_as, a_ids) WITH ORDINALITY AS j(uid, id, ord)
 WHERE j.id = ANY (a_done);
 SELECT '[' || COALESCE(string_agg(to_json(j.uid)::text, ',' ORDER BY j.ord), '') || ']'
 INTO u_txt FROM unnest(p_un, u_ids) WITH ORDINALITY AS j(uid, id, ord)
 WHERE j.id = ANY (u_done);
 WITH s AS (UPDATE change_head h SET last = h.last + 1 WHERE h.id = 1
 RETURNING h.last, pg_notify('cmsd_changes', ''))
 INSERT INTO mapping_history (id, campaign_id, lead_id, campaign_lead_id, changed_at,
 changed_by, request_id, assigned, unassigned, cc_id, cause)
 SELECT s.last, p_campaign, p_lead, cl_id, p_at, p_by, p_req, a_txt, u_txt, p.cc_id, 'mapping'
 FROM s, campaign c JOIN process p ON p.id = c.process_id WHERE c.id = p_campaign;
 appended := 1;
 END IF;
 END IF;
 o_kind := 0; o_index := 0; o_id := cl_id; o_changed := appended;
 RETURN NEXT;
 RETURN QUERY SELECT 1, (j.ord - 1)::int, j.id, (COALESCE(j.id = ANY (a_done), false))::int
 FROM unnest(a_ids) WITH ORDINALITY AS j(id, ord);
 RETURN QUERY SELECT 2, (j.ord - 1)::int, j.id, (COALESCE(j.id = ANY (u_done), false))::int
 FROM unnest(u_ids) WITH ORDINALITY AS j(id, ord);
 END
 $$;
