/*
 * metrics.c - GET /metrics in the Prometheus text format (version 0.0.4).
 *
 * Counters are plain atomics in fixed tables sized at compile time: no lock,
 * no allocation on the request path.  A route is counted under its name from
 * the route table (rows that share a name share their series); a request that
 * matched no route is counted under route="none".  Statuses are counted by
 * code from a fixed list, anything else as code="other".
 *
 * No series carries a user, a path or an id: only route names, status codes
 * and kinds of store failure.  /metrics needs no credentials, like /health,
 * and belongs on the internal network with it.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "deadline.h"
#include "store.h"
#include "strbuf.h"
#include "banned.h"

#define MAX_ROUTES 64

static const unsigned codes[] = {
	200, 201, 204, 400, 401, 403, 404, 405, 406, 409,
	412, 413, 414, 415, 429, 431, 500, 503,
};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

/* Upper bounds of the latency buckets, in microseconds (+Inf is implied). */
static const uint64_t bounds_us[] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000,
};
#define NBOUNDS (sizeof(bounds_us) / sizeof(bounds_us[0]))

static const char *const store_kinds[] = { "retry", "unavailable", "error" };
#define NKINDS (sizeof(store_kinds) / sizeof(store_kinds[0]))

/* A latency histogram over bounds_us. */
struct histogram {
	atomic_uint_fast64_t bucket[NBOUNDS + 1]; /* last: +Inf */
	atomic_uint_fast64_t sum_us;
};

/* One series set per route name; slot MAX_ROUTES - 1 is route="none". */
struct series {
	atomic_uint_fast64_t by_code[NCODES + 1]; /* last: "other" */
	struct histogram took;
};

static struct series series[MAX_ROUTES];
static const char *slot_name[MAX_ROUTES];
static size_t nslots;
static atomic_uint_fast64_t store_errors[NKINDS];
static atomic_uint_fast64_t store_reruns;
static atomic_int open_connections;
static atomic_int in_flight;
static time_t started;

/* The slot of route row `i`: the first row with the same name. */
static size_t slot_of_row[MAX_ROUTES];

void metrics_init(const char *const *names, size_t n)
{
	size_t i, j;

	nslots = 0;
	for (i = 0; i < n && i < MAX_ROUTES - 1; i++) {
		const char *name = names[i];

		for (j = 0; j < nslots && strcmp(slot_name[j], name); j++)
			;
		if (j == nslots)
			slot_name[nslots++] = name;
		slot_of_row[i] = j;
	}
	slot_name[MAX_ROUTES - 1] = "none";
	started = time(NULL);
}

static void observe(struct histogram *h, uint64_t us)
{
	size_t b;

	for (b = 0; b < NBOUNDS && us > bounds_us[b]; b++)
		;
	atomic_fetch_add(&h->bucket[b], 1);
	atomic_fetch_add(&h->sum_us, us);
}

void metrics_request(size_t row, unsigned status, uint64_t us)
{
	struct series *s = &series[row < MAX_ROUTES - 1 ? slot_of_row[row] : MAX_ROUTES - 1];
	size_t c;

	for (c = 0; c < NCODES && codes[c] != status; c++)
		;
	atomic_fetch_add(&s->by_code[c], 1);
	observe(&s->took, us);
}

void metrics_store_error(int rc)
{
	int kind = rc == STORE_RETRY ? 0 : rc == STORE_UNAVAILABLE ? 1 : rc == STORE_ERROR ? 2 : -1;

	if (kind >= 0)
		atomic_fetch_add(&store_errors[kind], 1);
}

void metrics_store_rerun(void)
{
	atomic_fetch_add(&store_reruns, 1);
}

/* Groups by size: 1, 2-4, 5-16, 17 and more. */
static const char *const group_sizes[] = { "1", "2-4", "5-16", "17+" };
static atomic_uint_fast64_t groups[4], grouped, group_statements, group_agains;

void metrics_write_group(size_t n)
{
	atomic_fetch_add(&groups[n <= 1 ? 0 : n <= 4 ? 1 : n <= 16 ? 2 : 3], 1);
	atomic_fetch_add(&grouped, n);
}

