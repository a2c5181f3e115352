/*
 * request.c - the pipeline every request goes through, one way:
 *
 *   admit (headers only)  route -> store -> credentials -> negotiation ->
 *                         path ids -> tenant -> role
 *   run (body arrived)    parse step -> [transaction: access -> handler ->
 *                         commit], again while the store asks for a retry
 *
 * Access is the route row's declaration (router.h): the tenant of a
 * {contactCenter} in the path is checked in admit, and the whole parent
 * chain, with any ids the parse step took from the query or body, inside the
 * transaction before the handler runs.  A handler therefore only ever sees
 * ids that exist and belong to the caller's contact center.
 */
#include "request.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cache.h"
#include "feed.h"
#include "json.h"
#include "looker.h"
#include "metrics.h"
#include "negotiate.h"
#include "router.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_ATTEMPTS 5

static struct store *(*thread_store)(void);
static bool faults_on;

void request_setup(struct store *(*store_fn)(void), bool faults)
{
	thread_store = store_fn;
	faults_on = faults;
}

/* ---- for parse steps and handlers ---- */

const char *req_header(const struct request *rq, const char *name)
{
	return rq->lookup ? rq->lookup(rq->lookup_ctx, true, name) : NULL;
}

const char *req_query(const struct request *rq, const char *name)
{
	return rq->lookup ? rq->lookup(rq->lookup_ctx, false, name) : NULL;
}

int req_query_int(const struct request *rq, const char *name, int64_t lo, int64_t hi,
		     int64_t *out, struct error *err)
{
	const char *v = req_query(rq, name);
	char reason[64];
	int64_t n;

	if (!v)
		return 0;
	if (!strcmp(v, "0") && lo == 0) {
		*out = 0;
		return 0;
	}
	if (parse_id(v, &n) || n < lo || n > hi) {
		snprintf(reason, sizeof(reason), "must be an integer from %" PRId64 " to %" PRId64, lo, hi);
		return error_invalid(err, name, reason);
	}
	*out = n;
	return 0;
}

int req_query_id(const struct request *rq, const char *name, int64_t *out, struct error *err)
{
	*out = 0;
	return req_query_int(rq, name, 1, INT64_MAX, out, err);
}

int req_query_bool(const struct request *rq, const char *name, bool *out, struct error *err)
{
	const char *v = req_query(rq, name);

	*out = false;
	if (!v || !strcmp(v, "false"))
		return 0;
	if (!strcmp(v, "true")) {
		*out = true;
		return 0;
	}
	return error_invalid(err, name, "must be true or false");
}

int req_page(const struct request *rq, struct input *in, struct error *err)
{
	in->page.limit = CMS_PAGE_DEFAULT;
	in->page.offset = 0;
	req_query_int(rq, "limit", 1, CMS_PAGE_MAX, &in->page.limit, err);
	req_query_int(rq, "offset", 0, INT64_MAX / 2, &in->page.offset, err);
	return err->code ? RES_FAIL : RES_OK;
}

int req_body(const struct request *rq, struct input *in, struct error *err)
{
	json_decref(in->body);
	in->body = NULL;
	return json_body_object(rq->body, rq->body_len, &in->body, err);
}

/* ---- fault injection (tests only) ---- */

/*
 * Fault injection, for tests only (--faults).  The X-Cmsd-Fault header
 * names a store result, "KIND" or "KIND@N": the store result it asks for
 * (STORE_OK when there is no such header or it is malformed), and in *nth the
 * statement of the request that fails with it, 0 for the commit.
 */
static int fault_asked(const struct request *rq, unsigned *nth)
{
	static const struct {
		const char *name;
		int rc;
	} faults[] = {
		{ "store-error", STORE_ERROR },
		{ "store-unavailable", STORE_UNAVAILABLE },
		{ "store-busy", STORE_RETRY },
	};
	const char *h = faults_on ? req_header(rq, "X-Cmsd-Fault") : NULL, *at;
	int64_t n = 0;
	size_t i, len;

	*nth = 0;
	if (!h)
		return STORE_OK;
	at = strchr(h, '@');
	len = at ? (size_t)(at - h) : strlen(h);
	if (at && (parse_id(at + 1, &n) || n > 100000))
		return STORE_OK;
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		if (strlen(faults[i].name) == len && !strncmp(h, faults[i].name, len)) {
			*nth = (unsigned)n;
			return faults[i].rc;
		}
	return STORE_OK;
}

/* The commit's fault ("KIND" alone): the handler has done its writes by
 * then, so a test sees them rolled back. */
static int commit_fault(const struct request *rq)
{
	unsigned nth;
	int rc = fault_asked(rq, &nth);

	return nth ? STORE_OK : rc;
}

