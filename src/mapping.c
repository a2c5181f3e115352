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

#include "cache.h"
#include "json.h"
#include "resource.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

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

/*
 * The state of campaign lead cl appended to out as text: read from store s
 * in its open transaction, in contact center cc's scope, or (lk set) from
 * the rows that look lk read of it.  Both come from store.c in one order
 * (by userId), so the text, and with it the ETag that a PUT's If-Match
 * compares, is the same whichever read it.  A store_rc.
 */
static int render_rows(struct store *s, int64_t cc, const struct store_look *lk,
		       const struct campaign_lead *cl, struct strbuf *out)
{
	struct state st = { { STRBUF_INIT, STRBUF_INIT }, { STRBUF_INIT, STRBUF_INIT } };
	int rc = lk ? store_look_mapping(lk, add_user, &st) :
		      store_mapping_get(s, cc, cl->campaign_id, cl->id, add_user, &st);
	int i;

	if (!rc)
		mapping_text(out, cl->id, &st.cu[1], &st.cu[0], cl->lead_id, cl->campaign_id,
			     &st.id[1], &st.id[0], NULL);
	for (i = 0; i < 2; i++) {
		strbuf_release(&st.cu[i]);
		strbuf_release(&st.id[i]);
	}
	return rc;
}

/* render_rows() in the request's transaction and scope, a failure answered. */
static int render(const struct request *rq, struct reply *rp, const struct store_look *lk,
		  const struct campaign_lead *cl, struct strbuf *out)
{
	int rc = render_rows(rq->store, rq->who.cc, lk, cl, out);

	return rc ? reply_store_error(rp, rc, "lead", cl->lead_id) : RES_OK;
}

/* The current state of campaign lead cl, read in the open transaction. */
static int current(const struct request *rq, struct reply *rp, const struct campaign_lead *cl,
		   struct strbuf *out)
{
	return render(rq, rp, NULL, cl, out);
}

