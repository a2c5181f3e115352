/*
 * mapping.c - the lead-user mapping of API.md §3: which campaign users may
 * work which lead list of a campaign.
 *
 * PUT validates the whole body first, then, in the request's one
 * transaction: the campaign must be the caller's, the lead attached to it,
 * and every named user a campaign user (else nothing changes and every
 * unknown id is listed); then maps and unmaps.  GET describes current state.
 */
#include "handlers.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "resource.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_IDS 10000

/* The answer's shape, built in the order the vendor's clients expect. */
static json_t *mapping_json(int64_t cl, json_t *acu, json_t *ucu, int64_t lead,
			    int64_t campaign, json_t *aid, json_t *uid)
{
	json_t *o = json_object();

	json_object_set_new(o, "campaignLeadId", json_integer(cl));
	json_object_set_new(o, "assignedCampaignUserIds", acu);
	json_object_set_new(o, "unassignedCampaignUserIds", ucu);
	json_object_set_new(o, "leadId", json_integer(lead));
	json_object_set_new(o, "campaignId", json_integer(campaign));
	json_object_set_new(o, "assignedUserIds", aid);
	json_object_set_new(o, "unassignedUserIds", uid);
	return o;
}

/* 404 naming the campaign, or the lead, unless campaign is the caller's and
 * lead is attached to it; fills *cl. */
static int find_campaign_lead(struct request *r, int64_t campaign, int64_t lead,
			      struct campaign_lead *cl)
{
	int rc = store_campaign_in_scope(r->store, r->who.cc, campaign);

	if (rc)
		return http_store_error(r, rc, "campaign", campaign);
	rc = store_campaign_lead_find(r->store, campaign, lead, cl);
	if (rc)
		return http_store_error(r, rc, "lead", lead);
	return 0;
}

/* campaignUserIds of list in the campaign into out; every unknown one is
 * appended to the error as a missing campaignUser. */
static int resolve(struct request *r, int64_t campaign, const struct strlist *l,
		   int64_t *out)
{
	size_t i;
	int rc = store_campaign_users_resolve(r->store, campaign, l->v, l->n, out);

	if (rc)
		return http_store_error(r, rc, "campaignUser", 0);
	for (i = 0; i < l->n; i++)
		if (!out[i])
			error_missing(&r->err, "campaignUser", l->v[i]);
	return 0;
}

static json_t *ints(const int64_t *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static json_t *strs(const struct strlist *l)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	return a;
}

int mapping_put(struct request *r)
{
	json_t *body = NULL;
	int64_t campaign = 0, lead = 0, *acu = NULL, *ucu = NULL;
	struct strlist as = STRLIST_INIT, un = STRLIST_INIT;
	struct strset *seen = NULL;
	struct campaign_lead cl;
	size_t i;
	int rc = -1, src;

	if (http_body(r, &body))
		goto out;
	json_get_id(body, "leadId", &lead, &r->err);
	json_get_id(body, "campaignId", &campaign, &r->err);
	json_get_strlist(body, "assignedUserIds", MAX_IDS, CMS_USERID_MAX, &as, &r->err);
	json_get_strlist(body, "unassignedUserIds", MAX_IDS, CMS_USERID_MAX, &un, &r->err);
	if (r->err.code)
		goto out;
	seen = strset_new(as.n);
	for (i = 0; i < as.n; i++)
		strset_add(seen, as.v[i]);
	for (i = 0; i < un.n; i++) {
		char reason[CMS_USERID_MAX + 40];

		if (!strset_has(seen, un.v[i]))
			continue;
		snprintf(reason, sizeof(reason), "%s is also in assignedUserIds", un.v[i]);
		error_invalid(&r->err, "unassignedUserIds", reason);
	}
	if (r->err.code) {
		error_set(&r->err, ERR_BOTH);
		goto out;
	}

	if (find_campaign_lead(r, campaign, lead, &cl))
		goto out;
	acu = xcalloc(as.n + 1, sizeof(*acu));
	ucu = xcalloc(un.n + 1, sizeof(*ucu));
	if (resolve(r, campaign, &as, acu) || resolve(r, campaign, &un, ucu) || r->err.code)
		goto out;
	src = store_mapping_set(r->store, cl.id, acu, as.n, true);
	if (!src)
		src = store_mapping_set(r->store, cl.id, ucu, un.n, false);
	if (src) {
		http_store_error(r, src, "lead", lead);
		goto out;
	}
	rc = http_reply(r, 200, mapping_json(cl.id, ints(acu, as.n), ints(ucu, un.n), lead,
					     campaign, strs(&as), strs(&un)));
out:
	free(acu);
	free(ucu);
	strset_free(seen);
	strlist_release(&as);
	strlist_release(&un);
	json_decref(body);
	return rc;
}