/* "KIND@N": the Nth store statement of the request (the credentials' lookup,
 * BEGIN, the access check, the handler's, COMMIT: all count) fails. */
static void arm_statement_fault(const struct request *rq)
{
	unsigned nth;
	int rc = fault_asked(rq, &nth);

	/* disarmed otherwise, which also starts the count of statements afresh */
	store_fault_arm(rq->store, rc ? nth : 0, rc);
}

/* ---- the caches' look ---- */

/* The id of query argument `name`, 0 when absent or not an id (the parse
 * step says why, later). */
static int64_t quiet_id(const struct request *rq, const char *name)
{
	const char *v = req_query(rq, name);
	int64_t n = 0;

	return v && !parse_id(v, &n) ? n : 0;
}

/* What the request's one look at the store reads besides the epoch, for
 * the routes that say so: the version of the lead it answers and, unless
 * the cache holds the lead's mapping at the lead's stamps, what that
 * mapping is made of (mapping.c renders it from the look's rows).  A lead
 * the cache holds gets the plain look, which costs PostgreSQL less, when
 * it is likely current (docs/decisions.md, "A lead held and believed
 * current gets the plain look"). */
static void aim_look(struct request *rq)
{
	struct cache_key key;
	struct store_look *lk = &rq->look;

	memset(lk, 0, sizeof(*lk));
	if (!(rq->route->flags & RF_LOOK_LEAD))
		return;
	lk->campaign = rq->ids.campaign ? rq->ids.campaign : quiet_id(rq, "campaignId");
	lk->lead = quiet_id(rq, "leadId");
	if (!rq->store || !store_look_reads_rows(rq->store))
		return; /* the plain look: no stamps to tell it */
	/* held and, unless another node changed it this very moment, current:
	 * every change this process made was dropped from the cache (feed.c),
	 * the drops done before the count says so, and looked at after it */
	lk->plain = feed_has_own_commits();
	key = cache_key(CACHE_MAPPING, lk->campaign, lk->lead, 0, 0);
	lk->held = cache_stamps(&key, &lk->held_epoch, &lk->held_version);
	lk->plain = lk->plain && lk->held;
}

/* ---- admission: the request line and headers alone ---- */

/* Who calls: rq->who, or false with the refusal in rp.  lk: the request's
 * look for the cache (NULL: the store itself, in the open transaction);
 * defer: as auth_authenticate(). */
static bool authenticate(struct request *rq, struct reply *rp, struct store_look *lk, bool defer)
{
	struct auth_outcome why = { 0, 0 };

	switch (auth_authenticate(rq->store, req_header(rq, "Authorization"), rq->addr, lk,
				  defer, &rq->who, &why)) {
	case AUTH_OK:
		return true;
	case AUTH_THROTTLED:
		rp->retry_after = why.retry_after;
		error_set(&rp->err, ERR_TOO_MANY);
		break;
	case AUTH_BUSY:
		rp->retry_after = why.retry_after;
		error_set(&rp->err, ERR_UNAVAILABLE);
		break;
	case AUTH_STORE_FAILED:
		reply_store_error(rp, why.store_rc, "user", 0);
		break;
	case AUTH_DENIED:
		error_set(&rp->err, ERR_AUTH);
		break;
	}
	return false;
}

/* What the caller may do here: its tenant only, its role, its own userId
 * for an Agent where the route says so; else the refusal in rp. */
static void authorize(const struct request *rq, struct reply *rp)
{
	const struct route *rt = rq->route;

	/* Another tenant's contact center is, to this caller, a missing one. */
	if (rq->ids.cc && rq->who.role != ROLE_SYSTEM && rq->ids.cc != rq->who.cc)
		error_missing_id(&rp->err, "contactCenter", rq->ids.cc);
	else if (rq->who.role < rt->role)
		error_set(&rp->err, ERR_FORBIDDEN);
	/* an Agent's own userId only */
	else if ((rt->flags & RF_SELF) && rq->who.role == ROLE_AGENT &&
		 strcmp(rq->ids.user ? rq->ids.user : "", rq->who.user_id))
		error_set(&rp->err, ERR_FORBIDDEN);
}

static bool groups_on;

void request_groups(bool on)
{
	groups_on = on;
}

