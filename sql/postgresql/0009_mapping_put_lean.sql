-- Migration 9: migration 8's group of mapping PUTs, with fewer statements
-- (issue 13: the PUT on PostgreSQL).  Same signature, same rows, same locks
-- in the same order, same history; what changed is how much the server
-- does for it (docs/performance.md, "The PUT on PostgreSQL: what the
-- function did"):
-- - a list of one userId (the common PUT) is resolved, inserted, deleted
--   and written to the history by one plain statement each (GET
--   DIAGNOSTICS for whether it changed) instead of a statement that unnests
--   the list, joins it back by hash and aggregates it;
-- - the campaign's contact center is read with the campaign lead, once a
--   PUT, and the history entries no longer join campaign and process, which
--   the plan kept as a scan of every campaign's index (generic plans, no
--   value to seek with) once a group;
-- - a PUT of one userId returns its rows by RETURN NEXT, not a query.
-- The assigned and the unassigned lists are resolved by two copies of the
-- same statements, as in migration 8: a helper function would cost a call
-- of its own for each, which is what this migration takes away.
-- Joined as C joins string literals (scripts/embed-sql): every line after
-- the first of a statement starts with a space.  OR REPLACE: migration 8's
-- function is replaced in place (same signature); cmsd_mapping_put (one
-- PUT) still calls it.
-- Append only: never edit a migration that has shipped.