struct state {
	json_t *acu, *ucu, *aid, *uid;
};

static int add_user(void *ctx, const void *row)
{
	struct state *st = ctx;
	const struct mapping_user *mu = row;

	json_array_append_new(mu->mapped ? st->acu : st->ucu, json_integer(mu->campaign_user_id));
	json_array_append_new(mu->mapped ? st->aid : st->uid, json_string(mu->user_id));
	return 0;
}

/* The current state of campaign lead cl as the PUT answer's object. */
static int current(struct request *r, const struct campaign_lead *cl, json_t **out)
{
	struct state st = { json_array(), json_array(), json_array(), json_array() };
	int rc = store_mapping_get(r->store, cl->campaign_id, cl->id, add_user, &st);

	*out = mapping_json(cl->id, st.acu, st.ucu, cl->lead_id, cl->campaign_id, st.aid, st.uid);
	if (rc) {
		json_decref(*out);
		*out = NULL;
		return http_store_error(r, rc, "lead", cl->lead_id);
	}
	return 0;
}

struct rows {
	struct campaign_lead *v;
	size_t n;
};

static int collect(void *ctx, const void *row)
{
	struct rows *rs = ctx;

	rs->v = xrealloc(rs->v, sizeof(*rs->v) * (rs->n + 1));
	rs->v[rs->n++] = *(const struct campaign_lead *)row;
	return 0;
}

/* One page of campaign leads (of one campaign, or all the caller's), each
 * with its current state. */
static int list_states(struct request *r, int64_t campaign, const struct page *pg)
{
	struct rows rs = { NULL, 0 };
	json_t *arr = NULL, *o;
	size_t i;
	int rc = -1, src;

	src = store_mapping_list(r->store, r->who.cc, campaign, pg, collect, &rs, &r->total);
	if (src) {
		http_store_error(r, src, "campaign", campaign);
		goto out;
	}
	arr = json_array();
	for (i = 0; i < rs.n; i++) {
		if (current(r, &rs.v[i], &o))
			goto out;
		json_array_append_new(arr, o);
	}
	rc = http_reply(r, 200, arr);
	arr = NULL;
out:
	json_decref(arr);
	free(rs.v);
	return rc;
}

int mapping_get(struct request *r)
{
	int64_t campaign, lead;
	struct campaign_lead cl;
	struct page pg;
	json_t *o;
	int rc;

	http_query_id(r, "campaignId", &campaign);
	http_query_id(r, "leadId", &lead);
	if (lead && !campaign && !r->err.code)
		error_invalid(&r->err, "leadId", "needs campaignId");
	if (!lead)
		http_page(r, &pg);
	if (r->err.code)
		return -1;
	if (!campaign)
		return list_states(r, 0, &pg);
	if (!lead) {
		rc = store_campaign_in_scope(r->store, r->who.cc, campaign);
		if (rc)
			return http_store_error(r, rc, "campaign", campaign);
		return list_states(r, campaign, &pg);
	}
	if (find_campaign_lead(r, campaign, lead, &cl) || current(r, &cl, &o))
		return -1;
	return http_reply(r, 200, o);
}

int mapping_lead_user(struct request *r)
{
	int64_t lead;
	struct campaign_lead cl;
	json_t *o;
	int rc;

	if (http_query_id(r, "leadId", &lead))
		return -1;
	if (!lead)
		return error_invalid(&r->err, "leadId", "is required");
	if (res_check_path(r, r->ids[0], r->ids[1], r->ids[2], 0))
		return -1;
	rc = store_campaign_lead_find(r->store, r->ids[2], lead, &cl);
	if (rc)
		return http_store_error(r, rc, "lead", lead);
	if (current(r, &cl, &o))
		return -1;
	return http_reply(r, 200, o);
}