bool request_admit_route(struct request *rq, struct reply *rp)
{
	const struct route *rt;

	rt = rq->route = router_match(rq->method, rq->path, &rq->ids, rq->bad_object,
				      rq->bad_id, rp->allow, &rp->err);
	if (!rt)
		return false;
	/* a userId segment with more path after it, on its own */
	if (rq->ids.user && rq->ids.user[rq->ids.user_len]) {
		if (rq->ids.user_len > CMS_USERID_MAX && !rq->bad_object[0]) {
			snprintf(rq->bad_object, sizeof(rq->bad_object), "user");
			snprintf(rq->bad_id, sizeof(rq->bad_id), "%.*s", (int)sizeof(rq->bad_id) - 1,
				 rq->ids.user);
		}
		snprintf(rq->user_seg, sizeof(rq->user_seg), "%.*s", (int)rq->ids.user_len,
			 rq->ids.user);
		rq->ids.user = rq->user_seg;
	}
	if (!(rt->flags & RF_NO_STORE)) {
		rq->store = thread_store ? thread_store() : NULL;
		if (!rq->store) {
			error_set(&rp->err, ERR_UNAVAILABLE);
			return false;
		}
		if (faults_on)
			arm_statement_fault(rq);
	}
	aim_look(rq);
	return true;
}

bool request_share_look(struct request *rq)
{
	const struct route *rt = rq->route;

	/* the look authenticate() would take for a token (a password check
	 * takes none), plain or aimed at a lead; a PUT of a group looks with
	 * its group, a fault counts the request's own statements */
	if (!looker_running() || faults_on || !rq->store || rt->role == ROLE_NONE ||
	    (groups_on && (rt->flags & RF_GROUP)) ||
	    !auth_is_token(req_header(rq, "Authorization")))
		return false;
	/* rows of a lead only for a token the cache knows, as token_get()
	 * decides when it takes the look itself: a made-up token makes the
	 * store read no lead's rows (its look is then the plain one, no lead) */
	if (!store_look_plain(rq->store, &rq->look) &&
	    !auth_token_held(req_header(rq, "Authorization")))
		rq->look.campaign = rq->look.lead = 0;
	if (!looker_here())
		return true;
	/* alone: taken here; a failure is said by authenticate(), which finds
	 * it in the look (lk->failed) without asking the store again */
	(void)store_look(rq->store, &rq->look);
	looker_here_done();
	return false;
}

void request_admit_rest(struct request *rq, struct reply *rp)
{
	const struct route *rt = rq->route;
	bool has_body = !strcmp(rq->method, "POST") || !strcmp(rq->method, "PUT");

	/* a request of a group: its token is checked against the group's one
	 * look, in the group's transaction (request_in_group) */
	if (rt->role != ROLE_NONE &&
	    !authenticate(rq, rp, &rq->look, groups_on && (rt->flags & RF_GROUP)))
		return;
	if (!(rt->flags & RF_TEXT) && !negotiate_accepts_json(req_header(rq, "Accept"))) {
		error_set(&rp->err, ERR_NOT_ACCEPTABLE);
		return;
	}
	if (has_body && !negotiate_is_json(req_header(rq, "Content-Type"))) {
		error_set(&rp->err, ERR_MEDIA);
		return;
	}
	if (rq->bad_object[0]) {
		error_missing(&rp->err, rq->bad_object, rq->bad_id);
		return;
	}
	authorize(rq, rp);
	/* refused on what the cache held unchecked: the store decides */
	if (rp->err.code && rq->who.deferred) {
		error_clear(&rp->err);
		if (authenticate(rq, rp, &rq->look, false))
			authorize(rq, rp);
	}
}

void request_admit(struct request *rq, struct reply *rp)
{
	if (request_admit_route(rq, rp))
		request_admit_rest(rq, rp);
}

size_t request_body_limit(const struct request *rq, size_t authenticated)
{
	if (rq->who.role != ROLE_NONE || authenticated < CMS_ANON_BODY_LIMIT)
		return authenticated;
	return CMS_ANON_BODY_LIMIT;
}

/* ---- the run: parse, access, handler, in one transaction ---- */

/*
 * The route's parent chain (its IN_* flags over the path ids) and the ids
 * its parse step took from the query or body must exist, chain to each other
 * and lie in the caller's contact center: else 404 naming the first missing
 * object, as a missing object of another tenant always answers.
 */
static int cached_check(const struct request *rq, const struct cache_key *key)
{
	return rq->look.done && cache_get(key, rq->look.epoch, 0, NULL, 0) == 0;
}

/* Keeps a check that held, stamped with the look's epoch: read after it,
 * the answer is at least as new (it could only be a spurious miss later). */
static void keep_check(const struct request *rq, const struct cache_key *key)
{
	if (rq->look.done)
		cache_put(key, rq->look.epoch, 0, NULL, 0);
}

