-- Migration 7: migration 6's mapping PUT, holding what it names (issue 14).
-- At READ COMMITTED a PUT resolved its userIds to campaign users without a
-- lock: one removed meanwhile (its user deleted, its enrolment removed) made
-- the insert fail on its foreign key (the whole request ran again), or the
-- unassign find nothing to delete while the answer still listed the user's
-- campaign user.  Now each campaign user it resolves is held FOR KEY SHARE
-- until the commit, after the campaign lead (FOR UPDATE), in the order of
-- the request: a delete that takes it away (which locks it FOR UPDATE
-- first, store.c) waits for the PUT, or the PUT waits for the delete and
-- finds no such campaign user (404 naming it).  Key-share locks do not
-- conflict with one another: PUTs of other leads naming the same users do
-- not queue.  The rest is migration 6.
-- Joined as C joins string literals (scripts/embed-sql): every line after
-- the first of a statement starts with a space.  OR REPLACE: the function
-- of migration 6 is replaced in place (same signature).
-- Append only: never edit a migration that has shipped.

CREATE OR REPLACE FUNCTION cmsd_mapping_put(p_cc bigint, p_campaign bigint, p_lead bigint,
 p_as text[], p_un text[], p_dry bigint, p_at bigint, p_by text, p_req text)
 RETURNS TABLE (o_kind int, o_index int, o_id bigint, o_changed int)
 LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
 DECLARE
 cl_id bigint; a_ids bigint[]; u_ids bigint[];
 a_flags int[]; u_flags int[]; appended int := 0;
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
 AND cu.campaign_id = p_campaign WHERE u.user_id = j.uid OFFSET 0 FOR KEY SHARE OF cu) x ON true;
 SELECT COALESCE(array_agg(x.id ORDER BY j.ord), '{}') INTO u_ids
 FROM unnest(p_un) WITH ORDINALITY AS j(uid, ord) LEFT JOIN LATERAL
 (SELECT cu.id FROM users u JOIN campaign_user cu ON cu.user_pk = u.pk
 AND cu.campaign_id = p_campaign WHERE u.user_id = j.uid OFFSET 0 FOR KEY SHARE OF cu) x ON true;
 IF array_position(a_ids, NULL) IS NOT NULL OR array_position(u_ids, NULL) IS NOT NULL THEN
 a_flags := array_fill(0, ARRAY[cardinality(a_ids)]);
 u_flags := array_fill(0, ARRAY[cardinality(u_ids)]);
 ELSIF p_dry <> 0 THEN
 SELECT COALESCE(array_agg((NOT EXISTS (SELECT 1 FROM lead_user lu
 WHERE lu.campaign_lead_id = cl_id AND lu.campaign_user_id = j.id))::int ORDER BY j.ord), '{}')
 INTO a_flags FROM unnest(a_ids) WITH ORDINALITY AS j(id, ord);
 SELECT COALESCE(array_agg((EXISTS (SELECT 1 FROM lead_user lu
 WHERE lu.campaign_lead_id = cl_id AND lu.campaign_user_id = j.id))::int ORDER BY j.ord), '{}')
 INTO u_flags FROM unnest(u_ids) WITH ORDINALITY AS j(id, ord);
 ELSE
 WITH j AS (SELECT j.id, j.ord FROM unnest(a_ids) WITH ORDINALITY AS j(id, ord)),
 ins AS (INSERT INTO lead_user (campaign_lead_id, campaign_user_id)
 SELECT cl_id, j.id FROM j ORDER BY j.id
 ON CONFLICT DO NOTHING RETURNING lead_user.campaign_user_id)
 SELECT COALESCE(array_agg((ins.campaign_user_id IS NOT NULL)::int ORDER BY j.ord), '{}')
 INTO a_flags FROM j LEFT JOIN ins ON ins.campaign_user_id = j.id;
 WITH j AS (SELECT j.id, j.ord FROM unnest(u_ids) WITH ORDINALITY AS j(id, ord)),
 del AS (DELETE FROM lead_user lu USING j WHERE lu.campaign_lead_id = cl_id
 AND lu.campaign_user_id = j.id RETURNING lu.campaign_user_id)
 SELECT COALESCE(array_agg((del.campaign_user_id IS NOT NULL)::int ORDER BY j.ord), '{}')
 INTO u_flags FROM j LEFT JOIN del ON del.campaign_user_id = j.id;
 IF array_position(a_flags, 1) IS NOT NULL OR array_position(u_flags, 1) IS NOT NULL THEN
 WITH s AS (UPDATE change_head h SET last = h.last + 1 WHERE h.id = 1
 RETURNING h.last, pg_notify('cmsd_changes', ''))
 INSERT INTO mapping_history (id, campaign_id, lead_id, campaign_lead_id, changed_at,
 changed_by, request_id, assigned, unassigned, cc_id, cause)
 SELECT s.last, p_campaign, p_lead, cl_id, p_at, p_by, p_req,
 (SELECT '[' || COALESCE(string_agg(to_json(j.uid)::text, ',' ORDER BY j.ord), '') || ']'
 FROM unnest(p_as, a_flags) WITH ORDINALITY AS j(uid, f, ord) WHERE j.f = 1),
 (SELECT '[' || COALESCE(string_agg(to_json(j.uid)::text, ',' ORDER BY j.ord), '') || ']'
 FROM unnest(p_un, u_flags) WITH ORDINALITY AS j(uid, f, ord) WHERE j.f = 1),
 p.cc_id, 'mapping'
 FROM s, campaign c JOIN process p ON p.id = c.process_id WHERE c.id = p_campaign;
 appended := 1;
 END IF;
 END IF;
 o_kind := 0; o_index := 0; o_id := cl_id; o_changed := appended;
 RETURN NEXT;
 RETURN QUERY SELECT 1, (j.ord - 1)::int, j.id, j.f
 FROM unnest(a_ids, a_flags) WITH ORDINALITY AS j(id, f, ord);
 RETURN QUERY SELECT 2, (j.ord - 1)::int, j.id, j.f
 FROM unnest(u_ids, u_flags) WITH ORDINALITY AS j(id, f, ord);
 END
 $$;