void metrics_write_group_statements(uint64_t n)
{
	atomic_fetch_add(&group_statements, n);
}

void metrics_write_group_again(void)
{
	atomic_fetch_add(&group_agains, 1);
}

/* Looks: [0] plain, [1] aimed, [2] memo, [3] shared (requests); the
 * statements that took shared ones; and plain ones found stale. */
static const char *const look_kinds[] = { "plain", "aimed", "memo", "shared" };
static atomic_uint_fast64_t looks[4], looks_stale, shared_looks, shared_rows;

void metrics_look(bool aimed)
{
	atomic_fetch_add(&looks[aimed], 1);
}

void metrics_look_memo(void)
{
	atomic_fetch_add(&looks[2], 1);
}

void metrics_look_many(size_t n, bool rows)
{
	atomic_fetch_add(&looks[3], n);
	atomic_fetch_add(&shared_looks, 1);
	if (rows)
		atomic_fetch_add(&shared_rows, n);
}

/* Events the feed took into memory: [0] read back from the store, [1] as
 * this process's writer handed them over. */
static const char *const feed_sources[] = { "read", "writer" };
static atomic_uint_fast64_t feed_events[2];

void metrics_feed_events(size_t n, bool handed)
{
	atomic_fetch_add(&feed_events[handed], n);
}

/* PostgreSQL's notifications of a commit: [0] another process's, [1] this
 * process's own, passed over */
static const char *const notification_from[] = { "other", "own" };
static atomic_uint_fast64_t notifications[2];

void metrics_feed_notification(bool own)
{
	atomic_fetch_add(&notifications[own], 1);
}

void metrics_look_stale(void)
{
	atomic_fetch_add(&looks_stale, 1);
}

void metrics_connection(int delta)
{
	atomic_fetch_add(&open_connections, delta);
}

void metrics_in_flight(int delta)
{
	atomic_fetch_add(&in_flight, delta);
}

/* SQLite checkpoints: [0] by the checkpoint thread, [1] forced on a
 * writer; the writers' wait for them. */
static const char *const checkpoint_by[] = { "thread", "writer" };
static atomic_uint_fast64_t checkpoints[2], checkpoint_frames;
static struct histogram checkpoint_hold[2];

void metrics_checkpoint(bool forced, uint64_t frames, uint64_t held_us)
{
	atomic_fetch_add(&checkpoints[forced], 1);
	atomic_fetch_add(&checkpoint_frames, frames);
	observe(&checkpoint_hold[forced], held_us);
}

/* One family's HELP and TYPE lines. */
static void family(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	strbuf_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A counter family of one series. */
static void counter(struct strbuf *sb, const char *name, const char *help,
		    atomic_uint_fast64_t *v)
{
	family(sb, name, "counter", help);
	strbuf_addf(sb, "%s %llu\n", name, (unsigned long long)atomic_load(v));
}

/* A counter family of n series, v[i] under label="keys[i]". */
static void counters_by(struct strbuf *sb, const char *name, const char *help,
			const char *label, const char *const *keys, atomic_uint_fast64_t *v,
			size_t n)
{
	size_t i;

	family(sb, name, "counter", help);
	for (i = 0; i < n; i++)
		strbuf_addf(sb, "%s{%s=\"%s\"} %llu\n", name, label, keys[i],
			    (unsigned long long)atomic_load(&v[i]));
}

/* The lines of histogram h of family `name`, with labels `labels` ("k=\"v\""). */
static void histogram_series(struct strbuf *sb, const char *name, const char *labels,
			     const struct histogram *h)
{
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i < NBOUNDS + 1; i++) {
		cum += atomic_load(&h->bucket[i]);
		if (i < NBOUNDS)
			strbuf_addf(sb, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels,
				    (double)bounds_us[i] / 1e6, (unsigned long long)cum);
		else
			strbuf_addf(sb, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels,
				    (unsigned long long)cum);
	}
	strbuf_addf(sb, "%s_sum{%s} %.6f\n", name, labels,
		    (double)atomic_load(&h->sum_us) / 1e6);
	strbuf_addf(sb, "%s_count{%s} %llu\n", name, labels, (unsigned long long)cum);
}