CREATE OR REPLACE FUNCTION cmsd_mapping_put_group(p_cc bigint[], p_campaign bigint[],
 p_lead bigint[], p_nas int[], p_nun int[], p_ids text[], p_dry bigint[], p_at bigint[],
 p_by text[], p_req text[])
 RETURNS TABLE (o_req int, o_kind int, o_index int, o_id bigint, o_changed int)
 LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
 DECLARE
 i int; n int; off int := 0; c_campaign bigint; c_as text[]; c_un text[];
 cl_id bigint; cl_cc bigint; one bigint; a_ids bigint[]; u_ids bigint[];
 a_flags int[]; u_flags int[]; appended int;
 h_i int[] := '{}'; h_cl bigint[] := '{}'; h_cc bigint[] := '{}';
 h_as text[] := '{}'; h_un text[] := '{}';
 BEGIN
 PERFORM cl.id FROM campaign_lead cl WHERE cl.id = ANY (ARRAY(SELECT x.id
 FROM unnest(p_campaign, p_lead) AS g(c, l) CROSS JOIN LATERAL (SELECT gl.id FROM campaign_lead gl
 WHERE gl.campaign_id = g.c AND gl.lead_id = g.l OFFSET 0) x))
 ORDER BY cl.id FOR UPDATE OF cl;
 FOR i IN 1 .. cardinality(p_campaign) LOOP
 c_campaign := p_campaign[i];
 c_as := p_ids[off + 1 : off + p_nas[i]];
 off := off + p_nas[i];
 c_un := p_ids[off + 1 : off + p_nun[i]];
 off := off + p_nun[i];
 appended := 0;
 cl_id := NULL;
 SELECT cl.id, sp.cc_id INTO cl_id, cl_cc FROM campaign_lead cl
 JOIN campaign sc ON sc.id = cl.campaign_id JOIN process sp ON sp.id = sc.process_id
 WHERE cl.campaign_id = c_campaign AND cl.lead_id = p_lead[i]
 AND (p_cc[i] = 0 OR sp.cc_id = p_cc[i])
 FOR UPDATE OF cl;
 CONTINUE WHEN cl_id IS NULL;
 a_ids := '{}';
 u_ids := '{}';
 IF cardinality(c_as) = 1 THEN
 one := NULL;
 SELECT cu.id INTO one FROM users u JOIN campaign_user cu ON cu.user_pk = u.pk
 AND cu.campaign_id = c_campaign WHERE u.user_id = c_as[1] FOR KEY SHARE OF cu;
 a_ids := ARRAY[one];
 ELSIF cardinality(c_as) > 1 THEN
 SELECT array_agg(x.id ORDER BY j.ord) INTO a_ids
 FROM unnest(c_as) WITH ORDINALITY AS j(uid, ord) LEFT JOIN LATERAL
 (SELECT cu.id FROM users u JOIN campaign_user cu ON cu.user_pk = u.pk
 AND cu.campaign_id = c_campaign WHERE u.user_id = j.uid OFFSET 0 FOR KEY SHARE OF cu) x ON true;
 END IF;
 IF cardinality(c_un) = 1 THEN
 one := NULL;
 SELECT cu.id INTO one FROM users u JOIN campaign_user cu ON cu.user_pk = u.pk
 AND cu.campaign_id = c_campaign WHERE u.user_id = c_un[1] FOR KEY SHARE OF cu;
 u_ids := ARRAY[one];
 ELSIF cardinality(c_un) > 1 THEN
 SELECT array_agg(x.id ORDER BY j.ord) INTO u_ids
 FROM unnest(c_un) WITH ORDINALITY AS j(uid, ord) LEFT JOIN LATERAL
 (SELECT cu.id FROM users u JOIN campaign_user cu ON cu.user_pk = u.pk
 AND cu.campaign_id = c_campaign WHERE u.user_id = j.uid OFFSET 0 FOR KEY SHARE OF cu) x ON true;
 END IF;
 IF array_position(a_ids, NULL) IS NOT NULL OR array_position(u_ids, NULL) IS NOT NULL THEN
 a_flags := array_fill(0, ARRAY[cardinality(a_ids)]);
 u_flags := array_fill(0, ARRAY[cardinality(u_ids)]);
 ELSIF p_dry[i] <> 0 THEN
 SELECT COALESCE(array_agg((NOT EXISTS (SELECT 1 FROM lead_user lu
 WHERE lu.campaign_lead_id = cl_id AND lu.campaign_user_id = j.id))::int ORDER BY j.ord), '{}')
 INTO a_flags FROM unnest(a_ids) WITH ORDINALITY AS j(id, ord);
 SELECT COALESCE(array_agg((EXISTS (SELECT 1 FROM lead_user lu
 WHERE lu.campaign_lead_id = cl_id AND lu.campaign_user_id = j.id))::int ORDER BY j.ord), '{}')
 INTO u_flags FROM unnest(u_ids) WITH ORDINALITY AS j(id, ord);
 ELSE
 a_flags := '{}';
 u_flags := '{}';
 IF cardinality(a_ids) = 1 THEN
 INSERT INTO lead_user (campaign_lead_id, campaign_user_id) VALUES (cl_id, a_ids[1])
 ON CONFLICT DO NOTHING;
 GET DIAGNOSTICS n = ROW_COUNT;
 a_flags := ARRAY[n];
 ELSIF cardinality(a_ids) > 1 THEN
 WITH j AS (SELECT j.id, j.ord FROM unnest(a_ids) WITH ORDINALITY AS j(id, ord)),
 ins AS (INSERT INTO lead_user (campaign_lead_id, campaign_user_id)
 SELECT cl_id, j.id FROM j ORDER BY j.id
 ON CONFLICT DO NOTHING RETURNING lead_user.campaign_user_id)
 SELECT array_agg((ins.campaign_user_id IS NOT NULL)::int ORDER BY j.ord)
 INTO a_flags FROM j LEFT JOIN ins ON ins.campaign_user_id = j.id;
 END IF;
 IF cardinality(u_ids) = 1 THEN
 DELETE FROM lead_user WHERE campaign_lead_id = cl_id AND campaign_user_id = u_ids[1];
 GET DIAGNOSTICS n = ROW_COUNT;
 u_flags := ARRAY[n];
 ELSIF cardinality(u_ids) > 1 THEN
 WITH j AS (SELECT j.id, j.ord FROM unnest(u_ids) WITH ORDINALITY AS j(id, ord)),
 del AS (DELETE FROM lead_user lu USING j WHERE lu.campaign_lead_id = cl_id
 AND lu.campaign_user_id = j.id RETURNING lu.campaign_user_id)
 SELECT array_agg((del.campaign_user_id IS NOT NULL)::int ORDER BY j.ord)
 INTO u_flags FROM j LEFT JOIN del ON del.campaign_user_id = j.id;
 END IF;
 IF array_position(a_flags, 1) IS NOT NULL OR array_position(u_flags, 1) IS NOT NULL THEN
 h_i := h_i || i;
 h_cl := h_cl || cl_id;
 h_cc := h_cc || cl_cc;
 IF cardinality(c_as) <= 1 AND cardinality(c_un) <= 1 THEN
 h_as := h_as || CASE WHEN a_flags[1] = 1 THEN '[' || to_json(c_as[1])::text || ']'
 ELSE '[]' END;
 h_un := h_un || CASE WHEN u_flags[1] = 1 THEN '[' || to_json(c_un[1])::text || ']'
 ELSE '[]' END;
 ELSE
 SELECT h_as || (SELECT '[' || COALESCE(string_agg(to_json(j.uid)::text, ',' ORDER BY j.ord), '') || ']'
 FROM unnest(c_as, a_flags) WITH ORDINALITY AS j(uid, f, ord) WHERE j.f = 1),
 h_un || (SELECT '[' || COALESCE(string_agg(to_json(j.uid)::text, ',' ORDER BY j.ord), '') || ']'
 FROM unnest(c_un, u_flags) WITH ORDINALITY AS j(uid, f, ord) WHERE j.f = 1)
 INTO h_as, h_un;
 END IF;
 appended := 1;
 END IF;
 END IF;
 o_req := i - 1; o_kind := 0; o_index := 0; o_id := cl_id; o_changed := appended;
 RETURN NEXT;
 IF cardinality(a_ids) <= 1 AND cardinality(u_ids) <= 1 THEN
 IF cardinality(a_ids) = 1 THEN
 o_kind := 1; o_id := a_ids[1]; o_changed := a_flags[1];
 RETURN NEXT;
 END IF;
 IF cardinality(u_ids) = 1 THEN
 o_kind := 2; o_id := u_ids[1]; o_changed := u_flags[1];
 RETURN NEXT;
 END IF;
 ELSE
 RETURN QUERY SELECT i - 1, 1, (j.ord - 1)::int, j.id, j.f
 FROM unnest(a_ids, a_flags) WITH ORDINALITY AS j(id, f, ord)
 UNION ALL SELECT i - 1, 2, (j.ord - 1)::int, j.id, j.f
 FROM unnest(u_ids, u_flags) WITH ORDINALITY AS j(id, f, ord);
 END IF;
 END LOOP;
 IF cardinality(h_i) > 0 THEN
 WITH s AS (UPDATE change_head h SET last = h.last + cardinality(h_i) WHERE h.id = 1
 RETURNING h.last, pg_notify('cmsd_changes', ''))
 INSERT INTO mapping_history (id, campaign_id, lead_id, campaign_lead_id, changed_at,
 changed_by, request_id, assigned, unassigned, cc_id, cause)
 SELECT s.last - cardinality(h_i) + j.ord, p_campaign[j.i], p_lead[j.i], j.cl, p_at[j.i],
 p_by[j.i], p_req[j.i], j.a, j.u, j.cc, 'mapping'
 FROM s CROSS JOIN unnest(h_i, h_cl, h_as, h_un, h_cc) WITH ORDINALITY AS j(i, cl, a, u, cc, ord);
 END IF;
 END
 $$;
