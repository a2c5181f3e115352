/*
 * mapping.c - the lead-user mapping of API.md §3: which campaign users may
 * work which lead list of a campaign.
 *
 * PUT validates the whole body first, then, in the request's one
 * transaction: the campaign must be the caller's, the lead attached to it,
 * and every named user a campaign user (else nothing changes and every
 * unknown id is listed); then it holds the campaign lead, checks If-Match,
 * maps and unmaps, and records what changed in the lead's history.  With
 * ?dryRun=true the transaction is rolled back and the answer says what
 * would have changed.  GET describes current state, with an ETag that is a
 * hash of exactly the object it answers.
 */
#include "handlers.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "resource.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_IDS 10000

/*
 * The answer's shape, in the order the vendor's clients expect, as compact
 * JSON text: the four lists arrive already written (the elements between
 * the brackets), and `more` (NULL, or members that start with a comma) ends
 * the object.  Every mapping answer, and so every ETag, is made here.
 */
static void mapping_text(struct strbuf *out, int64_t cl, const struct strbuf *acu,
			 const struct strbuf *ucu, int64_t lead, int64_t campaign,
			 const struct strbuf *aid, const struct strbuf *uid, const char *more)
{
	const struct {
		const char *key;
		const struct strbuf *list; /* NULL: the number */
		int64_t num;
	} m[] = {
		{ "campaignLeadId", NULL, cl },
		{ "assignedCampaignUserIds", acu, 0 },
		{ "unassignedCampaignUserIds", ucu, 0 },
		{ "leadId", NULL, lead },
		{ "campaignId", NULL, campaign },
		{ "assignedUserIds", aid, 0 },
		{ "unassignedUserIds", uid, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		strbuf_addstr(out, i ? ",\"" : "{\"");
		strbuf_addstr(out, m[i].key);
		strbuf_addstr(out, "\":");
		if (m[i].list) {
			strbuf_addch(out, '[');
			strbuf_addstr(out, strbuf_str(m[i].list));
			strbuf_addch(out, ']');
		} else {
			strbuf_addint(out, m[i].num);
		}
	}
	if (more)
		strbuf_addstr(out, more);
	strbuf_addch(out, '}');
}

/* One more element of a list being written: a comma before all but the first. */
static void add_int(struct strbuf *list, int64_t v)
{
	if (list->len)
		strbuf_addch(list, ',');
	strbuf_addint(list, v);
}

static void add_str(struct strbuf *list, const char *s)
{
	if (list->len)
		strbuf_addch(list, ',');
	json_quote(list, s);
}

/* 404 naming the campaign, or the lead, unless campaign is the caller's and
 * lead is attached to it; fills *cl. */
static int find_campaign_lead(struct request *r, int64_t campaign, int64_t lead,
			      struct campaign_lead *cl)
{
	int rc = store_campaign_in_scope(r->store, r->who.cc, campaign);

	if (rc)
		return http_store_error(r, rc, "campaign", campaign);
	rc = store_campaign_lead_find(r->store, r->who.cc, campaign, lead, cl);
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
	int rc = store_campaign_users_resolve(r->store, r->who.cc, campaign, l->v, l->n, out);

	if (rc)
		return http_store_error(r, rc, "campaignUser", 0);
	for (i = 0; i < l->n; i++)
		if (!out[i])
			error_missing(&r->err, "campaignUser", l->v[i]);
	return 0;
}

/* The four lists of a state, [1] the assigned users, [0] the others. */
struct state {
	struct strbuf cu[2], id[2];
};

static int add_user(void *ctx, const void *row)
{
	struct state *st = ctx;
	const struct mapping_user *mu = row;

	add_int(&st->cu[mu->mapped], mu->campaign_user_id);
	add_str(&st->id[mu->mapped], mu->user_id);
	return 0;
}

/* The current state of campaign lead cl, appended to out as text. */
static int current(struct request *r, const struct campaign_lead *cl, struct strbuf *out)
{
	struct state st = { { STRBUF_INIT, STRBUF_INIT }, { STRBUF_INIT, STRBUF_INIT } };
	int rc = store_mapping_get(r->store, r->who.cc, cl->campaign_id, cl->id, add_user, &st);
	int i;

	if (!rc)
		mapping_text(out, cl->id, &st.cu[1], &st.cu[0], cl->lead_id, cl->campaign_id,
			     &st.id[1], &st.id[0], NULL);
	for (i = 0; i < 2; i++) {
		strbuf_release(&st.cu[i]);
		strbuf_release(&st.id[i]);
	}
	return rc ? http_store_error(r, rc, "lead", cl->lead_id) : 0;
}

/* r->etag = the strong ETag of the answer `text`: a hash of its bytes. */
static void etag_of_text(struct request *r, const struct strbuf *text)
{
	unsigned char h[16];
	char b64[sodium_base64_ENCODED_LEN(sizeof(h), sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

	crypto_generichash(h, sizeof(h), (const unsigned char *)strbuf_str(text), text->len,
			   NULL, 0);
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(r->etag, sizeof(r->etag), "\"%s\"", b64);
}

/* Whether header value `list` (If-Match or If-None-Match) names r->etag:
 * "*" or a comma-separated list of entity tags.  A weak tag matches only
 * when `weak_ok` (If-None-Match compares weakly, If-Match strongly). */
static bool etag_listed(const struct request *r, const char *list, bool weak_ok)
{
	size_t n = strlen(r->etag);
	const char *p = list;

	while (*p) {
		bool weak = false;

		p += strspn(p, " \t,");
		if (*p == '*')
			return true;
		if (!strncmp(p, "W/", 2)) {
			weak = true;
			p += 2;
		}
		if (!strncmp(p, r->etag, n) && (!p[n] || strchr(" \t,", p[n])) &&
		    (!weak || weak_ok))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

/* A single-lead GET of campaign lead cl: 304 when If-None-Match names the
 * current state.  The text is made once, for the ETag and the answer both. */
static int reply_state(struct request *r, const struct campaign_lead *cl)
{
	const char *inm = http_header(r, "If-None-Match");
	struct strbuf text = STRBUF_INIT;

	if (current(r, cl, &text))
		return -1;
	etag_of_text(r, &text);
	if (inm && etag_listed(r, inm, true)) {
		strbuf_release(&text);
		return http_reply(r, 304, NULL);
	}
	return http_reply_text(r, 200, "application/json", strbuf_detach(&text));
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
	struct strbuf text = STRBUF_INIT;
	size_t i;
	int rc = -1, src;

	src = store_mapping_list(r->store, r->who.cc, campaign, pg, collect, &rs, &r->total);
	if (src) {
		http_store_error(r, src, "campaign", campaign);
		goto out;
	}
	strbuf_addch(&text, '[');
	for (i = 0; i < rs.n; i++) {
		if (i)
			strbuf_addch(&text, ',');
		if (current(r, &rs.v[i], &text))
			goto out;
	}
	strbuf_addch(&text, ']');
	rc = http_reply_text(r, 200, "application/json", strbuf_detach(&text));
out:
	strbuf_release(&text);
	free(rs.v);
	return rc;
}

int mapping_get(struct request *r)
{
	int64_t campaign, lead;
	struct campaign_lead cl;
	struct page pg;
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
	if (find_campaign_lead(r, campaign, lead, &cl))
		return -1;
	return reply_state(r, &cl);
}

int mapping_lead_user(struct request *r)
{
	int64_t lead;
	struct campaign_lead cl;
	int rc;

	if (http_query_id(r, "leadId", &lead))
		return -1;
	if (!lead)
		return error_invalid(&r->err, "leadId", "is required");
	if (res_check_path(r, r->ids[0], r->ids[1], r->ids[2], 0))
		return -1;
	rc = store_campaign_lead_find(r->store, r->who.cc, r->ids[2], lead, &cl);
	if (rc)
		return http_store_error(r, rc, "lead", lead);
	return reply_state(r, &cl);
}

/* The userIds of list l whose campaign user (cu[i]) is among changed[0..n),
 * in request order, each once, written to out as a JSON array; returns how
 * many. */
static size_t changed_names(struct strbuf *out, const struct strlist *l, const int64_t *cu,
			    const int64_t *changed, size_t n)
{
	struct strset *seen = strset_new(n);
	struct strbuf names = STRBUF_INIT;
	size_t i, j, count = 0;

	for (i = 0; i < l->n; i++) {
		for (j = 0; j < n && changed[j] != cu[i]; j++)
			;
		if (j == n || strset_has(seen, l->v[i]))
			continue;
		strset_add(seen, l->v[i]);
		add_str(&names, l->v[i]);
		count++;
	}
	strbuf_addch(out, '[');
	strbuf_addstr(out, strbuf_str(&names));
	strbuf_addch(out, ']');
	strbuf_release(&names);
	strset_free(seen);
	return count;
}

/* Record what changed in the lead's history (JSON arrays of userIds),
 * unless nothing did. */
static int record(struct request *r, const struct campaign_lead *cl, const struct strbuf *assigned,
		  const struct strbuf *unassigned, bool changed)
{
	struct history_entry h;
	struct timespec now;
	int src;

	if (!changed)
		return 0;
	memset(&h, 0, sizeof(h));
	clock_gettime(CLOCK_REALTIME, &now);
	h.campaign_id = cl->campaign_id;
	h.lead_id = cl->lead_id;
	h.campaign_lead_id = cl->id;
	h.changed_at = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	snprintf(h.changed_by, sizeof(h.changed_by), "%s", r->who.user_id);
	snprintf(h.request_id, sizeof(h.request_id), "%s", r->id);
	h.assigned = strbuf_str(assigned);
	h.unassigned = strbuf_str(unassigned);
	src = store_history_add(r->store, r->who.cc, &h);
	return src ? http_store_error(r, src, "lead", cl->lead_id) : 0;
}

/* r->etag = the ETag of cl's current state. */
static int etag_now(struct request *r, const struct campaign_lead *cl)
{
	struct strbuf text = STRBUF_INIT;
	int rc = current(r, cl, &text);

	if (!rc)
		etag_of_text(r, &text);
	strbuf_release(&text);
	return rc;
}

/*
 * The PUT's answer: the campaign users and userIds it named, in its order;
 * on a dry run also the userIds whose state would change (texts of JSON
 * arrays).
 */
static char *put_answer(int64_t cl, int64_t lead, int64_t campaign, const int64_t *acu,
			const struct strlist *as, const int64_t *ucu, const struct strlist *un,
			const struct strbuf *achanged, const struct strbuf *uchanged, bool dry)
{
	struct strbuf cu[2] = { STRBUF_INIT, STRBUF_INIT }, id[2] = { STRBUF_INIT, STRBUF_INIT };
	struct strbuf out = STRBUF_INIT, more = STRBUF_INIT;
	size_t i;
	int k;

	for (i = 0; i < as->n; i++) {
		add_int(&cu[1], acu[i]);
		add_str(&id[1], as->v[i]);
	}
	for (i = 0; i < un->n; i++) {
		add_int(&cu[0], ucu[i]);
		add_str(&id[0], un->v[i]);
	}
	if (dry) {
		strbuf_addstr(&more, ",\"dryRun\":true,\"changes\":{\"assignedUserIds\":");
		strbuf_addstr(&more, strbuf_str(achanged));
		strbuf_addstr(&more, ",\"unassignedUserIds\":");
		strbuf_addstr(&more, strbuf_str(uchanged));
		strbuf_addch(&more, '}');
	}
	mapping_text(&out, cl, &cu[1], &cu[0], lead, campaign, &id[1], &id[0],
		     dry ? strbuf_str(&more) : NULL);
	for (k = 0; k < 2; k++) {
		strbuf_release(&cu[k]);
		strbuf_release(&id[k]);
	}
	strbuf_release(&more);
	return strbuf_detach(&out);
}

int mapping_put(struct request *r)
{
	json_t *body = NULL;
	struct strbuf achanged = STRBUF_INIT, uchanged = STRBUF_INIT;
	int64_t campaign = 0, lead = 0, *acu = NULL, *ucu = NULL, *adone = NULL, *udone = NULL;
	struct strlist as = STRLIST_INIT, un = STRLIST_INIT;
	struct strset *seen = NULL;
	struct campaign_lead cl;
	const char *if_match = http_header(r, "If-Match");
	size_t i, na = 0, nu = 0, changed;
	bool dry = false;
	int rc = -1, src;

	http_query_bool(r, "dryRun", &dry);
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
	/* from here until the commit, no other writer changes this lead */
	src = store_campaign_lead_lock(r->store, r->who.cc, cl.id);
	if (src) {
		http_store_error(r, src, "lead", lead);
		goto out;
	}
	if (if_match) {
		if (etag_now(r, &cl))
			goto out;
		if (!etag_listed(r, if_match, false)) { /* 412 carries the current ETag */
			error_set(&r->err, ERR_PRECONDITION);
			goto out;
		}
	}
	acu = xcalloc(as.n + 1, sizeof(*acu));
	ucu = xcalloc(un.n + 1, sizeof(*ucu));
	if (resolve(r, campaign, &as, acu) || resolve(r, campaign, &un, ucu) || r->err.code)
		goto out;
	adone = xcalloc(as.n + 1, sizeof(*adone));
	udone = xcalloc(un.n + 1, sizeof(*udone));
	src = store_mapping_set(r->store, r->who.cc, cl.id, acu, as.n, true, adone, &na);
	if (!src)
		src = store_mapping_set(r->store, r->who.cc, cl.id, ucu, un.n, false, udone, &nu);
	if (src) {
		http_store_error(r, src, "lead", lead);
		goto out;
	}
	changed = changed_names(&achanged, &as, acu, adone, na) +
		  changed_names(&uchanged, &un, ucu, udone, nu);
	if (!dry && record(r, &cl, &achanged, &uchanged, changed > 0))
		goto out;
	r->etag[0] = '\0';
	if (if_match && !dry && etag_now(r, &cl)) /* the new state's */
		goto out;
	/* on a dry run http.c rolls the transaction back: nothing changes */
	r->dry_run = dry;
	rc = http_reply_text(r, 200, "application/json",
			     put_answer(cl.id, lead, campaign, acu, &as, ucu, &un, &achanged,
					&uchanged, dry));
out:
	free(acu);
	free(ucu);
	free(adone);
	free(udone);
	strbuf_release(&achanged);
	strbuf_release(&uchanged);
	strset_free(seen);
	strlist_release(&as);
	strlist_release(&un);
	json_decref(body);
	return rc;
}

/* changedAt: unix milliseconds as RFC 3339 UTC with milliseconds. */
static json_t *rfc3339_ms(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[40], out[48];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, sizeof(out), "%s.%03dZ", buf, (int)(ms % 1000));
	return json_string(out);
}

/* A stored JSON array of userIds; [] if it cannot be read. */
static json_t *id_array(const char *text)
{
	json_t *a = json_loads(text, 0, NULL);

	if (!json_is_array(a)) {
		json_decref(a);
		a = json_array();
	}
	return a;
}

static int add_entry(void *ctx, const void *row)
{
	const struct history_entry *h = row;
	json_t *o = json_object();

	json_object_set_new(o, "historyId", json_integer(h->id));
	json_object_set_new(o, "campaignId", json_integer(h->campaign_id));
	json_object_set_new(o, "leadId", json_integer(h->lead_id));
	json_object_set_new(o, "campaignLeadId", json_integer(h->campaign_lead_id));
	json_object_set_new(o, "changedAt", rfc3339_ms(h->changed_at));
	json_object_set_new(o, "changedBy", json_string(h->changed_by));
	json_object_set_new(o, "requestId", json_string(h->request_id));
	json_object_set_new(o, "assignedUserIds", id_array(h->assigned));
	json_object_set_new(o, "unassignedUserIds", id_array(h->unassigned));
	json_array_append_new(ctx, o);
	return 0;
}

/* GET .../campaign/{c}/lead-user/history?leadId=: newest first, paged. */
int mapping_history(struct request *r)
{
	json_t *arr;
	struct page pg;
	int64_t lead;
	int src;

	http_query_id(r, "leadId", &lead);
	if (!lead && !r->err.code)
		error_invalid(&r->err, "leadId", "is required");
	if (http_page(r, &pg) || r->err.code)
		return -1;
	if (res_check_path(r, r->ids[0], r->ids[1], r->ids[2], lead))
		return -1;
	arr = json_array();
	src = store_history_list(r->store, r->who.cc, r->ids[2], lead, &pg, add_entry, arr, &r->total);
	if (src) {
		json_decref(arr);
		return http_store_error(r, src, "lead", lead);
	}
	return http_reply(r, 200, arr);
}