/* rp->etag = the strong ETag of the answer `text`: a hash of its bytes. */
static void etag_of_text(struct reply *rp, const struct strbuf *text)
{
	unsigned char h[16];
	char b64[sodium_base64_ENCODED_LEN(sizeof(h), sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

	crypto_generichash(h, sizeof(h), (const unsigned char *)strbuf_str(text), text->len,
			   NULL, 0);
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(rp->etag, sizeof(rp->etag), "\"%s\"", b64);
}

/* Whether header value `list` (If-Match or If-None-Match) names rp->etag:
 * "*" or a comma-separated list of entity tags.  A weak tag matches only
 * when `weak_ok` (If-None-Match compares weakly, If-Match strongly). */
static bool etag_listed(const struct reply *rp, const char *list, bool weak_ok)
{
	size_t n = strlen(rp->etag);
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
		if (!strncmp(p, rp->etag, n) && (!p[n] || strchr(" \t,", p[n])) &&
		    (!weak || weak_ok))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

/* rp->cursor = the change feed's position in the read's snapshot, read
 * first: a dialer follows the feed from exactly there (API.md §8). */
static int snapshot_cursor(const struct request *rq, struct reply *rp)
{
	int64_t purged;
	int rc = store_feed_head(rq->store, &rp->cursor, &purged);

	return rc ? reply_store_error(rp, rc, "store", 0) : RES_OK;
}

/* 200 with text (taken), or 304 when If-None-Match names rp->etag. */
static int answer_state(const struct request *rq, struct reply *rp, char *text)
{
	const char *inm = req_header(rq, "If-None-Match");

	if (inm && etag_listed(rp, inm, true)) {
		free(text);
		return reply_json(rp, 304, NULL);
	}
	return reply_text(rp, 200, "application/json", text);
}

/*
 * A single-lead GET: the state of `lead` in `campaign`, whose scope the
 * pipeline checked.  From the cache when it holds the lead at the stamps
 * of the request's look (the look's head is then the cursor: nothing the
 * answer depends on changed up to there).  Else from the rows that look
 * read (aim_look asked for them unless the cache held the lead), in the
 * snapshot of its stamps and head: the answer is kept under those stamps
 * and carries that head.  No other check is needed: the rows, the stamps
 * and the access checks the cache answered are of one snapshot, and an
 * access check read from the store is later, where a campaign still in the
 * caller's scope was in it then too (ids are never reused, a campaign never
 * moves); a campaign lead detached and attached again is simply the one
 * the look read.  The cached value is the ETag, a NUL, then the text.
 *
 * A look that read no rows (SQLite's never do; none at admission for a
 * Basic login, a token new to the cache or with --cache-size 0; or the
 * cache's entry went between aim_look's peek and here) is replaced by a
 * look of the handler's own, in its transaction (which reads the rows
 * there, or they are read after it in the same snapshot); if
 * the epoch moved since the request's look, whose epoch the cached access
 * checks held at, the campaign must still be the caller's in that snapshot
 * (a lead detached since is missing from the look's rows).
 */
static int reply_state(const struct request *rq, struct reply *rp, int64_t campaign,
		       int64_t lead)
{
	struct cache_key key = cache_key(CACHE_MAPPING, campaign, lead, 0, 0);
	const struct store_look *lk = &rq->look;
	struct store_look own = { .campaign = campaign, .lead = lead };
	bool aimed = lk->done && lk->campaign == campaign && lk->lead == lead;
	struct campaign_lead cl;
	struct strbuf text = STRBUF_INIT;
	char *hit;
	size_t len, n;
	int rc, src;

	if (aimed && (hit = cache_get_copy(&key, lk->epoch, lk->version, &len))) {
		n = strlen(hit) + 1;
		snprintf(rp->etag, sizeof(rp->etag), "%s", hit);
		memmove(hit, hit + n, len - n + 1);
		rp->cursor = lk->head;
		return answer_state(rq, rp, hit);
	}
	if (!aimed || !lk->read) {
		if ((src = store_look(rq->store, &own))) {
			rc = reply_store_error(rp, src, "store", 0);
			goto out;
		}
		if (lk->done && own.epoch != lk->epoch &&
		    (src = store_campaign_in_scope(rq->store, rq->who.cc, campaign))) {
			rc = reply_store_error(rp, src, "campaign", campaign);
			goto out;
		}
		lk = &own;
	}
	/* a backend whose look reads no rows (SQLite): the same snapshot's */
	src = lk->read ? store_look_lead(lk, &cl)
		       : store_campaign_lead_find(rq->store, rq->who.cc, campaign, lead, &cl);
	if (src) {
		rc = reply_store_error(rp, src, "lead", lead);
		goto out;
	}
	if ((rc = render(rq, rp, lk->read ? lk : NULL, &cl, &text)))
		goto out;
	rp->cursor = lk->head;
	etag_of_text(rp, &text);
	if (cache_enabled()) {
		struct strbuf v = STRBUF_INIT;

		strbuf_addstr(&v, rp->etag);
		strbuf_addch(&v, '\0');
		strbuf_add(&v, strbuf_str(&text), text.len);
		cache_put(&key, lk->epoch, lk->version, strbuf_str(&v), v.len);
		strbuf_release(&v);
	}
	rc = answer_state(rq, rp, strbuf_detach(&text));
out:
	strbuf_release(&text);
	store_look_release(&own);
	return rc;
}

/*
 * A list answer sent as it is made (API.md §3: no unbounded read into
 * memory; docs/decisions.md, "Long lists are streamed").  What fixes the
 * page (its X-Total-Count, X-Change-Cursor, where it starts) is read in the
 * request's transaction, and so are its items up to PIECE bytes: a page that
 * fits is answered whole from that one snapshot, as it always was.  The
 * rest is read when the client has taken what went before, a piece at a
 * time, each in a short read transaction of its own: what a connection
 * holds is a piece and one item however slowly its client reads, and
 * nothing holds a snapshot open while the client is not reading.
 */
#define PIECE (64 * 1024)

struct piece_src {
	struct reply_source base; /* first: the glue's handle */
	/* appends the next items to out in s's open transaction until out
	 * holds PIECE bytes; *done once the closing bracket is written */
	int (*piece)(struct piece_src *ps, struct store *s, struct strbuf *out, bool *done);
	int64_t cc;               /* the caller's scope */
	size_t written;           /* items written so far */
};

/* Before an item: the opening bracket or a comma. */
static void item_start(struct piece_src *ps, struct strbuf *out)
{
	strbuf_addch(out, ps->written++ ? ',' : '[');
}

static void list_end(struct piece_src *ps, struct strbuf *out, bool *done)
{
	strbuf_addstr(out, ps->written ? "]" : "[]");
	*done = true;
}

/* The glue's reply_source: the next piece, in a read transaction of its own. */
static int piece_more(struct reply_source *src, struct store *s, struct strbuf *out, bool *done)
{
	struct piece_src *ps = (struct piece_src *)src;
	int rc = store_begin(s, false);

	if (!rc)
		rc = ps->piece(ps, s, out, done);
	if (!rc)
		rc = store_commit(s);
	if (rc)
		store_rollback(s);
	return rc;
}

/* The answer: text, the first piece (taken), whole when done, else
 * followed by what ps makes (taken). */
static int answer_pieces(struct reply *rp, struct piece_src *ps, struct strbuf *text, bool done)
{
	size_t n = text->len;

	if (done) {
		ps->base.free(&ps->base);
		return reply_text(rp, 200, "application/json", strbuf_detach(text));
	}
	return reply_stream(rp, 200, "application/json", strbuf_detach(text), n, &ps->base);
}

/* ---- a page of campaign leads, each with its current state ---- */

struct lead_src {
	struct piece_src ps;
	struct campaign_lead *v;  /* the page */
	size_t n;
	const struct campaign_lead *failed; /* the lead whose read failed */
};

static int collect(void *ctx, const void *row)
{
	struct lead_src *ls = ctx;

	ls->v = xrealloc(ls->v, sizeof(*ls->v) * (ls->n + 1));
	ls->v[ls->n++] = *(const struct campaign_lead *)row;
	return 0;
}

static void lead_src_free(struct reply_source *src)
{
	struct lead_src *ls = (struct lead_src *)src;

	free(ls->v);
	free(ls);
}

/* Each lead's state is read when it is due: at or after the page's cursor
 * (docs/decisions.md says what a client may see). */
static int lead_piece(struct piece_src *ps, struct store *s, struct strbuf *out, bool *done)
{
	struct lead_src *ls = (struct lead_src *)ps;
	int rc;

	while (ps->written < ls->n && out->len < PIECE) {
		ls->failed = &ls->v[ps->written];
		item_start(ps, out);
		if ((rc = render_rows(s, ps->cc, NULL, ls->failed, out)))
			return rc;
	}
	if (ps->written == ls->n)
		list_end(ps, out, done);
	return STORE_OK;
}

/* One page of campaign leads (of one campaign, or all the caller's), each
 * with its current state. */
static int list_states(const struct request *rq, struct reply *rp, int64_t campaign)
{
	struct lead_src *ls = xcalloc(1, sizeof(*ls));
	struct strbuf text = STRBUF_INIT;
	bool done = false;
	int rc, src;

	ls->ps.base = (struct reply_source){ piece_more, lead_src_free };
	ls->ps.piece = lead_piece;
	ls->ps.cc = rq->who.cc;
	src = store_mapping_list(rq->store, rq->who.cc, campaign, &rq->in.page, collect, ls,
				 &rp->total);
	if (src) {
		rc = reply_store_error(rp, src, "campaign", campaign);
		goto out;
	}
	if ((src = lead_piece(&ls->ps, rq->store, &text, &done))) {
		rc = reply_store_error(rp, src, "lead", ls->failed->lead_id);
		goto out;
	}
	rc = answer_pieces(rp, &ls->ps, &text, done);
	ls = NULL;
out:
	strbuf_release(&text);
	if (ls)
		lead_src_free(&ls->ps.base);
	return rc;
}

/* GET ?campaignId=&leadId=: the query, with the campaign for the access
 * check (it must be the caller's) and the lead in in->id. */
static int parse_get(const struct request *rq, struct input *in, struct error *err)
{
	req_query_id(rq, "campaignId", &in->campaign, err);
	req_query_id(rq, "leadId", &in->id, err);
	if (in->id && !in->campaign && !err->code)
		error_invalid(err, "leadId", "needs campaignId");
	/* checked on the single-lead GET too, as docs/openapi.json describes
	 * them for the operation (there they have no effect) */
	req_page(rq, in, err);
	return err->code ? RES_FAIL : RES_OK;
}

/* One lead's state, one campaign's leads, or every lead of the caller's. */
static int get(const struct request *rq, struct reply *rp)
{
	int rc;

	if (!rq->in.id) {
		if ((rc = snapshot_cursor(rq, rp)))
			return rc;
		/* the scope check may have come from the cache: it must hold in
		 * this snapshot, or the list would answer an empty page */
		rc = rq->in.campaign ? store_campaign_in_scope(rq->store, rq->who.cc, rq->in.campaign)
				     : STORE_OK;
		if (rc)
			return reply_store_error(rp, rc, "campaign", rq->in.campaign);
		return list_states(rq, rp, rq->in.campaign);
	}
	return reply_state(rq, rp, rq->in.campaign, rq->in.id);
}

/* GET .../campaign/{c}/lead-user?leadId=: the lead is required. */
static int parse_lead_user(const struct request *rq, struct input *in, struct error *err)
{
	if (req_query_id(rq, "leadId", &in->id, err))
		return RES_FAIL;
	return in->id ? RES_OK : error_invalid(err, "leadId", "is required");
}

static int lead_user(const struct request *rq, struct reply *rp)
{
	return reply_state(rq, rp, rq->ids.campaign, rq->in.id);
}

/* rp->etag = the ETag of cl's current state. */
static int etag_now(const struct request *rq, struct reply *rp, const struct campaign_lead *cl)
{
	struct strbuf text = STRBUF_INIT;
	int rc = current(rq, rp, cl, &text);

	if (!rc)
		etag_of_text(rp, &text);
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

/* The PUT's body, validated: both lists, without a user in both. */
struct put_in {
	int64_t campaign, lead;
	struct strlist as, un; /* assigned and unassigned userIds, repeats removed */
	bool dry;              /* ?dryRun=true */
};

static void put_in_free(void *p)
{
	struct put_in *in = p;

	strlist_release(&in->as);
	strlist_release(&in->un);
	free(in);
}

static int parse_put(const struct request *rq, struct input *in, struct error *err)
{
	struct put_in *p = xcalloc(1, sizeof(*p));
	struct strset *seen;
	size_t i;

	in->data = p;
	in->free_data = put_in_free;
	req_query_bool(rq, "dryRun", &p->dry, err);
	if (req_body(rq, in, err))
		return RES_FAIL;
	json_get_id(in->body, "leadId", &p->lead, err);
	json_get_id(in->body, "campaignId", &p->campaign, err);
	json_get_strlist(in->body, "assignedUserIds", CMS_IDS_MAX, CMS_USERID_MAX, &p->as, err);
	json_get_strlist(in->body, "unassignedUserIds", CMS_IDS_MAX, CMS_USERID_MAX, &p->un, err);
	if (err->code)
		return RES_FAIL;
	seen = strset_new(p->as.n);
	for (i = 0; i < p->as.n; i++)
		strset_add(seen, p->as.v[i]);
	for (i = 0; i < p->un.n; i++) {
		char reason[CMS_USERID_MAX + 40];

		if (!strset_has(seen, p->un.v[i]))
			continue;
		snprintf(reason, sizeof(reason), "%s is also in assignedUserIds", p->un.v[i]);
		error_invalid(err, "unassignedUserIds", reason);
	}
	strset_free(seen);
	if (err->code)
		return error_set(err, ERR_BOTH);
	in->campaign = p->campaign; /* the pipeline checks it is the caller's */
	return RES_OK;
}

/* 412 unless If-Match names the ETag of the lead's state, which it holds
 * from here until the commit. */
static int check_if_match(const struct request *rq, struct reply *rp, const struct put_in *p,
			  const char *if_match)
{
	struct campaign_lead cl = { 0, p->campaign, p->lead, 0, false };
	int rc, src;

	/* found and held in one statement (one round trip on PostgreSQL) */
	if ((src = store_campaign_lead_hold(rq->store, rq->who.cc, p->campaign, p->lead, &cl.id)))
		return reply_store_error(rp, src, "lead", p->lead);
	if ((rc = etag_now(rq, rp, &cl)))
		return rc;
	if (!etag_listed(rp, if_match, false)) /* 412 carries the current ETag */
		return error_set(&rp->err, ERR_PRECONDITION);
	rp->etag[0] = '\0';
	return RES_OK;
}

/* Every userId of l whose campaign user is 0 named in the error. */
static void list_missing(struct reply *rp, const struct strlist *l, const int64_t *cu)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!cu[i])
			error_missing(&rp->err, "campaignUser", l->v[i]);
}

/* Frees what put_stage() took for m, and clears it. */
static void put_free(struct mapping_put *m)
{
	free(m->acu);
	free(m->ucu);
	free(m->achanged);
	free(m->uchanged);
	memset(m, 0, sizeof(*m));
}

/* The PUT up to its write: m filled (its lists taken), and with If-Match
 * the lead held and its ETag compared. */
static int put_stage(const struct request *rq, struct reply *rp, struct mapping_put *m)
{
	const struct put_in *p = rq->in.data;
	const char *if_match = req_header(rq, "If-Match");
	struct timespec now;
	int rc;

	memset(m, 0, sizeof(*m));
	m->campaign = p->campaign;
	m->lead = p->lead;
	m->as = (const char *const *)p->as.v;
	m->nas = p->as.n;
	m->un = (const char *const *)p->un.v;
	m->nun = p->un.n;
	m->dry = p->dry;
	clock_gettime(CLOCK_REALTIME, &now);
	m->changed_at = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	m->changed_by = rq->who.user_id;
	m->request_id = rq->id;
	m->acu = xcalloc(m->nas + 1, sizeof(*m->acu));
	m->ucu = xcalloc(m->nun + 1, sizeof(*m->ucu));
	m->achanged = xcalloc(m->nas + 1, sizeof(*m->achanged));
	m->uchanged = xcalloc(m->nun + 1, sizeof(*m->uchanged));
	if (if_match && (rc = check_if_match(rq, rp, p, if_match))) {
		put_free(m);
		return rc;
	}
	return RES_OK;
}

/* The PUT's answer from what its write did (src, a store_rc). */
static int put_finish(const struct request *rq, struct reply *rp, struct mapping_put *m, int src)
{
	const struct put_in *p = rq->in.data;
	struct strbuf achanged = STRBUF_INIT, uchanged = STRBUF_INIT;
	struct campaign_lead cl;
	int rc;

	if (src) {
		rc = reply_store_error(rp, src, "lead", p->lead);
		goto out;
	}
	list_missing(rp, &p->as, m->acu);
	list_missing(rp, &p->un, m->ucu);
	if (rp->err.code) { /* unknown campaign users, every one listed */
		rc = RES_FAIL;
		goto out;
	}
	json_names(&achanged, m->as, m->achanged, m->nas);
	json_names(&uchanged, m->un, m->uchanged, m->nun);
	cl = (struct campaign_lead){ m->cl, p->campaign, p->lead, 0, false };
	/* the new state's ETag */
	if (req_header(rq, "If-Match") && !p->dry && (rc = etag_now(rq, rp, &cl)))
		goto out;
	reply_text(rp, 200, "application/json",
		   put_answer(m->cl, p->lead, p->campaign, m->acu, &p->as, m->ucu, &p->un,
			      &achanged, &uchanged, p->dry));
	/* a dry run answers what would change, and the pipeline rolls it back */
	rc = p->dry ? RES_ROLLBACK : RES_OK;
out:
	put_free(m);
	strbuf_release(&achanged);
	strbuf_release(&uchanged);
	return rc;
}

static int put(const struct request *rq, struct reply *rp)
{
	struct mapping_put m;
	int rc = put_stage(rq, rp, &m);

	return rc ? rc : put_finish(rq, rp, &m, store_mapping_put(rq->store, rq->who.cc, &m));
}

/* changedAt: unix milliseconds as RFC 3339 UTC with milliseconds. */
static json_t *rfc3339_ms(int64_t ms)
{
	char out[32];

	json_time_ms(ms, out);
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

/* One history entry as its JSON object. */
static json_t *entry_json(const struct history_entry *h)
{
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
	return o;
}

/*
 * A page of a lead's history, sent as it is read (a piece_src): an entry
 * names every user a change touched, as many as the lead's campaign has,
 * so a page is `limit` times that.  The first entries are read at the
 * page's offset, the rest by id, older than the last one written: entries
 * never change, so the page is the one its first read began (less any
 * entry the retention window purged meanwhile).  The first read takes one
 * entry; each later one as many as fill the piece at the size of those
 * written so far (at most HISTORY_BATCH), so that a read holds about a
 * piece, or one entry.
 */
#define HISTORY_BATCH 64

struct history_src {
	struct piece_src ps;
	int64_t campaign, lead, offset;
	int64_t before;   /* the last entry written, 0 before the first read */
	int64_t left;     /* entries the page may still have */
	int64_t got;      /* entries the current read gave */
	size_t bytes;     /* of the entries written so far */
	int64_t *total;   /* the first read only: X-Total-Count */
	struct strbuf *out;
};

static int add_entry(void *ctx, const void *row)
{
	struct history_src *hs = ctx;
	const struct history_entry *h = row;
	json_t *o = entry_json(h);
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(o);
	if (!text)
		return -1;
	item_start(&hs->ps, hs->out);
	strbuf_addstr(hs->out, text);
	hs->bytes += strlen(text) + 1;
	free(text);
	hs->before = h->id;
	hs->got++;
	return 0;
}

static int history_piece(struct piece_src *ps, struct store *s, struct strbuf *out, bool *done)
{
	struct history_src *hs = (struct history_src *)ps;
	int rc;

	hs->out = out;
	while (hs->left > 0 && out->len < PIECE) {
		size_t fit = ps->written ? (PIECE - out->len) / (hs->bytes / ps->written) + 1 : 1;
		struct page pg = { fit < HISTORY_BATCH ? (int64_t)fit : HISTORY_BATCH, hs->offset };

		if (pg.limit > hs->left)
			pg.limit = hs->left;

		hs->got = 0;
		rc = hs->before ? store_history_before(s, ps->cc, hs->campaign, hs->lead, hs->before,
						       pg.limit, add_entry, hs)
				: store_history_list(s, ps->cc, hs->campaign, hs->lead, &pg, add_entry,
						     hs, hs->total);
		if (rc)
			return rc;
		hs->total = NULL;
		hs->left = hs->got < pg.limit ? 0 : hs->left - hs->got;
	}
	if (!hs->left)
		list_end(ps, out, done);
	return STORE_OK;
}

static void history_src_free(struct reply_source *src)
{
	free(src);
}

/* GET .../campaign/{c}/lead-user/history?leadId=: the lead, required, must
 * be a lead of the process (the pipeline's access check), and a page. */
static int parse_history(const struct request *rq, struct input *in, struct error *err)
{
	req_query_id(rq, "leadId", &in->lead, err);
	if (!in->lead && !err->code)
		error_invalid(err, "leadId", "is required");
	if (req_page(rq, in, err) || err->code)
		return RES_FAIL;
	return RES_OK;
}

/* Newest first, paged. */
static int history(const struct request *rq, struct reply *rp)
{
	struct history_src *hs = xcalloc(1, sizeof(*hs));
	struct strbuf text = STRBUF_INIT;
	bool done = false;
	int src;

	hs->ps.base = (struct reply_source){ piece_more, history_src_free };
	hs->ps.piece = history_piece;
	hs->ps.cc = rq->who.cc;
	hs->campaign = rq->ids.campaign;
	hs->lead = rq->in.lead;
	hs->offset = rq->in.page.offset;
	hs->left = rq->in.page.limit;
	hs->total = &rp->total;
	if ((src = history_piece(&hs->ps, rq->store, &text, &done))) {
		strbuf_release(&text);
		history_src_free(&hs->ps.base);
		return reply_store_error(rp, src, "lead", rq->in.lead);
	}
	return answer_pieces(rp, &hs->ps, &text, done);
}

/* put_finish() reads the new state for its ETag. */
static bool put_reads_after(const struct request *rq)
{
	const struct put_in *p = rq->in.data;

	return req_header(rq, "If-Match") && !p->dry;
}

static const struct group_steps put_steps = { put_stage, put_finish, put_reads_after };

const struct endpoint mapping_put[1] = { { parse_put, put, &put_steps } };
const struct endpoint mapping_get[1] = { { parse_get, get, NULL } };
const struct endpoint mapping_lead_user[1] = { { parse_lead_user, lead_user, NULL } };
const struct endpoint mapping_history[1] = { { parse_history, history, NULL } };