static void route_series(struct strbuf *sb, size_t slot)
{
	char labels[128];

	snprintf(labels, sizeof(labels), "route=\"%s\"", slot_name[slot]);
	histogram_series(sb, "cmsd_http_request_duration_seconds", labels, &series[slot].took);
}

static bool route_used(size_t slot)
{
	size_t c;

	for (c = 0; c < NCODES + 1; c++)
		if (atomic_load(&series[slot].by_code[c]))
			return true;
	return false;
}

/* The whole exposition, as a malloc'd string. */
char *metrics_text(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct cache_stats cs;
	struct deadline_counts dc;
	size_t i, c;
	uint64_t n;

	family(&sb, "cmsd_http_requests_total", "counter",
	       "Requests answered, by route and status code.");
	for (i = 0; i < MAX_ROUTES; i++) {
		if (!slot_name[i])
			continue;
		for (c = 0; c < NCODES + 1; c++) {
			n = atomic_load(&series[i].by_code[c]);
			if (!n)
				continue;
			if (c < NCODES)
				strbuf_addf(&sb, "cmsd_http_requests_total{route=\"%s\",code=\"%u\"} %llu\n",
					    slot_name[i], codes[c], (unsigned long long)n);
			else
				strbuf_addf(&sb, "cmsd_http_requests_total{route=\"%s\",code=\"other\"} %llu\n",
					    slot_name[i], (unsigned long long)n);
		}
	}
	family(&sb, "cmsd_http_request_duration_seconds", "histogram",
	       "Time from the first byte of a request to the end of its answer.");
	/* a route appears once it has answered: 30 idle histograms would be
	 * most of the page */
	for (i = 0; i < MAX_ROUTES; i++)
		if (slot_name[i] && route_used(i))
			route_series(&sb, i);
	counters_by(&sb, "cmsd_store_errors_total",
		    "Store calls that failed: retry (busy, serialization, deadlock), unavailable, error.",
		    "kind", store_kinds, store_errors, NKINDS);
	counter(&sb, "cmsd_store_transaction_reruns_total",
		"Request transactions run again after the store asked for a retry.", &store_reruns);
	counters_by(&sb, "cmsd_store_looks_total",
		    "Looks at the store that keep the caches fresh (one statement each): plain "
		    "(the feed's head, the epoch, a lead's version), or aimed at a lead (PostgreSQL: "
		    "its rows too, unless the cache's copy is current); memo: answered without a "
		    "statement, nothing committed since the connection's last look at the lead "
		    "(SQLite: by the WAL index); shared: a look taken with other requests' "
		    "in one statement (PostgreSQL, under load: looker.c).",
		    "look", look_kinds, looks, 4);
	counter(&sb, "cmsd_store_shared_looks_total",
		"Statements that took many requests' looks at once (PostgreSQL); "
		"cmsd_store_looks_total{look=\"shared\"} divided by this is their mean size.",
		&shared_looks);
	counter(&sb, "cmsd_store_shared_row_looks_total",
		"Shared looks that read their lead's rows too (its copy not held, not believed "
		"current, or found stale), in a statement of their own after the plain ones.",
		&shared_rows);
	counter(&sb, "cmsd_store_looks_stale_total",
		"Plain looks at a lead the cache held that found its copy stale (changed by another "
		"node or process lately), each followed by an aimed look.",
		&looks_stale);
	counters_by(&sb, "cmsd_feed_events_total",
		    "Change-feed events this node took into memory: read back from the store, or "
		    "handed over by this process's writer as it committed them (SQLite's mapping "
		    "PUTs), which the feed then has no need to read.",
		    "source", feed_sources, feed_events, 2);
	counters_by(&sb, "cmsd_feed_notifications_total",
		    "PostgreSQL's notifications of a commit that appended change-feed events, as "
		    "this node's feed thread received them: from another node or process, which "
		    "it reads, or from this process's own sessions, which it passes over (the "
		    "committing request already handed the events over or woke it).",
		    "from", notification_from, notifications, 2);
	family(&sb, "cmsd_http_open_connections", "gauge", "Client connections open now.");
	strbuf_addf(&sb, "cmsd_http_open_connections %d\n", atomic_load(&open_connections));
	deadline_counts(&dc);
	family(&sb, "cmsd_http_busy_above_connections", "gauge",
	       "Open connections above which slow and idle ones give way (3/4 of --max-connections).");
	strbuf_addf(&sb, "cmsd_http_busy_above_connections %u\n", dc.high);
	family(&sb, "cmsd_http_connections_cut_total", "counter",
	       "Connections closed without a whole request: late (over --timeout) or busy (to make room).");
	strbuf_addf(&sb, "cmsd_http_connections_cut_total{reason=\"late\"} %llu\n",
		    (unsigned long long)dc.late);
	strbuf_addf(&sb, "cmsd_http_connections_cut_total{reason=\"busy\"} %llu\n",
		    (unsigned long long)dc.busy);
	family(&sb, "cmsd_http_requests_in_flight", "gauge", "Requests being answered now.");
	strbuf_addf(&sb, "cmsd_http_requests_in_flight %d\n", atomic_load(&in_flight));
	counters_by(&sb, "cmsd_write_groups_total",
		    "Transactions of the group writer, by how many mapping PUTs they held.",
		    "size", group_sizes, groups, 4);
	counter(&sb, "cmsd_write_group_requests_total",
		"Mapping PUTs run in the group writer's transactions (reruns included).", &grouped);
	counter(&sb, "cmsd_write_group_statements_total",
		"Store statements the group writer ran (on PostgreSQL, each a round trip).",
		&group_statements);
	counter(&sb, "cmsd_write_group_agains_total",
		"Groups of more than one mapping PUT undone whole and run again, each PUT alone: a "
		"statement of the group failed.",
		&group_agains);
	counters_by(&sb, "cmsd_sqlite_checkpoints_total",
		    "Checkpoints of the SQLite store's WAL: by the checkpoint thread, or forced on a "
		    "committing writer when the WAL outgrew the thread.",
		    "by", checkpoint_by, checkpoints, 2);
	counter(&sb, "cmsd_sqlite_checkpoint_frames_total",
		"WAL frames (a page each) that the SQLite store's checkpoints carried into the "
		"database; a page written in several frames is copied once.",
		&checkpoint_frames);
	family(&sb, "cmsd_sqlite_checkpoint_writers_held_seconds", "histogram",
	       "How long each checkpoint held this process's writers (mapping PUTs wait "
	       "meanwhile): the thread's last pass, or a forced checkpoint whole.");
	for (i = 0; i < 2; i++) {
		char labels[32];

		snprintf(labels, sizeof(labels), "by=\"%s\"", checkpoint_by[i]);
		histogram_series(&sb, "cmsd_sqlite_checkpoint_writers_held_seconds", labels,
				 &checkpoint_hold[i]);
	}
	cache_stats(&cs);
	family(&sb, "cmsd_cache_lookups_total", "counter",
	       "Lookups in the cache of tokens, scopes and mappings, by result.");
	strbuf_addf(&sb, "cmsd_cache_lookups_total{result=\"hit\"} %llu\n",
		    (unsigned long long)cs.hits);
	strbuf_addf(&sb, "cmsd_cache_lookups_total{result=\"miss\"} %llu\n",
		    (unsigned long long)cs.misses);
	family(&sb, "cmsd_cache_evictions_total", "counter",
	       "Entries dropped from the cache to stay within --cache-size.");
	strbuf_addf(&sb, "cmsd_cache_evictions_total %llu\n", (unsigned long long)cs.evictions);
	family(&sb, "cmsd_cache_bytes", "gauge", "Bytes the cache holds now (--cache-size caps it).");
	strbuf_addf(&sb, "cmsd_cache_bytes %zu\n", cs.bytes);
	family(&sb, "cmsd_cache_entries", "gauge", "Entries the cache holds now.");
	strbuf_addf(&sb, "cmsd_cache_entries %zu\n", cs.entries);
	family(&sb, "cmsd_start_time_seconds", "gauge", "When this cmsd started, in Unix time.");
	strbuf_addf(&sb, "cmsd_start_time_seconds %lld\n", (long long)started);
	return strbuf_detach(&sb);
}
