/*
 * feed.c - the change feed as one node follows it (feed.h).
 *
 * Memory holds the newest events, (base, head], contiguous: every event the
 * store has with a cursor in that range is here, rendered once as JSON.  A
 * reader at or past `base` is served from memory; one older reads the store
 * (a bounded scan per call).  The budget is FEED_BYTES; the oldest events
 * go first.
 *
 * One thread follows the store: it sleeps in poll() on a pipe (this
 * process's commits, new deadlines) and, on PostgreSQL, on the connection
 * that LISTENs for other nodes' commits, at most a second.  Each time it
 * reads the head, then what is new, appends it and wakes the waiters it is
 * for; it wakes waiters whose time is up, and purges events older than the
 * retention window from the store.  Requests that must see every change
 * acknowledged before them (a poll that does not wait) read what is new
 * themselves, on their own connection; `fetch` makes those reads one at a
 * time, so memory is appended in order.
 *
 * Locks: `fetch` before `lock`, never the other way.  Waiters are armed and
 * woken under `lock`, so a wake never runs before its arm.
 */
#include "feed.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "clock.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "xalloc.h"
#include "banned.h"

#define FEED_BYTES (8u << 20) /* memory for events: some 20,000 */
#define READ_BATCH 500         /* events per store read */
#define SCAN_BUDGET 10000      /* events one call looks at, at most */
#define PAGE_BYTES (1u << 20)  /* one call writes no more events once its
				  output holds this much: an event names as
				  many users as a lead's campaign has, so a
				  page of `limit` of them is bounded by bytes
				  instead (its cursor says where to go on) */
#define SAFETY_POLL_MS 1000    /* the store is read this often regardless */
#define GATHER_US 1000         /* after a read that found events, the next
				  waits this long, so that a busy store is read
				  in batches, not once per commit */

/* One event, as served.  Its JSON and the sorted names a filter looks up
 * are made on first need (ev_ready): a node whose feed nobody follows never
 * makes them.  Events in memory are made ready under F.lock. */
struct ev {
	int64_t id, cc, campaign, lead, campaign_lead, at;
	char *raw;    /* until ready: the entry's strings, each ending in NUL */
	const char *assigned, *unassigned, *cause, *actor, *request;
	size_t cost;  /* what it counts against FEED_BYTES, fixed when made */
	char **users; /* everyone it names, sorted */
	size_t nusers;
	char *json;   /* its object, compact */
	size_t len;
};

struct feed_sub {
	struct feed_filter f;
	int64_t after;  /* the last cursor looked at */
	/* while waiting (linked): */
	struct feed_sub *prev, *next;
	bool linked;
	int64_t until;
	void (*wake)(void *);
	void *ctx;
};

static struct {
	pthread_mutex_t lock, fetch;
	struct ev **ring; /* circular: ring[(start + i) % cap], i < n */
	size_t cap, start, n, bytes;
	int64_t base, head, purged;
	struct feed_sub waiters; /* list head */
	int64_t next_wake;       /* when the thread looks next */
	bool started, stopping;
	int pipe[2];
	pthread_t thread;
	struct store *store;
	int64_t retention_ms;
} F = { .lock = PTHREAD_MUTEX_INITIALIZER, .fetch = PTHREAD_MUTEX_INITIALIZER,
	.pipe = { -1, -1 } };

void feed_cursor_text(int64_t cursor, char out[17])
{
	snprintf(out, 17, "%016" PRIx64, (uint64_t)cursor);
}