static int check_access(const struct request *rq, struct reply *rp)
{
	int f = rq->route->flags, rc;
	struct store_path p = {
		(f & IN_CC) ? rq->ids.cc : 0,
		(f & IN_PROCESS) == IN_PROCESS ? rq->ids.process : 0,
		(f & IN_CAMPAIGN) == IN_CAMPAIGN ? rq->ids.campaign : 0,
		rq->in.lead,
	};
	const char *object = "contactCenter";
	int64_t id = p.cc;
	struct cache_key scope = cache_key(CACHE_SCOPE, rq->who.cc, rq->in.campaign, 0, 0);
	struct cache_key path = cache_key(CACHE_PATH, p.cc, p.process, p.campaign, p.lead);

	/* a campaign named outside a path (the mapping's) lies in the caller's scope */
	if (!p.campaign && rq->in.campaign && !cached_check(rq, &scope)) {
		rc = store_campaign_in_scope(rq->store, rq->who.cc, rq->in.campaign);
		if (rc)
			return reply_store_error(rp, rc, "campaign", rq->in.campaign);
		keep_check(rq, &scope);
	}
	if ((!p.cc && !p.lead) || cached_check(rq, &path))
		return RES_OK;
	rc = store_path_check(rq->store, &p, &object, &id);
	if (rc)
		return reply_store_error(rp, rc, object, id);
	keep_check(rq, &path);
	return RES_OK;
}

/* One attempt: begin, access, handler, commit; returns the enum result. */
static int attempt(struct request *rq, struct reply *rp, bool write)
{
	int rc = store_begin(rq->store, write), res;

	if (rc)
		return reply_store_error(rp, rc, "store", 0);
	res = check_access(rq, rp);
	if (res == RES_OK)
		res = rq->route->endpoint->run(rq, rp);
	if (res != RES_OK) {
		store_rollback(rq->store);
		return res;
	}
	if ((rc = commit_fault(rq)) || (rc = store_commit(rq->store))) {
		store_rollback(rq->store);
		return reply_store_error(rp, rc, "store", 0);
	}
	feed_commit_done(rq->store);
	return RES_OK;
}

bool request_parse(struct request *rq, struct reply *rp)
{
	const struct endpoint *ep = rq->route->endpoint;

	if (faults_on && rq->store) /* what ran so far, on the worker's connection */
		rq->statements_before = store_statement_count(rq->store);
	if (ep->parse && ep->parse(rq, &rq->in, &rp->err) != RES_OK) {
		if (!rp->err.code)
			error_set(&rp->err, ERR_INVALID);
		return false;
	}
	return true;
}

/* The parse step, then the handler, in a transaction unless RF_NO_TXN. */
static void run(struct request *rq, struct reply *rp)
{
	const struct endpoint *ep = rq->route->endpoint;
	bool write = strcmp(rq->route->method, "GET") != 0; /* HEAD runs the GET row */
	int n;

	if (!request_parse(rq, rp))
		return;
	if (rq->route->flags & RF_NO_TXN) {
		ep->run(rq, rp);
		return;
	}
	store_set_actor(rq->store, rq->who.user_id, rq->id);
	for (n = 1;; n++) {
		reply_reset(rp);
		if (attempt(rq, rp, write) != RES_RETRY)
			return;
		if (n == MAX_ATTEMPTS)
			break;
		metrics_store_rerun(); /* counted and waited for only when it comes */
		usleep((useconds_t)(1000 * n * (1 + randombytes_uniform(4))));
	}
	/* out of attempts: the store is too busy, whatever the handler said */
	error_set(&rp->err, ERR_UNAVAILABLE);
}

/* ---- a request of a group (writer.c) ---- */

/* The headers a request of a group is read in the writer's thread, copied
 * in the worker's before it is handed over: the writer never reads the
 * parked connection. */
static const char *const held_names[REQUEST_HELD] = { "Authorization", "If-Match",
						       "X-Cmsd-Fault" };

static const char *held_lookup(void *ctx, bool header, const char *name)
{
	const struct request *rq = ctx;
	size_t i;

	for (i = 0; header && i < REQUEST_HELD; i++)
		if (!strcasecmp(name, held_names[i]))
			return rq->held[i];
	return rq->conn_lookup(rq->conn_ctx, header, name);
}

void request_hold(struct request *rq)
{
	const char *v;
	size_t i;

	for (i = 0; i < REQUEST_HELD; i++)
		rq->held[i] = (v = req_header(rq, held_names[i])) ? xstrdup(v) : NULL;
	rq->conn_lookup = rq->lookup;
	rq->conn_ctx = rq->lookup_ctx;
	rq->lookup = held_lookup;
	rq->lookup_ctx = rq;
}

