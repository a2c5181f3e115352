-- Migration 8: mapping PUTs sent in groups (issue 13: writes in groups on
-- PostgreSQL).  cmsd's group writer (src/writer.c) sends every PUT waiting
-- as one call of cmsd_mapping_put_group, a transaction of its own: the group
-- pays one round trip, one commit, one lock of change_head and one NOTIFY
-- where each PUT paid its own (docs/decisions.md, "Writes in groups on
-- PostgreSQL").
-- The group is parallel arrays, element i being PUT i: p_cc .. p_lead and
-- p_dry .. p_req as migration 6's arguments, p_nas and p_nun how many of
-- p_ids are its assigned userIds and then its unassigned ones (p_ids holds
-- every PUT's, in order).  Each PUT runs migration 7's steps, in order, and
-- sees the ones before it; what makes one fail (no such campaign lead, a
-- userId that is not a campaign user) writes nothing of it and is a
-- result, not an exception: the others go on.  An exception (a deadlock, a
-- foreign key that moved) fails the whole call, and cmsd runs each PUT of
-- the group again alone.
-- The group's campaign leads are held first, all at once in id order (as a
-- delete of a campaign holds them): two groups, of two nodes, naming the
-- same leads in two orders cannot deadlock on them.  The history entries
-- are appended last, in request order, in one statement that takes the
-- group's cursors from change_head at once: its lock is held only from
-- there to the commit, after every other lock of the group, as a PUT alone
-- took it.
-- Rows: migration 6's, each led by o_req, its PUT (from 0); no row of kind
-- 0 for a PUT: no such campaign lead.  A list that is empty runs no
-- statement (a PUT that only assigns, or only unassigns, is one write).
-- cmsd_mapping_put (one PUT, --write-group 0) becomes a group of one: the
-- steps are written once.
-- Joined as C joins string literals (scripts/embed-sql): every line after
-- the first of a statement starts with a space.
-- Append only: never edit a migration that has shipped.

CREATE OR REPLACE FUNCTION cmsd_mapping_put_group(p_cc bigint[], p_campaign bigint[],
 p_lead bigint[], p_nas int[], p_nun int[], p_ids text[], p_dry bigint[], p_at bigint[],
 p_by text[], p_req text[])
 RETURNS TABLE (o_req int, o_kind int, o_index int, o_id bigint, o_changed int)
 LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
 DECLARE
 i int; off int := 0; c_campaign bigint; c_as text[]; c_un text[];
 cl_id bigint; a_ids bigint[]; u_ids bigint[];
 a_flags int[]; u_flags int[]; appended int;
 h_i int[] := '{}'; h_cl bigint[] := '{}'; h_as text[] := '{}'; h_un text[] := '{}';
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
 SELECT cl.id INTO cl_id FROM campaign_lead cl
 WHERE cl.campaign_id = c_campaign AND cl.lead_id = p_lead[i]
 AND (p_cc[i] = 0 OR EXISTS (SELECT 1 FROM campaign sc JOIN process sp ON sp.id = sc.process_id
 WHERE sc.id = c_campaign AND sp.cc_id = p_cc[i]))
 FOR UPDATE OF cl;
 CONTINUE WHEN cl_id IS NULL;
 a_ids := '{}';
 u_ids := '{}';
 IF cardinality(c_as) > 0 THEN
 SELECT array_agg(x.id ORDER BY j.ord) INTO a_ids
 FROM unnest(c_as) WITH ORDINALITY AS j(uid, ord) LEFT JOIN LATERAL
 (SELECT cu.id FROM users u JOIN campaign_user cu ON cu.user_pk = u.pk
 AND cu.campaign_id = c_campaign WHERE u.user_id = j.uid OFFSET 0 FOR KEY SHARE OF cu) x ON true;
 END IF;
 IF cardinality(c_un) > 0 THEN
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
 IF cardinality(a_ids) > 0 THEN
 WITH j AS (SELECT j.id, j.ord FROM unnest(a_ids) WITH ORDINALITY AS j(id, ord)),
 ins AS (INSERT INTO lead_user (campaign_lead_id, campaign_user_id)
 SELECT cl_id, j.id FROM j ORDER BY j.id
 ON CONFLICT DO NOTHING RETURNING lead_user.campaign_user_id)
 SELECT array_agg((ins.campaign_user_id IS NOT NULL)::int ORDER BY j.ord)
 INTO a_flags FROM j LEFT JOIN ins ON ins.campaign_user_id = j.id;
 END IF;
 IF cardinality(u_ids) > 0 THEN
 WITH j AS (SELECT j.id, j.ord FROM unnest(u_ids) WITH ORDINALITY AS j(id, ord)),
 del AS (DELETE FROM lead_user lu USING j WHERE lu.campaign_lead_id = cl_id
 AND lu.campaign_user_id = j.id RETURNING lu.campaign_user_id)
 SELECT array_agg((del.campaign_user_id IS NOT NULL)::int ORDER BY j.ord)
 INTO u_flags FROM j LEFT JOIN del ON del.campaign_user_id = j.id;
 END IF;
 IF array_position(a_flags, 1) IS NOT NULL OR array_position(u_flags, 1) IS NOT NULL THEN
 h_i := h_i || i;
 h_cl := h_cl || cl_id;
 SELECT h_as || (SELECT '[' || COALESCE(string_agg(to_json(j.uid)::text, ',' ORDER BY j.ord), '') || ']'
 FROM unnest(c_as, a_flags) WITH ORDINALITY AS j(uid, f, ord) WHERE j.f = 1),
 h_un || (SELECT '[' || COALESCE(string_agg(to_json(j.uid)::text, ',' ORDER BY j.ord), '') || ']'
 FROM unnest(c_un, u_flags) WITH ORDINALITY AS j(uid, f, ord) WHERE j.f = 1)
 INTO h_as, h_un;
 appended := 1;
 END IF;
 END IF;
 o_req := i - 1; o_kind := 0; o_index := 0; o_id := cl_id; o_changed := appended;
 RETURN NEXT;
 RETURN QUERY SELECT i - 1, 1, (j.ord - 1)::int, j.id, j.f
 FROM unnest(a_ids, a_flags) WITH ORDINALITY AS j(id, f, ord)
 UNION ALL SELECT i - 1, 2, (j.ord - 1)::int, j.id, j.f
 FROM unnest(u_ids, u_flags) WITH ORDINALITY AS j(id, f, ord);
 END LOOP;
 IF cardinality(h_i) > 0 THEN
 WITH s AS (UPDATE change_head h SET last = h.last + cardinality(h_i) WHERE h.id = 1
 RETURNING h.last, pg_notify('cmsd_changes', ''))
 INSERT INTO mapping_history (id, campaign_id, lead_id, campaign_lead_id, changed_at,
 changed_by, request_id, assigned, unassigned, cc_id, cause)
 SELECT s.last - cardinality(h_i) + j.ord, p_campaign[j.i], p_lead[j.i], j.cl, p_at[j.i],
 p_by[j.i], p_req[j.i], j.a, j.u, p.cc_id, 'mapping'
 FROM s CROSS JOIN unnest(h_i, h_cl, h_as, h_un) WITH ORDINALITY AS j(i, cl, a, u, ord)
 JOIN campaign c ON c.id = p_campaign[j.i] JOIN process p ON p.id = c.process_id;
 END IF;
 END
 $$;

CREATE OR REPLACE FUNCTION cmsd_mapping_put(p_cc bigint, p_campaign bigint, p_lead bigint,
 p_as text[], p_un text[], p_dry bigint, p_at bigint, p_by text, p_req text)
 RETURNS TABLE (o_kind int, o_index int, o_id bigint, o_changed int)
 LANGUAGE sql AS $$
 SELECT g.o_kind, g.o_index, g.o_id, g.o_changed FROM cmsd_mapping_put_group(ARRAY[p_cc],
 ARRAY[p_campaign], ARRAY[p_lead], ARRAY[cardinality(p_as)], ARRAY[cardinality(p_un)],
 p_as || p_un, ARRAY[p_dry], ARRAY[p_at], ARRAY[p_by], ARRAY[p_req]) g
 $$;