int feed_cursor_parse(const char *text, int64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!strcmp(text, "0")) {
		*out = 0;
		return 0;
	}
	if (strlen(text) != 16)
		return -1;
	for (i = 0; i < 16; i++) {
		int c = text[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (d < 0)
			return -1;
		v = v * 16 + (uint64_t)d;
	}
	if (v > INT64_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* ---- events ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A stored JSON array of userIds, sorted, appended to out as a JSON array
 * and to the event's names; anything unreadable is an empty one. */
static void names_of(const char *text, struct strbuf *out, char ***users, size_t *n)
{
	json_t *a = text ? json_loads(text, 0, NULL) : NULL;
	const char **v;
	size_t i, k = 0, len = json_is_array(a) ? json_array_size(a) : 0;

	v = xcalloc(len + 1, sizeof(*v));
	for (i = 0; i < len; i++)
		if (json_is_string(json_array_get(a, i)))
			v[k++] = json_string_value(json_array_get(a, i));
	qsort(v, k, sizeof(*v), cmp_str);
	*users = xrealloc(*users, (*n + k + 1) * sizeof(**users));
	strbuf_addch(out, '[');
	for (i = 0; i < k; i++) {
		if (i)
			strbuf_addch(out, ',');
		json_quote(out, v[i]);
		(*users)[(*n)++] = xstrdup(v[i]);
	}
	strbuf_addch(out, ']');
	free(v);
	json_decref(a);
}

/* The event as served: written field by field (json_quote escapes as
 * jansson does), without building a jansson object for each. */
static void ev_ready(struct ev *e)
{
	struct strbuf o = STRBUF_INIT;
	char cursor[17], at[32];

	if (e->json)
		return;
	feed_cursor_text(e->id, cursor);
	json_time_ms(e->at, at);
	strbuf_addstr(&o, "{\"cursor\":\"");
	strbuf_addstr(&o, cursor);
	strbuf_addstr(&o, "\",\"contactCenterId\":");
	strbuf_addint(&o, e->cc);
	strbuf_addstr(&o, ",\"campaignId\":");
	strbuf_addint(&o, e->campaign);
	strbuf_addstr(&o, ",\"leadId\":");
	strbuf_addint(&o, e->lead);
	strbuf_addstr(&o, ",\"campaignLeadId\":");
	strbuf_addint(&o, e->campaign_lead);
	strbuf_addstr(&o, ",\"assigned\":");
	names_of(e->assigned, &o, &e->users, &e->nusers);
	strbuf_addstr(&o, ",\"unassigned\":");
	names_of(e->unassigned, &o, &e->users, &e->nusers);
	strbuf_addstr(&o, ",\"cause\":");
	json_quote(&o, e->cause);
	strbuf_addstr(&o, ",\"actor\":");
	json_quote(&o, e->actor);
	strbuf_addstr(&o, ",\"at\":\"");
	strbuf_addstr(&o, at);
	strbuf_addstr(&o, "\",\"requestId\":");
	json_quote(&o, e->request);
	strbuf_addch(&o, '}');
	e->len = o.len;
	e->json = strbuf_detach(&o);
	qsort(e->users, e->nusers, sizeof(*e->users), cmp_str);
	free(e->raw);
	e->raw = NULL;
	e->assigned = e->unassigned = e->cause = e->actor = e->request = NULL;
}

/* Appends s (NULL: "") and its NUL to raw; its offset. */
static size_t raw_add(struct strbuf *raw, const char *s)
{
	size_t at = raw->len;

	strbuf_addstr(raw, s ? s : "");
	strbuf_addch(raw, '\0');
	return at;
}

/* The entry h kept as it is, to be made ready when needed. */
static struct ev *ev_new(const struct history_entry *h)
{
	struct ev *e = xcalloc(1, sizeof(*e));
	struct strbuf raw = STRBUF_INIT;
	size_t at[5];

	e->id = h->id;
	e->cc = h->cc;
	e->campaign = h->campaign_id;
	e->lead = h->lead_id;
	e->campaign_lead = h->campaign_lead_id;
	e->at = h->changed_at;
	at[0] = raw_add(&raw, h->assigned);
	at[1] = raw_add(&raw, h->unassigned);
	at[2] = raw_add(&raw, h->cause);
	at[3] = raw_add(&raw, h->changed_by);
	at[4] = raw_add(&raw, h->request_id);
	/* its JSON is about the strings' bytes (names quoted once in the
	 * object, kept once more for the filters) and 200 more */
	e->cost = sizeof(*e) + 2 * raw.len + 200;
	e->raw = strbuf_detach(&raw);
	e->assigned = e->raw + at[0];
	e->unassigned = e->raw + at[1];
	e->cause = e->raw + at[2];
	e->actor = e->raw + at[3];
	e->request = e->raw + at[4];
	return e;
}

static void ev_free(struct ev *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->nusers; i++)
		free(e->users[i]);
	free(e->users);
	free(e->json);
	free(e->raw);
	free(e);
}

static size_t ev_cost(const struct ev *e)
{
	return e->cost;
}

static bool names(struct ev *e, const char *user)
{
	ev_ready(e);
	return bsearch(&user, e->users, e->nusers, sizeof(*e->users), cmp_str) != NULL;
}

static bool matches(const struct feed_filter *f, struct ev *e)
{
	return (!f->cc || e->cc == f->cc) && (!f->campaign || e->campaign == f->campaign) &&
	       (!f->lead || e->lead == f->lead) && (!f->user[0] || names(e, f->user)) &&
	       (!f->self[0] || names(e, f->self));
}

/* Writes e as the API serves it: in a JSON array (after others: a comma
 * first) or as an SSE block. */
static void ev_write(struct ev *e, bool sse, struct strbuf *out, size_t written)
{
	char cursor[17];

	ev_ready(e);
	if (sse) {
		feed_cursor_text(e->id, cursor);
		strbuf_addstr(out, "id: ");
		strbuf_addstr(out, cursor);
		strbuf_addstr(out, "\nevent: change\ndata: ");
		strbuf_add(out, e->json, e->len);
		strbuf_addstr(out, "\n\n");
	} else {
		if (written)
			strbuf_addch(out, ',');
		strbuf_add(out, e->json, e->len);
	}
}

/* ---- memory (under F.lock) ---- */

static struct ev *ring_at(size_t i)
{
	return F.ring[(F.start + i) % F.cap];
}

/* The index of the first event after cursor `after` (F.n: none). */
static size_t ring_after(int64_t after)
{
	size_t lo = 0, hi = F.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ring_at(mid)->id <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void ring_drop_oldest(void)
{
	struct ev *e = ring_at(0);

	F.base = e->id;
	F.bytes -= ev_cost(e);
	ev_free(e);
	F.start = (F.start + 1) % F.cap;
	F.n--;
}

static void ring_push(struct ev *e)
{
	if (F.n == F.cap) {
		size_t cap = F.cap ? F.cap * 2 : 1024, i;
		struct ev **r = xcalloc(cap, sizeof(*r));

		for (i = 0; i < F.n; i++)
			r[i] = ring_at(i);
		free(F.ring);
		F.ring = r;
		F.cap = cap;
		F.start = 0;
	}
	F.ring[(F.start + F.n) % F.cap] = e;
	F.n++;
	F.bytes += ev_cost(e);
	F.head = e->id;
	while (F.bytes > FEED_BYTES && F.n > 1)
		ring_drop_oldest();
}

static void unlink_sub(struct feed_sub *w)
{
	w->prev->next = w->next;
	w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->linked = false;
}

static void wake_sub(struct feed_sub *w)
{
	unlink_sub(w);
	w->wake(w->ctx);
}

/* Whether memory holds an event for w after its cursor (or w is behind
 * memory, so that only the store can tell). */
static bool pending(const struct feed_sub *w)
{
	size_t i;

	if (w->after < F.base)
		return true;
	for (i = ring_after(w->after); i < F.n; i++)
		if (matches(&w->f, ring_at(i)))
			return true;
	return false;
}

/* Wakes every waiter that events from index `from` on are for. */
static void wake_for(size_t from)
{
	struct feed_sub *w = F.waiters.next, *next;
	size_t i;

	for (; w != &F.waiters; w = next) {
		next = w->next;
		for (i = from; i < F.n; i++) {
			struct ev *e = ring_at(i);

			if (e->id > w->after && matches(&w->f, e)) {
				wake_sub(w);
				break;
			}
		}
	}
}

/* ---- reading the store ---- */

struct batch {
	struct ev **v;
	size_t n;
};

static int collect(void *ctx, const void *row)
{
	struct batch *b = ctx;

	b->v = xrealloc(b->v, (b->n + 1) * sizeof(*b->v));
	b->v[b->n++] = ev_new(row);
	return 0;
}

static void batch_free(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		ev_free(b->v[i]);
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

/*
 * This process's commits that appended events (feed_committed), and how
 * many of them a read of the store has taken in: the count is taken before
 * the read, so each commit it holds is in what the read sees.
 */
static atomic_uint_fast64_t own_commits, own_read;

bool feed_has_own_commits(void)
{
	return atomic_load(&own_read) == atomic_load(&own_commits);
}

/* Each event read makes what the cache held of its lead before it stale:
 * dropped, so that the next GET of the lead reads it in its look at once
 * (store_look) instead of finding its stamps moved. */
static void drop_cached(const struct batch *b)
{
	struct cache_key key;
	size_t i;

	for (i = 0; i < b->n; i++) {
		key = cache_key(CACHE_MAPPING, b->v[i]->campaign, b->v[i]->lead, 0, 0);
		cache_drop_older(&key, b->v[i]->id);
	}
}

/* Reads into memory what the store has committed since its head. */
static int sync_from(struct store *s)
{
	int64_t last = 0, purged = 0, head;
	uint_fast64_t commits;
	struct batch b = { NULL, 0 };
	int rc;
	size_t i, pushed;

	pthread_mutex_lock(&F.fetch);
	commits = atomic_load(&own_commits);
	rc = store_feed_head(s, &last, &purged);
	pthread_mutex_lock(&F.lock);
	if (!rc && purged > F.purged)
		F.purged = purged;
	head = F.head;
	pthread_mutex_unlock(&F.lock);
	while (!rc && last > head) {
		rc = store_feed_read(s, head, READ_BATCH, collect, &b);
		if (rc || !b.n)
			break;
		drop_cached(&b);
		pthread_mutex_lock(&F.lock);
		for (i = 0, pushed = 0; i < b.n; i++) {
			if (b.v[i]->id > F.head) {
				ring_push(b.v[i]);
				b.v[i] = NULL;
				pushed++;
			}
		}
		wake_for(ring_after(head));
		head = F.head;
		pthread_mutex_unlock(&F.lock);
		metrics_feed_events(pushed, false);
		batch_free(&b);
	}
	batch_free(&b);
	pthread_mutex_lock(&F.lock);
	/* purged before it was read: memory starts again at the head */
	if (!rc && last > F.head && F.head < F.purged) {
		while (F.n)
			ring_drop_oldest();
		F.base = F.head = last;
	}
	pthread_mutex_unlock(&F.lock);
	/* events purged before they were read dropped nothing: the cache's
	 * stamps still say, and the caller's look, not knowing, costs more */
	if (!rc)
		atomic_store(&own_read, commits);
	pthread_mutex_unlock(&F.fetch);
	return rc;
}

/*
 * A transaction's own events, taken in as it committed them.  Only when they
 * follow memory's head without a gap: every id in (head, last] is then one
 * of them, so memory stays whole.  Ids are in commit order on both
 * backends: SQLite's writer holds the database's write lock from its BEGIN,
 * and PostgreSQL's transactions take ids under change_head's row lock, held
 * to their commit; so no other commit's event falls between the head and
 * the first of these.  A commit not taken in is counted (feed_committed)
 * and read back as any other.  The feed's own thread may be reading the same
 * events meanwhile: it appends only what is past the head, as here.
 */
static bool take_own(const struct history_entry *v, size_t n)
{
	struct batch b = { NULL, 0 };
	size_t i;
	bool taken;

	if (!n)
		return false;
	for (i = 1; i < n; i++)
		if (v[i].id != v[0].id + (int64_t)i)
			return false;
	pthread_mutex_lock(&F.lock);
	taken = F.started && !F.stopping && v[0].id == F.head + 1;
	pthread_mutex_unlock(&F.lock);
	if (!taken)
		return false;
	b.v = xcalloc(n, sizeof(*b.v));
	for (b.n = 0; b.n < n; b.n++)
		b.v[b.n] = ev_new(&v[b.n]);
	/* dropped before they are in memory, as sync_from does */
	drop_cached(&b);
	pthread_mutex_lock(&F.lock);
	taken = v[0].id == F.head + 1;
	if (taken) {
		for (i = 0; i < n; i++) {
			ring_push(b.v[i]);
			b.v[i] = NULL;
		}
		wake_for(ring_after(v[0].id - 1));
	}
	pthread_mutex_unlock(&F.lock);
	batch_free(&b);
	if (taken)
		metrics_feed_events(n, true);
	return taken;
}

/* ---- readers ---- */

static void poke(void);

struct feed_sub *feed_sub_new(const struct feed_filter *f, int64_t after)
{
	struct feed_sub *sub = xcalloc(1, sizeof(*sub));

	sub->f = *f;
	sub->after = after;
	return sub;
}

void feed_sub_free(struct feed_sub *sub)
{
	if (!sub)
		return;
	pthread_mutex_lock(&F.lock);
	if (sub->linked)
		unlink_sub(sub);
	pthread_mutex_unlock(&F.lock);
	free(sub);
}

int64_t feed_sub_cursor(const struct feed_sub *sub)
{
	return sub->after;
}

/* From the store: events after the reader's cursor, up to the budget. */
static int read_store(struct feed_sub *sub, struct store *s, size_t limit, bool sse,
		      struct strbuf *out, size_t *n, int *store_rc)
{
	struct batch b = { NULL, 0 };
	size_t scanned = 0, i;
	int rc = 0;

	for (;;) {
		int64_t base;

		pthread_mutex_lock(&F.lock);
		base = F.base;
		pthread_mutex_unlock(&F.lock);
		if (*n >= limit || scanned >= SCAN_BUDGET || sub->after >= base ||
		    out->len >= PAGE_BYTES)
			break;
		rc = store_feed_read(s, sub->after, READ_BATCH, collect, &b);
		if (rc)
			break;
		for (i = 0; i < b.n && *n < limit && out->len < PAGE_BYTES; i++) {
			if (matches(&sub->f, b.v[i]))
				ev_write(b.v[i], sse, out, (*n)++);
			sub->after = b.v[i]->id;
			scanned++;
		}
		/* the store has no more before memory's first: memory covers the
		 * rest (cursors up to its head have all committed) */
		if (b.n < READ_BATCH && i == b.n && sub->after < base)
			sub->after = base;
		batch_free(&b);
	}
	batch_free(&b);
	if (rc) {
		*store_rc = rc;
		return FEED_STORE;
	}
	return FEED_OK;
}

int feed_sub_read(struct feed_sub *sub, struct store *s, bool fresh, size_t limit, bool sse,
		  struct strbuf *out, size_t *n, bool *at_end, int *store_rc)
{
	size_t i, scanned = 0;
	int rc;

	*n = 0;
	*at_end = false;
	if (fresh && (rc = sync_from(s))) {
		*store_rc = rc;
		return FEED_STORE;
	}
	pthread_mutex_lock(&F.lock);
	if (sub->after == 0)
		sub->after = F.purged;
	if (sub->after < F.purged || sub->after > F.head) {
		pthread_mutex_unlock(&F.lock);
		return FEED_GONE;
	}
	if (sub->after < F.base) {
		pthread_mutex_unlock(&F.lock);
		if ((rc = read_store(sub, s, limit, sse, out, n, store_rc)))
			return rc;
		pthread_mutex_lock(&F.lock);
		if (sub->after < F.base) { /* the budget ran out first */
			pthread_mutex_unlock(&F.lock);
			return FEED_OK;
		}
	}
	for (i = ring_after(sub->after);
	     i < F.n && *n < limit && scanned < SCAN_BUDGET && out->len < PAGE_BYTES; i++) {
		struct ev *e = ring_at(i);

		if (matches(&sub->f, e))
			ev_write(e, sse, out, (*n)++);
		sub->after = e->id;
		scanned++;
	}
	if (i == F.n) {
		sub->after = F.head;
		*at_end = true;
	}
	pthread_mutex_unlock(&F.lock);
	return FEED_OK;
}

bool feed_sub_wait(struct feed_sub *sub, int64_t until, void (*arm)(void *),
		   void (*wake)(void *), void *ctx)
{
	bool nudge;

	pthread_mutex_lock(&F.lock);
	if (F.stopping || pending(sub)) {
		pthread_mutex_unlock(&F.lock);
		return false;
	}
	sub->until = until;
	sub->wake = wake;
	sub->ctx = ctx;
	sub->next = &F.waiters;
	sub->prev = F.waiters.prev;
	F.waiters.prev->next = sub;
	F.waiters.prev = sub;
	sub->linked = true;
	arm(ctx);
	nudge = until < F.next_wake;
	pthread_mutex_unlock(&F.lock);
	if (nudge) /* the thread sleeps past this deadline: let it know */
		poke();
	return true;
}

/* ---- the thread ---- */

static int64_t head_now(void)
{
	int64_t h;

	pthread_mutex_lock(&F.lock);
	h = F.head;
	pthread_mutex_unlock(&F.lock);
	return h;
}

/* Set by poke(), cleared by the thread before it reads the
 * store: while set, the thread is bound to read again, and another commit
 * need not write to the pipe. */
static atomic_bool poked;

static void poke(void)
{
	char c = 1;

	if (!atomic_exchange(&poked, true) && F.pipe[1] >= 0 && write(F.pipe[1], &c, 1) < 0 &&
	    errno != EAGAIN)
		log_msgf("warn", "feed: cannot wake the feed thread");
}

/* A commit of this process appended events memory lacks: look now. */
static void feed_committed(void)
{
	atomic_fetch_add(&own_commits, 1);
	poke();
}

void feed_commit_done(struct store *s)
{
	size_t n;
	const struct history_entry *own = store_own_events(s, &n);
	bool taken = take_own(own, n);

	if (store_take_appended(s) && !taken)
		feed_committed(); /* followers of the feed look now */
}

/* Wakes waiters whose time is up; returns the next deadline. */
static int64_t expire(int64_t now)
{
	struct feed_sub *w, *next;
	int64_t soonest = now + SAFETY_POLL_MS;

	pthread_mutex_lock(&F.lock);
	for (w = F.waiters.next; w != &F.waiters; w = next) {
		next = w->next;
		if (w->until <= now)
			wake_sub(w);
		else if (w->until < soonest)
			soonest = w->until;
	}
	F.next_wake = soonest;
	pthread_mutex_unlock(&F.lock);
	return soonest;
}

static void purge(void)
{
	struct timespec now;
	int64_t purged = 0, before;

	clock_gettime(CLOCK_REALTIME, &now);
	before = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - F.retention_ms;
	if (store_feed_purge(F.store, before, &purged)) {
		log_msgf("warn", "feed: could not purge events past the retention window");
		return;
	}
	if (purged) {
		pthread_mutex_lock(&F.lock);
		if (purged > F.purged)
			F.purged = purged;
		pthread_mutex_unlock(&F.lock);
	}
}

static void *follow(void *arg)
{
	int64_t next_purge = 0, purge_every = F.retention_ms / 4;
	bool failing = false, found = false;

	(void)arg;
	if (purge_every > 60000)
		purge_every = 60000;
	if (purge_every < 500)
		purge_every = 500;
	for (;;) {
		struct pollfd p[2] = { { F.pipe[0], POLLIN, 0 }, { -1, POLLIN, 0 } };
		int64_t now = mono_ms(), soonest = expire(now);
		char drain[256];
		bool stop;

		pthread_mutex_lock(&F.lock);
		stop = F.stopping;
		pthread_mutex_unlock(&F.lock);
		if (stop)
			break;
		if (soonest > next_purge && next_purge)
			soonest = next_purge;
		if (found) /* more may be committing: let them gather */
			usleep(GATHER_US);
		p[1].fd = store_listen(F.store);
		poll(p, p[1].fd >= 0 ? 2 : 1, (int)(soonest > now ? soonest - now : 0));
		if (p[0].revents & POLLIN)
			while (read(F.pipe[0], drain, sizeof(drain)) > 0)
				;
		atomic_store(&poked, false);
		do {
			int64_t head = head_now();
			int rc = sync_from(F.store);

			if (rc && !failing)
				log_msgf("warn", "feed: cannot read the store (retrying every second)");
			failing = rc != 0;
			found = !rc && head_now() != head;
		} while (!failing && store_notified(F.store));
		now = mono_ms();
		if (now >= next_purge) {
			if (next_purge)
				purge();
			next_purge = now + purge_every;
		}
	}
	return NULL;
}

int feed_start(const char *db, int64_t retention)
{
	char err[256];
	int64_t last = 0, purged = 0;
	int i;

	F.waiters.next = F.waiters.prev = &F.waiters;
	F.stopping = false;
	F.retention_ms = retention * 1000;
	if (store_open(db, &F.store, err, sizeof(err))) {
		log_msgf("error", "feed: cannot open store: %s", err);
		return -1;
	}
	if (store_feed_head(F.store, &last, &purged)) {
		log_msgf("error", "feed: cannot read the change feed's head");
		goto fail;
	}
	F.base = F.head = last;
	F.purged = purged;
	if (pipe(F.pipe)) {
		log_msgf("error", "feed: pipe: %s", strerror(errno));
		goto fail;
	}
	for (i = 0; i < 2; i++)
		fcntl(F.pipe[i], F_SETFL, fcntl(F.pipe[i], F_GETFL) | O_NONBLOCK);
	F.next_wake = mono_ms();
	if (pthread_create(&F.thread, NULL, follow, NULL)) {
		log_msgf("error", "feed: cannot start its thread");
		goto fail;
	}
	pthread_setname_np(F.thread, "cmsd-feed"); /* seen in top -H, perf */
	F.started = true;
	return 0;
fail:
	feed_release();
	return -1;
}

bool feed_stopping(void)
{
	bool stop;

	pthread_mutex_lock(&F.lock);
	stop = F.stopping;
	pthread_mutex_unlock(&F.lock);
	return stop;
}

void feed_stop(void)
{
	pthread_mutex_lock(&F.lock);
	F.stopping = true;
	while (F.waiters.next && F.waiters.next != &F.waiters)
		wake_sub(F.waiters.next);
	pthread_mutex_unlock(&F.lock);
	if (F.started) {
		poke();
		pthread_join(F.thread, NULL);
		F.started = false;
	}
}

void feed_release(void)
{
	int i;

	feed_stop();
	pthread_mutex_lock(&F.lock);
	while (F.n)
		ring_drop_oldest();
	free(F.ring);
	F.ring = NULL;
	F.cap = F.start = F.bytes = 0;
	pthread_mutex_unlock(&F.lock);
	if (F.store)
		store_close(F.store);
	F.store = NULL;
	for (i = 0; i < 2; i++) {
		if (F.pipe[i] >= 0)
			close(F.pipe[i]);
		F.pipe[i] = -1;
	}
}