void request_move(struct request *rq, struct store *s)
{
	rq->store = s;
	if (faults_on)
		arm_statement_fault(rq);
}

bool request_fault_alone(const struct request *rq)
{
	const char *g = faults_on ? req_header(rq, "X-Cmsd-Group") : NULL;

	return faults_on && !(g && !strcmp(g, "yes"));
}

int request_group_arm(struct request *rq, struct store *s)
{
	unsigned nth;
	int rc = faults_on ? fault_asked(rq, &nth) : STORE_OK;

	/* "KIND@N" counts on from the statements the worker ran (admission) */
	store_fault_arm(s, rc && nth > rq->statements_before ? nth - rq->statements_before : 0,
			rc);
	return rc && !nth ? rc : STORE_OK;
}

/* What a request of a group does before its handler, on the group's s:
 * the caches answer as of the group's look, the credentials again when
 * they are older, the access check.  rq->store is s from here until the
 * caller puts it back. */
static int group_enter(struct request *rq, struct reply *rp, struct store *s,
		       const struct store_look *lk)
{
	int res = RES_OK;

	reply_reset(rp);
	rq->store = s;
	/* the caches answer as of the group's look (its epoch: no lead, so
	 * no rows: none are shared, none left behind) */
	store_look_release(&rq->look);
	rq->look = *lk;
	rq->look.read = NULL;
	/* a token taken from the cache at admission, and something changed
	 * since: who calls, and what it may do, as the store says now */
	if (rq->who.deferred && rq->who.epoch != lk->epoch) {
		if (!authenticate(rq, rp, NULL, false))
			res = RES_FAIL;
		else
			authorize(rq, rp);
		if (rp->err.code)
			res = RES_FAIL;
	}
	if (res == RES_FAIL)
		return res;
	store_set_actor(s, rq->who.user_id, rq->id);
	return check_access(rq, rp);
}

int request_in_group(struct request *rq, struct reply *rp, struct store *s,
		     const struct store_look *lk)
{
	struct store *own = rq->store;
	int res = group_enter(rq, rp, s, lk);

	if (res == RES_OK)
		res = rq->route->endpoint->run(rq, rp);
	rq->store = own;
	return res;
}

int request_group_stage(struct request *rq, struct reply *rp, struct store *s,
			const struct store_look *lk, struct mapping_put *m, int64_t *cc,
			bool *flush)
{
	const struct group_steps *steps = rq->route->endpoint->group;
	struct store *own = rq->store;
	int res = group_enter(rq, rp, s, lk);

	if (res == RES_OK)
		res = steps->stage(rq, rp, m);
	*cc = rq->who.cc;
	*flush = res == RES_OK && steps->reads_after(rq);
	rq->store = own;
	return res;
}

int request_group_finish(struct request *rq, struct reply *rp, struct store *s,
			 struct mapping_put *m, int src)
{
	struct store *own = rq->store;
	int res;

	rq->store = s;
	res = rq->route->endpoint->group->finish(rq, rp, m, src);
	rq->store = own;
	return res;
}

void request_group_done(struct request *rq, struct reply *rp, struct store *s)
{
	if (!faults_on)
		return;
	rp->statements = (int)(rq->statements_before + store_statement_count(s));
	store_fault_arm(s, 0, STORE_OK);
}

void request_run(struct request *rq, struct reply *rp)
{
	run(rq, rp);
	if (faults_on && rq->store) /* so that a fault sweep knows when it ran out */
		rp->statements = (int)store_statement_count(rq->store);
}

/* Frees the parse step's input. */
static void release_input(struct request *rq)
{
	json_decref(rq->in.body);
	if (rq->in.data && rq->in.free_data)
		rq->in.free_data(rq->in.data);
	else
		free(rq->in.data);
	memset(&rq->in, 0, sizeof(rq->in));
}

void request_rerun(struct request *rq, struct reply *rp)
{
	rq->look.done = false; /* a new look, when one is needed */
	rq->look.failed = 0;
	release_input(rq);
	reply_reset(rp);
	request_run(rq, rp);
}

void request_release(struct request *rq)
{
	size_t i;

	for (i = 0; i < REQUEST_HELD; i++) {
		if (rq->held[i]) /* an Authorization value is a secret */
			sodium_memzero(rq->held[i], strlen(rq->held[i]));
		free(rq->held[i]);
		rq->held[i] = NULL;
	}
	if (faults_on && rq->store)
		store_fault_arm(rq->store, 0, STORE_OK); /* a fault never outlives its request */
	release_input(rq);
	store_look_release(&rq->look);
	sodium_memzero(&rq->who, sizeof(rq->who));
}
