/*
 * test_store.c - the store contract (src/store.h), one suite run on every
 * backend: "store" on a SQLite file in a fresh temporary directory, and
 * "store_pg" on PostgreSQL when CMSD_TEST_PG holds a base URI
 * (postgresql://USER@HOST:PORT, no database; tests/pgserver start prints
 * one).  Without it the PostgreSQL run prints one SKIP line.
 *
 * Only the public interface is used.  Each test gets a database of its own
 * (a new file; a new PostgreSQL database, dropped afterwards), migrated, with
 * a write transaction open.  store.h says that a failed call leaves the
 * transaction fit only for store_rollback(), so every call whose result is
 * not STORE_OK is followed by a rollback and a new BEGIN (EXPECT): a test
 * commits its setup with keep() before it provokes failures.
 *
 * The store calls go through SC(), S0() and ST() below: the functions of
 * store.h that take the caller's contact center (an `int64_t cc` after the
 * store) through SC() (fx.cc, the contact center each test works in, 0 until
 * it says) or S0() (the system administrator's scope).
 */
#include <jansson.h>
#include <libpq-fe.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "store.h"
#include "strbuf.h"
#include "unit.h"

void suite_store(void);

/* ---- the backend under test ---- */

struct backend {
	const char *suite;
	/* A fresh, empty database: its URL into url[n]; 0 on success. */
	int (*fresh)(char *url, size_t n);
	/* Removes the database fresh() made last (its connections closed). */
	void (*discard)(void);
	/* A URL of this backend that cannot be opened. */
	void (*bad_url)(char *url, size_t n);
};

static const struct backend *be;
static char *sq_dir;       /* SQLite: the run's temporary directory */
static const char *pg_base; /* PostgreSQL: CMSD_TEST_PG */
static char pg_db[64];     /* the database of the current test, or "" */
static int serial;         /* numbers the databases of one run */

static int sq_fresh(char *url, size_t n)
{
	if (!sq_dir)
		return -1;
	snprintf(url, n, "sqlite:%s/t%d.db", sq_dir, ++serial);
	return 0;
}

static void sq_discard(void)
{
}

static void sq_bad_url(char *url, size_t n)
{
	snprintf(url, n, "sqlite:%s/no/such/dir/x.db", sq_dir);
}

static void pg_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Runs `sql` on the server's maintenance database; 0 on success. */
static int pg_admin(const char *sql)
{
	char url[512];
	PGconn *c;
	PGresult *r;
	int rc = -1;

	snprintf(url, sizeof(url), "%s/postgres", pg_base);
	c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "  cannot connect to %s: %s", url, PQerrorMessage(c));
		goto out;
	}
	PQsetNoticeProcessor(c, pg_quiet, NULL);
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK)
		rc = 0;
	else
		fprintf(stderr, "  %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
out:
	PQfinish(c);
	return rc;
}

static int pg_fresh(char *url, size_t n)
{
	char sql[128];

	snprintf(pg_db, sizeof(pg_db), "cmsd_unit_%ld_%d", (long)getpid(), ++serial);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", pg_db);
	if (pg_admin(sql)) {
		pg_db[0] = '\0';
		return -1;
	}
	snprintf(url, n, "%s/%s", pg_base, pg_db);
	return 0;
}

static void pg_discard(void)
{
	char sql[128];

	if (!pg_db[0])
		return;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", pg_db);
	CHECK(pg_admin(sql) == 0);
	pg_db[0] = '\0';
}

static void pg_bad_url(char *url, size_t n)
{
	snprintf(url, n, "%s/cmsd_unit_no_such_database", pg_base);
}

static const struct backend sqlite_be = { "store", sq_fresh, sq_discard, sq_bad_url };
static const struct backend pg_be = { "store_pg", pg_fresh, pg_discard, pg_bad_url };

/* ---- the fixture ---- */

static struct {
	struct store *s; /* the test's connection */
	int64_t cc;      /* the contact center the test works in */
	char url[512];
} fx;

#define ST(fn, ...) store_##fn(fx.s, __VA_ARGS__)
/* store functions that take the caller's contact center (defence in depth):
 * SC() in the test's contact center fx.cc, S0() as the system
 * administrator (0: any), which is how the builders below set up */
#define SC(fn, ...) store_##fn(fx.s, fx.cc, __VA_ARGS__)
#define S0(fn, ...) store_##fn(fx.s, 0, __VA_ARGS__)

static const char *rc_name(int rc)
{
	static const char *const names[] = {
		"OK", "NOT_FOUND", "EXISTS", "IN_USE", "RETRY", "UNAVAILABLE", "ERROR",
	};

	return rc >= 0 && rc <= STORE_ERROR ? names[rc] : "(not a store_rc)";
}

/* Opens `url` and migrates it, keeping the store's log lines out of the
 * test output (they are shown when it fails); NULL on failure. */
static struct store *open_quietly(const char *url)
{
	struct capture cap;
	struct store *s = NULL;
	char err[256] = "", *said;
	int rc;

	capture_begin(&cap, 2);
	rc = store_open(url, &s, err, sizeof(err));
	if (rc == 0 && store_migrate(s) != STORE_OK) {
		snprintf(err, sizeof(err), "store_migrate failed");
		rc = -1;
	}
	said = capture_end(&cap);
	if (rc) {
		fprintf(stderr, "  %s: %s\n%s", url, err, said ? said : "");
		store_close(s);
		s = NULL;
	}
	free(said);
	return s;
}

/* A fresh database, migrated, with a write transaction open; false (a
 * failed check) when that cannot be. */
static bool fx_open(void)
{
	memset(&fx, 0, sizeof(fx));
	if (be->fresh(fx.url, sizeof(fx.url))) {
		CHECK(!"a fresh database");
		return false;
	}
	fx.s = open_quietly(fx.url);
	CHECK(fx.s != NULL);
	if (!fx.s) {
		be->discard();
		return false;
	}
	CHECK(store_begin(fx.s, true) == STORE_OK);
	return true;
}

static void fx_close(void)
{
	store_rollback(fx.s);
	store_close(fx.s);
	fx.s = NULL;
	be->discard();
}

/* Commits what the test did so far and opens the next write transaction. */
static void keep(void)
{
	CHECK(store_commit(fx.s) == STORE_OK);
	CHECK(store_begin(fx.s, true) == STORE_OK);
}

/* Checks that rc is want; any result but OK rolls the transaction back to
 * the last keep() and opens a new one, as store.h asks. */
static void expect_rc(int rc, int want, const char *what, int line)
{
	if (rc != want) {
		fprintf(stderr, "  %s:%d: %s = %s, want %s\n", __FILE__, line, what,
			rc_name(rc), rc_name(want));
		unit_failed_checks++;
	}
	if (rc != STORE_OK) {
		store_rollback(fx.s);
		CHECK(store_begin(fx.s, true) == STORE_OK);
	}
}

#define EXPECT(call, want) expect_rc((call), (want), #call, __LINE__)

/* ---- making objects (each checked) ---- */

static int64_t make_cc(const char *name)
{
	struct cc c = { 0, "" };

	EXPECT(ST(cc_create, name, &c), STORE_OK);
	CHECK(c.id > 0 && !strcmp(c.name, name));
	return c.id;
}

/* A user of contact center cc (0: the system administrator); its pk. */
static int64_t make_user(int64_t cc, const char *user_id, const char *role)
{
	struct user u;

	memset(&u, 0, sizeof(u));
	u.cc_id = cc;
	snprintf(u.user_id, sizeof(u.user_id), "%s", user_id);
	snprintf(u.name, sizeof(u.name), "Name of %s", user_id);
	snprintf(u.role, sizeof(u.role), "%s", role);
	EXPECT(ST(user_create, &u), STORE_OK);
	CHECK(u.pk > 0);
	return u.pk;
}

static int64_t make_process(int64_t cc, const char *name)
{
	struct process p = { 0, 0, "" };

	EXPECT(ST(process_create, cc, name, &p), STORE_OK);
	CHECK(p.id > 0 && p.cc_id == cc && !strcmp(p.name, name));
	return p.id;
}

static int64_t make_lead(int64_t process, const char *name)
{
	struct proc_child c = { 0, 0, "" };

	EXPECT(S0(lead_create, process, name, &c), STORE_OK);
	CHECK(c.id > 0 && c.process_id == process && !strcmp(c.name, name));
	return c.id;
}

static int64_t make_campaign(int64_t process, const char *name)
{
	struct proc_child c = { 0, 0, "" };

	EXPECT(S0(campaign_create, process, name, &c), STORE_OK);
	CHECK(c.id > 0 && c.process_id == process && !strcmp(c.name, name));
	return c.id;
}

/* Enrols user row pk in the campaign; the campaignUserId. */
static int64_t enrol(int64_t campaign, int64_t pk)
{
	struct campaign_user cu = { 0, 0, "" };

	EXPECT(S0(campaign_user_add, campaign, pk, &cu), STORE_OK);
	CHECK(cu.id > 0 && cu.campaign_id == campaign);
	return cu.id;
}

static int64_t attach(int64_t campaign, int64_t lead, int64_t priority)
{
	struct campaign_lead cl;

	memset(&cl, 0, sizeof(cl));
	EXPECT(S0(campaign_lead_add, campaign, lead, priority, true, &cl), STORE_OK);
	CHECK(cl.id > 0 && cl.campaign_id == campaign && cl.lead_id == lead);
	return cl.id;
}

/* Maps (or unmaps) the campaign users ids[0..n) on campaign lead cl; the
 * number it changed. */
static size_t map(int64_t cl, bool mapped, size_t n, const int64_t *ids)
{
	size_t changed = 99;

	EXPECT(S0(mapping_set, cl, ids, n, mapped, NULL, &changed), STORE_OK);
	return changed;
}

/* A contact center "cc-TAG" with a process, a lead and a campaign in it. */
struct tree {
	int64_t cc, process, lead, campaign;
};

static struct tree make_tree(const char *tag)
{
	struct tree t;
	char name[64];

	snprintf(name, sizeof(name), "cc-%s", tag);
	t.cc = make_cc(name);
	t.process = make_process(t.cc, "process");
	t.lead = make_lead(t.process, "lead");
	t.campaign = make_campaign(t.process, "campaign");
	fx.cc = t.cc;
	return t;
}

/* ---- reading lists ---- */

#define SEEN_MAX 16

/* The rows a list gave: an id, a parent id and a text per row. */
struct seen {
	size_t n;
	size_t stop_at; /* non-zero: the callback stops after this many rows */
	int64_t id[SEEN_MAX], parent[SEEN_MAX];
	char text[SEEN_MAX][CMS_NAME_MAX + 1];
	bool flag[SEEN_MAX];
};

static int seen_add(struct seen *w, int64_t id, int64_t parent, const char *text, bool flag)
{
	if (w->n < SEEN_MAX) {
		w->id[w->n] = id;
		w->parent[w->n] = parent;
		snprintf(w->text[w->n], sizeof(w->text[0]), "%s", text);
		w->flag[w->n] = flag;
	}
	w->n++;
	return w->stop_at && w->n >= w->stop_at;
}

static int see_cc(void *ctx, const void *row)
{
	const struct cc *r = row;

	return seen_add(ctx, r->id, 0, r->name, false);
}

/* flag: the row came with a password hash, which lists never give */
static int see_user(void *ctx, const void *row)
{
	const struct user *r = row;

	return seen_add(ctx, r->pk, r->cc_id, r->user_id, r->pw_hash[0] != '\0');
}

static int see_process(void *ctx, const void *row)
{
	const struct process *r = row;

	return seen_add(ctx, r->id, r->cc_id, r->name, false);
}

static int see_child(void *ctx, const void *row)
{
	const struct proc_child *r = row;

	return seen_add(ctx, r->id, r->process_id, r->name, false);
}

static int see_campaign_user(void *ctx, const void *row)
{
	const struct campaign_user *r = row;

	return seen_add(ctx, r->id, r->campaign_id, r->user_id, false);
}

/* text: the priority; flag: enabled */
static int see_campaign_lead(void *ctx, const void *row)
{
	const struct campaign_lead *r = row;
	char prio[32];

	snprintf(prio, sizeof(prio), "%" PRId64 "/%" PRId64, r->lead_id, r->priority);
	return seen_add(ctx, r->id, r->campaign_id, prio, r->enabled);
}

static int see_mapping_user(void *ctx, const void *row)
{
	const struct mapping_user *r = row;

	return seen_add(ctx, r->campaign_user_id, 0, r->user_id, r->mapped);
}

/* Whether the list gave exactly the ids v[0..n), in that order. */
static bool ids_are(const struct seen *w, size_t n, const int64_t *v)
{
	size_t i;

	if (w->n != n)
		return false;
	for (i = 0; i < n; i++)
		if (w->id[i] != v[i])
			return false;
	return true;
}

#define IDS(...) (sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), ((int64_t[]){ __VA_ARGS__ })

/* ---- lifecycle and transactions ---- */

static void open_and_migrate(void)
{
	struct store *s = NULL, *again;
	struct capture cap;
	char url[512], err[256];
	int rc;

	if (!fx_open())
		return;
	EXPECT(store_ping(fx.s), STORE_OK);
	store_rollback(fx.s);

	/* a second connection to the migrated database migrates nothing */
	again = open_quietly(fx.url);
	CHECK(again != NULL);
	if (again)
		CHECK(store_ping(again) == STORE_OK);
	store_close(again);

	CHECK(store_open("mysql://localhost/x", &s, err, sizeof(err)) != 0);
	CHECK(s == NULL && strstr(err, "unsupported database URL") != NULL);
	CHECK(store_open(NULL, &s, err, sizeof(err)) != 0 && s == NULL);
	CHECK(store_open("sqlite", &s, NULL, 0) != 0 && s == NULL);
	/* a backend's own failure says why, and no log line escapes */
	be->bad_url(url, sizeof(url));
	err[0] = '\0';
	capture_begin(&cap, 2);
	rc = store_open(url, &s, err, sizeof(err));
	free(capture_end(&cap));
	CHECK(rc != 0 && s == NULL && err[0] != '\0');
	store_close(s);
	store_close(NULL);
	CHECK(store_begin(fx.s, true) == STORE_OK);
	fx_close();
}

/* What a transaction wrote is seen by another connection after its commit,
 * never before, and never after its rollback. */
static void transactions(void)
{
	struct store *other;
	struct cc c;
	int64_t kept, pending, gone, total = -1;
	struct seen w = { 0 };

	if (!fx_open())
		return;
	kept = make_cc("kept");
	CHECK(store_commit(fx.s) == STORE_OK);
	other = open_quietly(fx.url);
	CHECK(other != NULL);
	if (!other) {
		fx_close();
		return;
	}
	CHECK(store_cc_get(other, kept, &c) == STORE_OK && !strcmp(c.name, "kept"));

	CHECK(store_begin(fx.s, true) == STORE_OK);
	pending = make_cc("pending");
	CHECK(store_cc_get(other, pending, &c) == STORE_NOT_FOUND);
	store_rollback(fx.s);
	CHECK(store_cc_get(other, pending, &c) == STORE_NOT_FOUND);

	/* rolled back inside one connection too */
	CHECK(store_begin(fx.s, true) == STORE_OK);
	gone = make_cc("gone");
	EXPECT(ST(cc_get, gone, &c), STORE_OK);
	store_rollback(fx.s);
	CHECK(store_begin(fx.s, false) == STORE_OK);
	EXPECT(ST(cc_get, gone, &c), STORE_NOT_FOUND);
	EXPECT(ST(cc_list, 0, NULL, see_cc, &w, &total), STORE_OK);
	CHECK(total == 1 && ids_are(&w, IDS(kept)));
	CHECK(store_commit(fx.s) == STORE_OK);

	/* a read transaction of another connection sees committed writes */
	CHECK(store_begin(other, false) == STORE_OK);
	CHECK(store_cc_get(other, kept, &c) == STORE_OK);
	CHECK(store_commit(other) == STORE_OK);
	store_close(other);
	fx_close();
}

/* ---- contact centers ---- */

static void contact_centers(void)
{
	struct page pg = { 2, 1 };
	struct seen w = { 0 };
	struct cc c;
	int64_t id[5], total = -1, proc;
	int i;

	if (!fx_open())
		return;
	for (i = 0; i < 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "cc%d", i);
		id[i] = make_cc(name);
		CHECK(i == 0 || id[i] > id[i - 1]);
	}
	keep();
	EXPECT(ST(cc_get, id[3], &c), STORE_OK);
	CHECK(c.id == id[3] && !strcmp(c.name, "cc3"));
	EXPECT(ST(cc_get, id[4] + 100, &c), STORE_NOT_FOUND);
	EXPECT(ST(cc_create, "cc2", &c), STORE_EXISTS);

	EXPECT(ST(cc_list, 0, &pg, see_cc, &w, &total), STORE_OK);
	CHECK(total == 5 && ids_are(&w, IDS(id[1], id[2])) && !strcmp(w.text[1], "cc2"));
	memset(&w, 0, sizeof(w));
	pg.offset = 4;
	EXPECT(ST(cc_list, 0, &pg, see_cc, &w, NULL), STORE_OK);
	CHECK(ids_are(&w, IDS(id[4])));
	memset(&w, 0, sizeof(w));
	pg.offset = 5;
	EXPECT(ST(cc_list, 0, &pg, see_cc, &w, &total), STORE_OK);
	CHECK(total == 5 && w.n == 0);
	memset(&w, 0, sizeof(w));
	EXPECT(ST(cc_list, id[2], NULL, see_cc, &w, &total), STORE_OK);
	CHECK(total == 1 && ids_are(&w, IDS(id[2])));

	/* refused while it has users or processes */
	make_user(id[0], "alice", "Agent");
	proc = make_process(id[1], "p");
	keep();
	EXPECT(ST(cc_delete, id[0]), STORE_IN_USE);
	EXPECT(ST(cc_delete, id[1]), STORE_IN_USE);
	EXPECT(ST(user_delete, id[0], "alice"), STORE_OK);
	EXPECT(ST(cc_delete, id[0]), STORE_OK);
	EXPECT(ST(process_delete, id[1], proc), STORE_OK);
	EXPECT(ST(cc_delete, id[1]), STORE_OK);
	keep();
	EXPECT(ST(cc_delete, id[1]), STORE_NOT_FOUND);
	EXPECT(ST(cc_get, id[0], &c), STORE_NOT_FOUND);
	memset(&w, 0, sizeof(w));
	EXPECT(ST(cc_list, 0, NULL, see_cc, &w, &total), STORE_OK);
	CHECK(total == 3 && ids_are(&w, IDS(id[2], id[3], id[4])));
	fx_close();
}

/* Ids are never reused, not even those of deleted rows. */
static void ids_never_reused(void)
{
	int64_t a, b;

	if (!fx_open())
		return;
	a = make_cc("a");
	EXPECT(ST(cc_delete, a), STORE_OK);
	keep();
	b = make_cc("a");
	CHECK(b > a);
	fx_close();
}

/* A callback that stops a list makes it fail; so does each kind of list. */
static void list_callback_stops(void)
{
	struct seen w = { 0 };
	int64_t total = 0;

	if (!fx_open())
		return;
	make_cc("a");
	make_cc("b");
	make_cc("c");
	keep();
	w.stop_at = 2;
	EXPECT(ST(cc_list, 0, NULL, see_cc, &w, &total), STORE_ERROR);
	CHECK(w.n == 2);
	fx_close();
}

/* ---- users ---- */

static void users(void)
{
	struct tree t, o;
	struct user u;
	struct seen w = { 0 };
	struct page pg = { 1, 1 };
	int64_t admin, a, b, c, total = -1;

	if (!fx_open())
		return;
	t = make_tree("t");
	o = make_tree("o");
	admin = make_user(0, "root", "System");
	a = make_user(t.cc, "alice", "Agent");
	b = make_user(t.cc, "bob", "Supervisor");
	c = make_user(o.cc, "carol", "Administrator");
	keep();

	/* a userId is taken across contact centers; the cc must exist */
	memset(&u, 0, sizeof(u));
	u.cc_id = o.cc;
	snprintf(u.user_id, sizeof(u.user_id), "alice");
	snprintf(u.name, sizeof(u.name), "Another Alice");
	snprintf(u.role, sizeof(u.role), "Agent");
	EXPECT(ST(user_create, &u), STORE_EXISTS);
	u.cc_id = o.cc + 100;
	snprintf(u.user_id, sizeof(u.user_id), "dave");
	EXPECT(ST(user_create, &u), STORE_NOT_FOUND);

	EXPECT(ST(user_get, t.cc, "alice", &u), STORE_OK);
	CHECK(u.pk == a && u.cc_id == t.cc && !strcmp(u.user_id, "alice"));
	CHECK(!strcmp(u.name, "Name of alice") && !strcmp(u.role, "Agent") && u.pw_hash[0] == '\0');
	EXPECT(ST(user_get, 0, "carol", &u), STORE_OK);
	CHECK(u.pk == c && u.cc_id == o.cc);
	EXPECT(ST(user_get, 0, "root", &u), STORE_OK);
	CHECK(u.pk == admin && u.cc_id == 0 && !strcmp(u.role, "System"));
	EXPECT(ST(user_get, o.cc, "alice", &u), STORE_NOT_FOUND);
	EXPECT(ST(user_get, t.cc, "root", &u), STORE_NOT_FOUND);
	EXPECT(ST(user_get, 0, "nobody", &u), STORE_NOT_FOUND);

	/* lists: by pk, never with a password hash; cc 0 lists everyone */
	EXPECT(ST(user_update, t.cc, "bob", NULL, NULL, "$argon2id$hash"), STORE_OK);
	keep();
	EXPECT(ST(user_list, t.cc, NULL, see_user, &w, &total), STORE_OK);
	CHECK(total == 2 && ids_are(&w, IDS(a, b)) && !strcmp(w.text[1], "bob"));
	CHECK(w.parent[0] == t.cc && !w.flag[0] && !w.flag[1]);
	memset(&w, 0, sizeof(w));
	EXPECT(ST(user_list, t.cc, &pg, see_user, &w, &total), STORE_OK);
	CHECK(total == 2 && ids_are(&w, IDS(b)));
	memset(&w, 0, sizeof(w));
	EXPECT(ST(user_list, 0, NULL, see_user, &w, &total), STORE_OK);
	CHECK(total == 4 && ids_are(&w, IDS(admin, a, b, c)) && w.parent[0] == 0);

	/* updates: each field alone; NULL leaves it; wrong cc is NOT_FOUND */
	EXPECT(ST(user_get, t.cc, "bob", &u), STORE_OK);
	CHECK(!strcmp(u.pw_hash, "$argon2id$hash"));
	EXPECT(ST(user_update, t.cc, "bob", "Robert", NULL, NULL), STORE_OK);
	EXPECT(ST(user_get, t.cc, "bob", &u), STORE_OK);
	CHECK(!strcmp(u.name, "Robert") && !strcmp(u.role, "Supervisor"));
	CHECK(!strcmp(u.pw_hash, "$argon2id$hash"));
	EXPECT(ST(user_update, 0, "bob", NULL, "Agent", NULL), STORE_OK);
	EXPECT(ST(user_get, t.cc, "bob", &u), STORE_OK);
	CHECK(!strcmp(u.name, "Robert") && !strcmp(u.role, "Agent"));
	EXPECT(ST(user_update, t.cc, "bob", NULL, NULL, ""), STORE_OK);
	EXPECT(ST(user_get, t.cc, "bob", &u), STORE_OK);
	CHECK(u.pw_hash[0] == '\0');
	keep();
	EXPECT(ST(user_update, o.cc, "bob", "X", NULL, NULL), STORE_NOT_FOUND);
	EXPECT(ST(user_update, 0, "nobody", "X", NULL, NULL), STORE_NOT_FOUND);
	EXPECT(ST(user_get, t.cc, "bob", &u), STORE_OK);
	CHECK(!strcmp(u.name, "Robert"));

	/* deletes */
	EXPECT(ST(user_delete, o.cc, "alice"), STORE_NOT_FOUND);
	EXPECT(ST(user_delete, t.cc, "nobody"), STORE_NOT_FOUND);
	EXPECT(ST(user_delete, t.cc, "alice"), STORE_OK);
	EXPECT(ST(user_delete, 0, "carol"), STORE_OK);
	keep();
	EXPECT(ST(user_get, 0, "alice", &u), STORE_NOT_FOUND);
	memset(&w, 0, sizeof(w));
	EXPECT(ST(user_list, 0, NULL, see_user, &w, &total), STORE_OK);
	CHECK(total == 2 && ids_are(&w, IDS(admin, b)));
	fx_close();
}

static void users_resolve(void)
{
	struct tree t, o;
	const char *ids[] = { "bob", "nobody", "alice", NULL, "carol", "bob" };
	int64_t pks[6] = { -1, -1, -1, -1, -1, -1 }, a, b, c;

	if (!fx_open())
		return;
	t = make_tree("t");
	o = make_tree("o");
	a = make_user(t.cc, "alice", "Agent");
	b = make_user(t.cc, "bob", "Agent");
	c = make_user(o.cc, "carol", "Agent");
	keep();
	EXPECT(ST(users_resolve, t.cc, ids, 6, pks), STORE_OK);
	CHECK(pks[0] == b && pks[1] == 0 && pks[2] == a && pks[3] == 0 && pks[4] == 0 && pks[5] == b);
	EXPECT(ST(users_resolve, 0, ids, 6, pks), STORE_OK);
	CHECK(pks[0] == b && pks[1] == 0 && pks[2] == a && pks[3] == 0 && pks[4] == c);
	EXPECT(ST(users_resolve, t.cc, ids, 0, pks), STORE_OK);
	fx_close();
}

/* ---- processes, leads and campaigns ---- */

static void processes(void)
{
	struct tree t, o;
	struct process p;
	struct seen w = { 0 };
	struct page pg = { 1, 2 };
	int64_t p2, p3, total = -1, l, c;

	if (!fx_open())
		return;
	t = make_tree("t");
	o = make_tree("o");
	p2 = make_process(t.cc, "second");
	p3 = make_process(t.cc, "third");
	make_process(o.cc, "second"); /* a name is unique per contact center */
	keep();
	EXPECT(ST(process_create, t.cc, "second", &p), STORE_EXISTS);
	EXPECT(ST(process_create, o.cc + 100, "new", &p), STORE_NOT_FOUND);

	EXPECT(ST(process_get, t.cc, p2, &p), STORE_OK);
	CHECK(p.id == p2 && p.cc_id == t.cc && !strcmp(p.name, "second"));
	EXPECT(ST(process_get, 0, p2, &p), STORE_OK);
	EXPECT(ST(process_get, o.cc, p2, &p), STORE_NOT_FOUND);
	EXPECT(ST(process_get, t.cc, p3 + 100, &p), STORE_NOT_FOUND);

	EXPECT(ST(process_list, t.cc, NULL, see_process, &w, &total), STORE_OK);
	CHECK(total == 3 && ids_are(&w, IDS(t.process, p2, p3)) && w.parent[2] == t.cc);
	CHECK(!strcmp(w.text[2], "third"));
	memset(&w, 0, sizeof(w));
	EXPECT(ST(process_list, t.cc, &pg, see_process, &w, &total), STORE_OK);
	CHECK(total == 3 && ids_are(&w, IDS(p3)));
	memset(&w, 0, sizeof(w));
	EXPECT(ST(process_list, o.cc + 100, NULL, see_process, &w, &total), STORE_OK);
	CHECK(total == 0 && w.n == 0);

	/* refused while it has a lead, or a campaign */
	l = make_lead(p2, "l");
	c = make_campaign(p3, "c");
	keep();
	EXPECT(ST(process_delete, t.cc, p2), STORE_IN_USE);
	EXPECT(ST(process_delete, t.cc, p3), STORE_IN_USE);
	EXPECT(ST(process_delete, o.cc, t.process), STORE_NOT_FOUND);
	EXPECT(ST(process_delete, t.cc, p3 + 100), STORE_NOT_FOUND);
	EXPECT(S0(lead_delete, p2, l), STORE_OK);
	EXPECT(S0(campaign_delete, p3, c), STORE_OK);
	EXPECT(ST(process_delete, t.cc, p2), STORE_OK);
	EXPECT(ST(process_delete, 0, p3), STORE_OK);
	keep();
	EXPECT(ST(process_get, 0, p2, &p), STORE_NOT_FOUND);
	memset(&w, 0, sizeof(w));
	EXPECT(ST(process_list, t.cc, NULL, see_process, &w, &total), STORE_OK);
	CHECK(total == 1 && ids_are(&w, IDS(t.process)));
	fx_close();
}

/* Leads and campaigns hang below a process alike: one test for both. */
struct child_ops {
	const char *what;
	/* each takes the contact center, then the process */
	int (*create)(struct store *, int64_t, int64_t, const char *, struct proc_child *);
	int (*get)(struct store *, int64_t, int64_t, int64_t, struct proc_child *);
	int (*list)(struct store *, int64_t, int64_t, const struct page *, store_row_fn, void *,
		    int64_t *);
	int (*del)(struct store *, int64_t, int64_t, int64_t);
};

static const struct child_ops child_kinds[] = {
	{ "lead", store_lead_create, store_lead_get, store_lead_list, store_lead_delete },
	{ "campaign", store_campaign_create, store_campaign_get, store_campaign_list,
	  store_campaign_delete },
};

static void children(void)
{
	struct tree t, o;
	struct proc_child c;
	struct seen w;
	struct page pg = { 2, 0 };
	int64_t id[3], total;
	size_t k;
	int i;

	if (!fx_open())
		return;
	t = make_tree("t");
	o = make_tree("o");
	keep();
	for (k = 0; k < sizeof(child_kinds) / sizeof(child_kinds[0]); k++) {
		const struct child_ops *ops = &child_kinds[k];

		for (i = 0; i < 3; i++) {
			char name[32];

			snprintf(name, sizeof(name), "%s%d", ops->what, i);
			EXPECT(ops->create(fx.s, 0, t.process, name, &c), STORE_OK);
			CHECK(c.process_id == t.process && !strcmp(c.name, name));
			id[i] = c.id;
		}
		EXPECT(ops->create(fx.s, 0, o.process, "x0", &c), STORE_OK);
		keep();
		EXPECT(ops->create(fx.s, 0, o.process, "x0", &c), STORE_EXISTS);
		EXPECT(ops->create(fx.s, 0, o.process + 100, "x1", &c), STORE_NOT_FOUND);

		EXPECT(ops->get(fx.s, 0, t.process, id[1], &c), STORE_OK);
		CHECK(c.id == id[1] && c.process_id == t.process);
		EXPECT(ops->get(fx.s, 0, 0, id[1], &c), STORE_OK);
		EXPECT(ops->get(fx.s, 0, o.process, id[1], &c), STORE_NOT_FOUND);
		EXPECT(ops->get(fx.s, 0, t.process, id[2] + 100, &c), STORE_NOT_FOUND);

		memset(&w, 0, sizeof(w));
		total = -1;
		EXPECT(ops->list(fx.s, 0, t.process, &pg, see_child, &w, &total), STORE_OK);
		/* make_tree made one of each already */
		CHECK(total == 4 && w.n == 2 && w.id[1] == id[0] && w.parent[0] == t.process);
		memset(&w, 0, sizeof(w));
		EXPECT(ops->list(fx.s, 0, t.process, NULL, see_child, &w, NULL), STORE_OK);
		CHECK(w.n == 4 && w.id[3] == id[2] && !strncmp(w.text[3], ops->what, strlen(ops->what)));

		EXPECT(ops->del(fx.s, 0, o.process, id[0]), STORE_NOT_FOUND);
		EXPECT(ops->del(fx.s, 0, t.process, id[0]), STORE_OK);
		EXPECT(ops->del(fx.s, 0, 0, id[1]), STORE_OK);
		keep();
		EXPECT(ops->del(fx.s, 0, t.process, id[0]), STORE_NOT_FOUND);
		EXPECT(ops->get(fx.s, 0, 0, id[0], &c), STORE_NOT_FOUND);
		memset(&w, 0, sizeof(w));
		EXPECT(ops->list(fx.s, 0, t.process, NULL, see_child, &w, &total), STORE_OK);
		CHECK(total == 2 && w.n == 2 && w.id[1] == id[2]);
	}
	fx_close();
}

/* A lead attached to a campaign cannot go; a campaign takes its campaign
 * users, campaign leads and mappings with it. */
static void lead_in_use_campaign_cascades(void)
{
	struct tree t;
	struct campaign_lead cl;
	struct campaign_user cu;
	struct seen w = { 0 };
	int64_t u, cu_id, cl_id, total = -1;

	if (!fx_open())
		return;
	t = make_tree("t");
	u = make_user(t.cc, "alice", "Agent");
	cu_id = enrol(t.campaign, u);
	cl_id = attach(t.campaign, t.lead, 5);
	CHECK(map(cl_id, true, IDS(cu_id)) == 1);
	keep();
	EXPECT(SC(lead_delete, t.process, t.lead), STORE_IN_USE);
	EXPECT(SC(campaign_delete, t.process, t.campaign), STORE_OK);
	keep();
	EXPECT(SC(campaign_lead_find, t.campaign, t.lead, &cl), STORE_NOT_FOUND);
	EXPECT(ST(mapping_list, 0, 0, NULL, see_campaign_lead, &w, &total), STORE_OK);
	CHECK(total == 0 && w.n == 0);
	/* the user itself stays, and may be enrolled elsewhere */
	EXPECT(SC(campaign_user_add, make_campaign(t.process, "again"), u, &cu), STORE_OK);
	EXPECT(SC(lead_delete, t.process, t.lead), STORE_OK);
	fx_close();
}

/* ---- paths and scopes ---- */

static void path_check(void)
{
	struct tree t, o;
	struct store_path p;
	const char *object = "x";
	int64_t id = -1;

	if (!fx_open())
		return;
	t = make_tree("t");
	o = make_tree("o");
	keep();
	p = (struct store_path){ t.cc, t.process, t.campaign, t.lead };
	EXPECT(ST(path_check, &p, &object, &id), STORE_OK);
	CHECK(object == NULL && id == 0);
	p = (struct store_path){ 0, 0, 0, 0 };
	EXPECT(ST(path_check, &p, &object, &id), STORE_OK);
	p = (struct store_path){ 0, t.process, t.campaign, 0 }; /* no cc: not chained to one */
	EXPECT(ST(path_check, &p, NULL, NULL), STORE_OK);

	p = (struct store_path){ o.cc + 100, t.process + 100, 0, 0 };
	EXPECT(ST(path_check, &p, &object, &id), STORE_NOT_FOUND);
	CHECK(object && !strcmp(object, "contactCenter") && id == o.cc + 100);
	/* an existing process of another contact center is missing here */
	p = (struct store_path){ t.cc, o.process, o.campaign, 0 };
	EXPECT(ST(path_check, &p, &object, &id), STORE_NOT_FOUND);
	CHECK(object && !strcmp(object, "process") && id == o.process);
	p = (struct store_path){ t.cc, t.process, o.campaign, o.lead };
	EXPECT(ST(path_check, &p, &object, &id), STORE_NOT_FOUND);
	CHECK(object && !strcmp(object, "campaign") && id == o.campaign);
	p = (struct store_path){ t.cc, t.process, t.campaign, o.lead };
	EXPECT(ST(path_check, &p, &object, &id), STORE_NOT_FOUND);
	CHECK(object && !strcmp(object, "lead") && id == o.lead);
	p = (struct store_path){ 0, 0, 0, o.lead + 100 };
	EXPECT(ST(path_check, &p, NULL, NULL), STORE_NOT_FOUND);
	fx_close();
}

static void campaign_in_scope(void)
{
	struct tree t, o;

	if (!fx_open())
		return;
	t = make_tree("t");
	o = make_tree("o");
	keep();
	EXPECT(ST(campaign_in_scope, 0, t.campaign), STORE_OK);
	EXPECT(ST(campaign_in_scope, t.cc, t.campaign), STORE_OK);
	EXPECT(ST(campaign_in_scope, o.cc, t.campaign), STORE_NOT_FOUND);
	EXPECT(ST(campaign_in_scope, 0, o.campaign + 100), STORE_NOT_FOUND);
	EXPECT(ST(campaign_in_scope, o.cc + 100, o.campaign), STORE_NOT_FOUND);
	fx_close();
}

/* ---- campaign users and campaign leads ---- */

static void campaign_users(void)
{
	struct tree t, o;
	struct campaign_user cu;
	struct seen w = { 0 };
	struct page pg = { 1, 1 };
	const char *ids[] = { "bob", "carol", "alice", "nobody" };
	int64_t a, b, c, cu_a, cu_b, other, res[4], total = -1;

	if (!fx_open())
		return;
	t = make_tree("t");
	o = make_tree("o");
	fx.cc = t.cc;
	other = make_campaign(t.process, "other");
	a = make_user(t.cc, "alice", "Agent");
	b = make_user(t.cc, "bob", "Agent");
	c = make_user(o.cc, "carol", "Agent");
	cu_b = enrol(t.campaign, b);
	cu_a = enrol(t.campaign, a);
	keep();
	CHECK(cu_a > cu_b);

	/* idempotent: the enrolment that exists comes back */
	EXPECT(SC(campaign_user_add, t.campaign, a, &cu), STORE_OK);
	CHECK(cu.id == cu_a && cu.campaign_id == t.campaign && !strcmp(cu.user_id, "alice"));
	EXPECT(SC(campaign_user_add, t.campaign, c, &cu), STORE_NOT_FOUND);
	EXPECT(SC(campaign_user_add, o.campaign + 100, a, &cu), STORE_NOT_FOUND);
	EXPECT(SC(campaign_user_add, t.campaign, c + 100, &cu), STORE_NOT_FOUND);

	EXPECT(SC(campaign_user_list, t.campaign, NULL, see_campaign_user, &w, &total), STORE_OK);
	CHECK(total == 2 && ids_are(&w, IDS(cu_b, cu_a)));
	CHECK(!strcmp(w.text[0], "bob") && w.parent[1] == t.campaign);
	memset(&w, 0, sizeof(w));
	EXPECT(SC(campaign_user_list, t.campaign, &pg, see_campaign_user, &w, &total), STORE_OK);
	CHECK(total == 2 && ids_are(&w, IDS(cu_a)));
	memset(&w, 0, sizeof(w));
	EXPECT(SC(campaign_user_list, other, NULL, see_campaign_user, &w, &total), STORE_OK);
	CHECK(total == 0 && w.n == 0);

	EXPECT(SC(campaign_users_resolve, t.campaign, ids, 4, res), STORE_OK);
	CHECK(res[0] == cu_b && res[1] == 0 && res[2] == cu_a && res[3] == 0);
	EXPECT(SC(campaign_users_resolve, other, ids, 4, res), STORE_OK);
	CHECK(res[0] == 0 && res[2] == 0);

	EXPECT(SC(campaign_user_delete, other, "alice"), STORE_NOT_FOUND);
	EXPECT(SC(campaign_user_delete, t.campaign, "nobody"), STORE_NOT_FOUND);
	EXPECT(SC(campaign_user_delete, t.campaign, "alice"), STORE_OK);
	keep();
	EXPECT(SC(campaign_user_delete, t.campaign, "alice"), STORE_NOT_FOUND);
	memset(&w, 0, sizeof(w));
	EXPECT(SC(campaign_user_list, t.campaign, NULL, see_campaign_user, &w, &total), STORE_OK);
	CHECK(total == 1 && ids_are(&w, IDS(cu_b)));
	/* enrolled again: a new campaignUserId */
	CHECK(enrol(t.campaign, a) > cu_a);
	fx_close();
}

static void campaign_leads(void)
{
	struct tree t, o;
	struct campaign_lead cl;
	struct seen w = { 0 };
	struct page pg = { 1, 0 };
	int64_t l2, cl1, total = -1;

	if (!fx_open())
		return;
	t = make_tree("t");
	o = make_tree("o");
	fx.cc = t.cc;
	l2 = make_lead(t.process, "second");
	cl1 = attach(t.campaign, t.lead, 7);
	memset(&cl, 0, sizeof(cl));
	EXPECT(SC(campaign_lead_add, t.campaign, l2, 3, false, &cl), STORE_OK);
	CHECK(cl.id > cl1 && cl.lead_id == l2 && cl.priority == 3 && !cl.enabled);
	keep();
	EXPECT(SC(campaign_lead_add, t.campaign, t.lead, 1, true, &cl), STORE_EXISTS);
	EXPECT(SC(campaign_lead_add, t.campaign, o.lead, 1, true, &cl), STORE_NOT_FOUND);
	EXPECT(SC(campaign_lead_add, t.campaign, l2 + 100, 1, true, &cl), STORE_NOT_FOUND);
	EXPECT(SC(campaign_lead_add, o.campaign + 100, t.lead, 1, true, &cl), STORE_NOT_FOUND);

	EXPECT(SC(campaign_lead_find, t.campaign, t.lead, &cl), STORE_OK);
	CHECK(cl.id == cl1 && cl.campaign_id == t.campaign && cl.lead_id == t.lead);
	CHECK(cl.priority == 7 && cl.enabled);
	EXPECT(SC(campaign_lead_find, o.campaign, t.lead, &cl), STORE_NOT_FOUND);
	{
		int64_t held = 0;

		EXPECT(SC(campaign_lead_hold, t.campaign, t.lead, &held), STORE_OK);
		CHECK(held == cl1);
		EXPECT(SC(campaign_lead_hold, o.campaign, t.lead, &held), STORE_NOT_FOUND);
		EXPECT(SC(campaign_lead_hold, t.campaign, t.lead + 100, &held), STORE_NOT_FOUND);
	}

	EXPECT(SC(campaign_lead_list, t.campaign, NULL, see_campaign_lead, &w, &total), STORE_OK);
	CHECK(total == 2 && w.n == 2 && w.id[0] == cl1 && w.flag[0] && !w.flag[1]);
	CHECK(w.parent[1] == t.campaign);
	{
		char want[64];

		snprintf(want, sizeof(want), "%" PRId64 "/3", l2);
		CHECK(!strcmp(w.text[1], want));
	}
	memset(&w, 0, sizeof(w));
	EXPECT(SC(campaign_lead_list, t.campaign, &pg, see_campaign_lead, &w, &total), STORE_OK);
	CHECK(total == 2 && ids_are(&w, IDS(cl1)));

	EXPECT(SC(campaign_lead_delete, o.campaign, t.lead), STORE_NOT_FOUND);
	EXPECT(SC(campaign_lead_delete, t.campaign, o.lead), STORE_NOT_FOUND);
	EXPECT(SC(campaign_lead_delete, t.campaign, t.lead), STORE_OK);
	keep();
	EXPECT(SC(campaign_lead_find, t.campaign, t.lead, &cl), STORE_NOT_FOUND);
	EXPECT(SC(campaign_lead_delete, t.campaign, t.lead), STORE_NOT_FOUND);
	/* detached, the lead may go */
	EXPECT(SC(lead_delete, t.process, t.lead), STORE_OK);
	fx_close();
}

/* ---- the mapping ---- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Whether changed[0..n), in any order, holds exactly want[0..nwant). */
static bool same_set(int64_t *changed, size_t n, size_t nwant, const int64_t *want)
{
	int64_t w[8];
	size_t i;

	if (n != nwant || n > 8)
		return false;
	memcpy(w, want, n * sizeof(*w));
	qsort(changed, n, sizeof(*changed), cmp_i64);
	qsort(w, n, sizeof(*w), cmp_i64);
	for (i = 0; i < n; i++)
		if (changed[i] != w[i])
			return false;
	return true;
}

static void mapping_set(void)
{
	struct tree t;
	int64_t cu[3], gone[2], foreign, cl, other, changed[8];
	size_t n = 99;

	if (!fx_open())
		return;
	t = make_tree("t");
	other = make_campaign(t.process, "other");
	cu[0] = enrol(t.campaign, make_user(t.cc, "a", "Agent"));
	cu[1] = enrol(t.campaign, make_user(t.cc, "b", "Agent"));
	cu[2] = enrol(t.campaign, make_user(t.cc, "c", "Agent"));
	foreign = enrol(other, make_user(t.cc, "d", "Agent"));
	cl = attach(t.campaign, t.lead, 1);
	keep();

	EXPECT(SC(mapping_set, cl, cu, 2, true, changed, &n), STORE_OK);
	CHECK(same_set(changed, n, IDS(cu[0], cu[1])));
	EXPECT(SC(mapping_set, cl, cu, 2, true, changed, &n), STORE_OK);
	CHECK(n == 0);
	EXPECT(SC(mapping_set, cl, cu + 1, 2, true, changed, &n), STORE_OK);
	CHECK(same_set(changed, n, IDS(cu[2])));
	/* a campaign user of another campaign is left alone */
	EXPECT(SC(mapping_set, cl, &foreign, 1, true, changed, &n), STORE_OK);
	CHECK(n == 0);
	gone[0] = cu[0];
	gone[1] = cu[0] + 100; /* no campaign user */
	EXPECT(SC(mapping_set, cl, gone, 2, false, changed, &n), STORE_OK);
	CHECK(same_set(changed, n, IDS(cu[0])));
	EXPECT(SC(mapping_set, cl, gone, 1, false, changed, &n), STORE_OK);
	CHECK(n == 0);
	EXPECT(SC(mapping_set, cl, cu, 0, true, changed, &n), STORE_OK);
	CHECK(n == 0);
	/* changed may be NULL: the count still comes */
	EXPECT(SC(mapping_set, cl, cu, 3, false, NULL, &n), STORE_OK);
	CHECK(n == 2);
	EXPECT(SC(mapping_set, cl, cu, 3, true, NULL, NULL), STORE_OK);
	CHECK(map(cl, true, 3, cu) == 0);
	fx_close();
}

/*
 * A look aimed at t's lead, attached as cl with campaign users cu[0..n) (by
 * userId): on PostgreSQL it reads the campaign lead and the same mapping, in the same
 * order, as store_mapping_get(), unless it is told that the caller holds
 * the lead at its stamps; a lead not attached is NOT_FOUND.
 */
static void look_reads_the_mapping(const struct tree *t, int64_t cl, size_t n, const int64_t *cu)
{
	struct store_look lk = { .campaign = t->campaign, .lead = t->lead };
	struct store_look held, other = { .campaign = t->campaign, .lead = t->lead + 1000 };
	struct seen a = { 0 }, b = { 0 };
	struct campaign_lead c;
	size_t i;

	EXPECT(ST(look, &lk), STORE_OK);
	if (be != &pg_be) { /* SQLite's look reads no rows: the stamps alone */
		CHECK(lk.done && !lk.read);
		EXPECT(store_look_lead(&lk, &c), STORE_ERROR);
		return;
	}
	CHECK(lk.done && lk.read);
	EXPECT(store_look_lead(&lk, &c), STORE_OK);
	CHECK(c.id == cl && c.campaign_id == t->campaign && c.lead_id == t->lead && c.enabled);
	EXPECT(store_look_mapping(&lk, see_mapping_user, &a), STORE_OK);
	EXPECT(SC(mapping_get, t->campaign, cl, see_mapping_user, &b), STORE_OK);
	CHECK(ids_are(&a, n, cu) && a.n == b.n);
	for (i = 0; i < a.n && i < b.n; i++)
		CHECK(a.id[i] == b.id[i] && !strcmp(a.text[i], b.text[i]) && a.flag[i] == b.flag[i]);
	/* held at the lead's stamps: the stamps alone */
	held = (struct store_look){ .campaign = t->campaign, .lead = t->lead, .held = true,
				    .held_epoch = lk.epoch, .held_version = lk.version };
	EXPECT(ST(look, &held), STORE_OK);
	CHECK(held.done && !held.read && held.epoch == lk.epoch && held.version == lk.version);
	EXPECT(store_look_lead(&held, &c), STORE_ERROR);
	/* held at other stamps, or another lead: read */
	held.done = false;
	held.held_version = lk.version + 1;
	EXPECT(ST(look, &held), STORE_OK);
	CHECK(held.read);
	EXPECT(ST(look, &other), STORE_OK);
	CHECK(other.read);
	EXPECT(store_look_lead(&other, &c), STORE_NOT_FOUND);
	store_look_release(&lk);
	store_look_release(&held);
	store_look_release(&other);
	CHECK(!lk.read && !held.read && !other.read);
}

/* Every campaign user of the campaign, by userId (bytes), with its flag. */
static void mapping_get(void)
{
	struct tree t;
	struct seen w = { 0 };
	int64_t zed, amy, bob, cl, cl2, l2;

	if (!fx_open())
		return;
	t = make_tree("t");
	zed = enrol(t.campaign, make_user(t.cc, "zed", "Agent"));
	bob = enrol(t.campaign, make_user(t.cc, "bob", "Agent"));
	amy = enrol(t.campaign, make_user(t.cc, "Amy", "Agent"));
	make_user(t.cc, "idle", "Agent"); /* not enrolled: not listed */
	l2 = make_lead(t.process, "second");
	cl = attach(t.campaign, t.lead, 1);
	cl2 = attach(t.campaign, l2, 1);
	CHECK(map(cl, true, IDS(zed, amy)) == 2);
	CHECK(map(cl2, true, IDS(bob)) == 1);
	keep();
	EXPECT(SC(mapping_get, t.campaign, cl, see_mapping_user, &w), STORE_OK);
	CHECK(ids_are(&w, IDS(amy, bob, zed)));
	CHECK(!strcmp(w.text[0], "Amy") && !strcmp(w.text[1], "bob") && !strcmp(w.text[2], "zed"));
	CHECK(w.flag[0] && !w.flag[1] && w.flag[2]);
	memset(&w, 0, sizeof(w));
	EXPECT(SC(mapping_get, t.campaign, cl2, see_mapping_user, &w), STORE_OK);
	CHECK(ids_are(&w, IDS(amy, bob, zed)) && !w.flag[0] && w.flag[1] && !w.flag[2]);
	memset(&w, 0, sizeof(w));
	w.stop_at = 1;
	EXPECT(SC(mapping_get, t.campaign, cl, see_mapping_user, &w), STORE_ERROR);
	CHECK(w.n == 1);
	look_reads_the_mapping(&t, cl, IDS(amy, bob, zed));

	/* a campaign user's delete takes its mappings; a campaign lead's too */
	EXPECT(SC(campaign_user_delete, t.campaign, "zed"), STORE_OK);
	memset(&w, 0, sizeof(w));
	EXPECT(SC(mapping_get, t.campaign, cl, see_mapping_user, &w), STORE_OK);
	CHECK(ids_are(&w, IDS(amy, bob)) && w.flag[0] && !w.flag[1]);
	EXPECT(SC(campaign_lead_delete, t.campaign, l2), STORE_OK);
	cl2 = attach(t.campaign, l2, 1);
	memset(&w, 0, sizeof(w));
	EXPECT(SC(mapping_get, t.campaign, cl2, see_mapping_user, &w), STORE_OK);
	CHECK(w.n == 2 && !w.flag[0] && !w.flag[1]);
	fx_close();
}

static void mapping_list(void)
{
	struct tree t, o;
	struct seen w = { 0 };
	struct page pg = { 2, 1 };
	int64_t l2, l3, cl[3], ocl, total = -1;

	if (!fx_open())
		return;
	t = make_tree("t");
	o = make_tree("o");
	l2 = make_lead(t.process, "l2");
	l3 = make_lead(t.process, "l3");
	cl[0] = attach(t.campaign, t.lead, 1);
	ocl = attach(o.campaign, o.lead, 1);
	cl[1] = attach(t.campaign, l2, 2);
	cl[2] = attach(t.campaign, l3, 3);
	fx.cc = t.cc;
	keep();
	EXPECT(ST(mapping_list, 0, 0, NULL, see_campaign_lead, &w, &total), STORE_OK);
	CHECK(total == 4 && ids_are(&w, IDS(cl[0], ocl, cl[1], cl[2])));
	memset(&w, 0, sizeof(w));
	EXPECT(ST(mapping_list, t.cc, 0, NULL, see_campaign_lead, &w, &total), STORE_OK);
	CHECK(total == 3 && ids_are(&w, IDS(cl[0], cl[1], cl[2])));
	memset(&w, 0, sizeof(w));
	EXPECT(ST(mapping_list, t.cc, 0, &pg, see_campaign_lead, &w, &total), STORE_OK);
	CHECK(total == 3 && ids_are(&w, IDS(cl[1], cl[2])));
	memset(&w, 0, sizeof(w));
	EXPECT(ST(mapping_list, o.cc, 0, NULL, see_campaign_lead, &w, &total), STORE_OK);
	CHECK(total == 1 && ids_are(&w, IDS(ocl)));
	memset(&w, 0, sizeof(w));
	EXPECT(ST(mapping_list, 0, o.campaign, NULL, see_campaign_lead, &w, &total), STORE_OK);
	CHECK(total == 1 && ids_are(&w, IDS(ocl)) && w.parent[0] == o.campaign);
	memset(&w, 0, sizeof(w));
	EXPECT(ST(mapping_list, t.cc, t.campaign, &pg, see_campaign_lead, &w, &total), STORE_OK);
	CHECK(total == 3 && ids_are(&w, IDS(cl[1], cl[2])));
	/* another contact center's campaign is out of scope: nothing */
	memset(&w, 0, sizeof(w));
	EXPECT(ST(mapping_list, t.cc, o.campaign, NULL, see_campaign_lead, &w, &total), STORE_OK);
	CHECK(total == 0 && w.n == 0);
	memset(&w, 0, sizeof(w));
	EXPECT(ST(mapping_list, o.cc + 100, 0, NULL, see_campaign_lead, &w, &total), STORE_OK);
	CHECK(total == 0 && w.n == 0);
	fx_close();
}

/* ---- the history ---- */

#define HIST_MAX 8

/* History entries as a list gave them, their strings copied. */
struct hist {
	size_t n;
	struct history_entry e[HIST_MAX];
	char assigned[HIST_MAX][128], unassigned[HIST_MAX][128];
};

static int see_history(void *ctx, const void *row)
{
	struct hist *h = ctx;
	const struct history_entry *r = row;

	if (h->n < HIST_MAX) {
		h->e[h->n] = *r;
		snprintf(h->assigned[h->n], sizeof(h->assigned[0]), "%s", r->assigned ? r->assigned : "(null)");
		snprintf(h->unassigned[h->n], sizeof(h->unassigned[0]), "%s",
			 r->unassigned ? r->unassigned : "(null)");
		h->e[h->n].assigned = h->assigned[h->n];
		h->e[h->n].unassigned = h->unassigned[h->n];
	}
	h->n++;
	return 0;
}

/* Whether JSON text `got` equals JSON text `want` (spacing aside: each
 * backend writes its arrays its own way). */
static bool json_same(const char *got, const char *want)
{
	json_t *g = json_loads(got, 0, NULL), *w = json_loads(want, 0, NULL);
	bool same = g && w && json_equal(g, w);

	if (!same)
		fprintf(stderr, "  JSON %s, want %s\n", got, want);
	json_decref(g);
	json_decref(w);
	return same;
}

static void history(void)
{
	struct tree t;
	struct history_entry h;
	struct hist got = { 0 };
	struct page pg = { 1, 1 };
	int64_t total = -1;
	int i;

	if (!fx_open())
		return;
	t = make_tree("t");
	for (i = 0; i < 3; i++) {
		memset(&h, 0, sizeof(h));
		h.campaign_id = t.campaign;
		h.lead_id = t.lead;
		h.campaign_lead_id = 77;
		h.changed_at = 1000 + i;
		snprintf(h.changed_by, sizeof(h.changed_by), "sup%d", i);
		snprintf(h.request_id, sizeof(h.request_id), "0123456789abcde%d", i);
		h.assigned = i == 1 ? "[\"a\",\"b\"]" : "[]";
		h.unassigned = i == 2 ? "[\"a\"]" : "[]";
		h.cc = t.cc;
		EXPECT(ST(history_add, &h), STORE_OK);
	}
	h.lead_id = t.lead + 100; /* another lead's history */
	EXPECT(ST(history_add, &h), STORE_OK);
	keep();
	EXPECT(SC(history_list, t.campaign, t.lead, NULL, see_history, &got, &total), STORE_OK);
	CHECK(total == 3 && got.n == 3);
	CHECK(got.e[0].id > got.e[1].id && got.e[1].id > got.e[2].id);
	CHECK(got.e[0].changed_at == 1002 && !strcmp(got.e[0].changed_by, "sup2"));
	CHECK(!strcmp(got.e[0].request_id, "0123456789abcde2"));
	CHECK(got.e[0].campaign_id == t.campaign && got.e[0].lead_id == t.lead);
	CHECK(got.e[0].campaign_lead_id == 77 && got.e[0].cc == t.cc);
	CHECK(json_same(got.e[0].unassigned, "[\"a\"]") && json_same(got.e[0].assigned, "[]"));
	CHECK(json_same(got.e[1].assigned, "[\"a\",\"b\"]"));
	memset(&got, 0, sizeof(got));
	EXPECT(SC(history_list, t.campaign, t.lead, &pg, see_history, &got, &total), STORE_OK);
	CHECK(total == 3 && got.n == 1 && got.e[0].changed_at == 1001);
	memset(&got, 0, sizeof(got));
	EXPECT(SC(history_list, t.campaign, t.lead + 100, NULL, see_history, &got, &total), STORE_OK);
	CHECK(total == 1 && got.n == 1);
	memset(&got, 0, sizeof(got));
	EXPECT(SC(history_list, t.campaign + 100, t.lead, NULL, see_history, &got, &total), STORE_OK);
	CHECK(total == 0 && got.n == 0);
	fx_close();
}

/* An entry of t's lead, changed by `by`, naming assigned. */
static struct history_entry own_entry(const struct tree *t, int64_t cl, const char *by,
				      const char *assigned)
{
	struct history_entry h;

	memset(&h, 0, sizeof(h));
	h.campaign_id = t->campaign;
	h.lead_id = t->lead;
	h.campaign_lead_id = cl;
	h.changed_at = 5000;
	snprintf(h.changed_by, sizeof(h.changed_by), "%s", by);
	snprintf(h.request_id, sizeof(h.request_id), "00000000000000%s", by);
	h.assigned = assigned;
	h.unassigned = "[]";
	h.cc = t->cc;
	return h;
}

/*
 * store_own_events(): the entries the transaction wrote by
 * store_history_add(), as the feed reads them once committed; none after a rollback,
 * none when a delete appended entries of its own in the same transaction,
 * none once the next transaction begins.
 */
static void own_events(void)
{
	struct tree t;
	struct history_entry h[2];
	const struct history_entry *v;
	struct hist got = { 0 };
	int64_t cl;
	size_t n = 99, i;

	if (!fx_open())
		return;
	t = make_tree("t");
	cl = attach(t.campaign, t.lead, 1);
	CHECK(map(cl, true, IDS(enrol(t.campaign, make_user(t.cc, "a", "Agent")))) == 1);
	keep();
	h[0] = own_entry(&t, cl, "s1", "[\"b\",\"a\"]");
	h[1] = own_entry(&t, cl, "s2", "[]");
	for (i = 0; i < 2; i++)
		EXPECT(ST(history_add, &h[i]), STORE_OK);
	CHECK(store_commit(fx.s) == STORE_OK);
	v = store_own_events(fx.s, &n);
	CHECK(v != NULL && n == 2);
	if (v)
		EXPECT(ST(feed_read, v[0].id - 1, 10, see_history, &got), STORE_OK);
	CHECK(got.n == 2 && got.e[0].id == v[0].id && got.e[1].id == v[1].id);
	for (i = 0; v && i < n && i < got.n; i++) {
		CHECK(v[i].campaign_id == got.e[i].campaign_id &&
		      v[i].lead_id == got.e[i].lead_id &&
		      v[i].campaign_lead_id == got.e[i].campaign_lead_id &&
		      v[i].changed_at == got.e[i].changed_at && v[i].cc == got.e[i].cc);
		CHECK(!strcmp(v[i].changed_by, got.e[i].changed_by) &&
		      !strcmp(v[i].request_id, got.e[i].request_id) &&
		      !strcmp(v[i].cause, got.e[i].cause));
		CHECK(!strcmp(v[i].assigned, got.e[i].assigned) &&
		      !strcmp(v[i].unassigned, got.e[i].unassigned));
	}
	CHECK(store_begin(fx.s, true) == STORE_OK);
	v = store_own_events(fx.s, &n);
	CHECK(v == NULL && n == 0); /* the next transaction forgot them */
	/* rolled back: nothing stands */
	EXPECT(ST(history_add, &h[0]), STORE_OK);
	store_rollback(fx.s);
	v = store_own_events(fx.s, &n);
	CHECK(v == NULL && n == 0);
	/* with a delete's own entry in the same transaction: not all of them */
	CHECK(store_begin(fx.s, true) == STORE_OK);
	EXPECT(ST(history_add, &h[0]), STORE_OK);
	EXPECT(SC(campaign_user_delete, t.campaign, "a"), STORE_OK);
	CHECK(store_commit(fx.s) == STORE_OK);
	v = store_own_events(fx.s, &n);
	CHECK(v == NULL && n == 0);
	CHECK(store_take_appended(fx.s) == 2);
	CHECK(store_begin(fx.s, true) == STORE_OK);
	fx_close();
}

/* Checks the one history entry of campaign lead (campaign, lead) that a
 * delete wrote: every userId in `gone` unassigned, under the actor. */
static void check_gone(int64_t campaign, int64_t lead, int64_t cl, const char *gone,
		       int64_t since, int line)
{
	struct hist got = { 0 };
	int64_t total = -1;
	int failed = unit_failed_checks;

	/* as the system administrator: a deleted campaign is in no contact center */
	EXPECT(S0(history_list, campaign, lead, NULL, see_history, &got, &total), STORE_OK);
	CHECK(total == 1 && got.n == 1);
	if (got.n == 1) {
		CHECK(got.e[0].campaign_lead_id == cl);
		CHECK(!strcmp(got.e[0].changed_by, "boss") && !strcmp(got.e[0].request_id, "req-42"));
		CHECK(got.e[0].changed_at >= since && got.e[0].changed_at <= clock_ms(CLOCK_REALTIME) + 1000);
		CHECK(json_same(got.e[0].assigned, "[]") && json_same(got.e[0].unassigned, gone));
	}
	if (unit_failed_checks != failed)
		fprintf(stderr, "  (the history checked at line %d)\n", line);
}

/* Deletes that take mappings with them write them into the history, one
 * entry per campaign lead, under store_set_actor()'s name. */
/* A put of users[0..na) assigned and un[0..nu) unassigned, in fx.cc. */
struct put_case {
	struct mapping_put m;
	int64_t acu[4], ucu[4];
	bool ach[4], uch[4];
};

static void put_fill(struct put_case *pc, int64_t campaign, int64_t lead,
		     const char *const *as, size_t na, const char *const *un, size_t nu, bool dry)
{
	memset(pc, 0, sizeof(*pc));
	pc->m = (struct mapping_put){ campaign, lead, as, un, na, nu, dry, 4242, "sup",
				      "0123456789abcdef", 0, pc->acu, pc->ucu, pc->ach, pc->uch };
}

static int put_users(struct put_case *pc, int64_t campaign, int64_t lead,
		     const char *const *as, size_t na, const char *const *un, size_t nu, bool dry)
{
	put_fill(pc, campaign, lead, as, na, un, nu, dry);
	return SC(mapping_put, &pc->m);
}

static int64_t history_count(int64_t campaign, int64_t lead)
{
	struct hist got = { 0 };
	int64_t total = -1;

	EXPECT(SC(history_list, campaign, lead, NULL, see_history, &got, &total), STORE_OK);
	return total;
}

/* The PUT in the store's fewest round trips: the same answers on both
 * backends, and on PostgreSQL a transaction of its own when it is first. */
static void mapping_put(void)
{
	struct tree t, o;
	struct put_case pc;
	struct hist got = { 0 };
	const char *ab[] = { "b", "a" }, *c[] = { "c" }, *an[] = { "a", "nobody" }, *a[] = { "a" };
	int64_t cu[3], cl, total = -1;

	if (!fx_open())
		return;
	t = make_tree("t");
	o = make_tree("o");
	fx.cc = t.cc;
	cu[0] = enrol(t.campaign, make_user(t.cc, "a", "Agent"));
	cu[1] = enrol(t.campaign, make_user(t.cc, "b", "Agent"));
	cu[2] = enrol(t.campaign, make_user(t.cc, "c", "Agent"));
	cl = attach(t.campaign, t.lead, 1);
	attach(o.campaign, o.lead, 1);
	CHECK(map(cl, true, 1, &cu[2]) == 1);
	keep();

	/* the first statement of its transaction */
	EXPECT(put_users(&pc, t.campaign, t.lead, ab, 2, c, 1, false), STORE_OK);
	CHECK(pc.m.cl == cl && pc.acu[0] == cu[1] && pc.acu[1] == cu[0] && pc.ucu[0] == cu[2]);
	CHECK(pc.ach[0] && pc.ach[1] && pc.uch[0]);
	if (be == &pg_be) { /* committed already: nothing may follow in it */
		EXPECT(SC(campaign_in_scope, t.campaign), STORE_ERROR);
		store_rollback(fx.s);
		CHECK(store_begin(fx.s, true) == STORE_OK);
	} else {
		keep();
	}
	EXPECT(SC(history_list, t.campaign, t.lead, NULL, see_history, &got, &total), STORE_OK);
	CHECK(total == 1 && got.n == 1 && got.e[0].campaign_lead_id == cl);
	CHECK(got.e[0].cc == t.cc); /* the campaign's contact center, as held */
	CHECK(got.e[0].changed_at == 4242 && !strcmp(got.e[0].changed_by, "sup"));
	CHECK(!strcmp(got.e[0].request_id, "0123456789abcdef"));
	CHECK(json_same(got.e[0].assigned, "[\"b\",\"a\"]"));
	CHECK(json_same(got.e[0].unassigned, "[\"c\"]"));
	/* the same again, inside a transaction: nothing changes, nothing recorded */
	CHECK(history_count(t.campaign, t.lead) == 1);
	EXPECT(put_users(&pc, t.campaign, t.lead, ab, 2, c, 1, false), STORE_OK);
	CHECK(!pc.ach[0] && !pc.ach[1] && !pc.uch[0]);
	keep();
	CHECK(history_count(t.campaign, t.lead) == 1);
	/* one unknown userId: nothing written */
	EXPECT(put_users(&pc, t.campaign, t.lead, an, 2, NULL, 0, false), STORE_OK);
	CHECK(pc.acu[0] == cu[0] && pc.acu[1] == 0 && !pc.ach[0]);
	keep();
	EXPECT(put_users(&pc, t.campaign, t.lead, c, 1, a, 1, false), STORE_OK);
	CHECK(pc.ach[0] && pc.uch[0]); /* c was still unmapped, a mapped */
	keep();
	CHECK(history_count(t.campaign, t.lead) == 2);
	/* a dry run: what would change, no history; the caller rolls back */
	EXPECT(put_users(&pc, t.campaign, t.lead, a, 1, c, 1, true), STORE_OK);
	CHECK(pc.ach[0] && pc.uch[0]);
	store_rollback(fx.s);
	CHECK(store_begin(fx.s, true) == STORE_OK);
	CHECK(history_count(t.campaign, t.lead) == 2);
	CHECK(map(cl, true, 1, &cu[2]) == 0 && map(cl, false, 1, &cu[0]) == 0);
	keep();
	/* no such campaign lead, or another tenant's */
	EXPECT(put_users(&pc, t.campaign, t.lead + 100, a, 1, NULL, 0, false), STORE_NOT_FOUND);
	EXPECT(put_users(&pc, o.campaign, o.lead, a, 1, NULL, 0, false), STORE_NOT_FOUND);
	CHECK(pc.m.cl == 0);
	fx_close();
}

/* A group of PUTs in one statement (PostgreSQL: the group writer's):
 * each PUT's result its own, a failing one writes nothing and the others
 * commit, each sees the ones before it, the history in request order. */
static void mapping_put_group(void)
{
	struct tree t, o;
	struct put_case pc[6];
	struct mapping_put *ms[6];
	struct hist got = { 0 };
	const char *b[] = { "b" }, *nb[] = { "nobody" }, *c[] = { "c" };
	const char *ids[6] = { "req0", "req1", "req2", "req3", "req4", "req5" };
	int64_t cu[2], cl, cc[6], total = -1;
	int rcs[6], i;

	if (!fx_open())
		return;
	if (!store_puts_grouped(fx.s)) { /* SQLite: the writer's steps, one statement each */
		fx_close();
		return;
	}
	t = make_tree("t");
	o = make_tree("o");
	fx.cc = t.cc;
	cu[0] = enrol(t.campaign, make_user(t.cc, "b", "Agent"));
	cu[1] = enrol(t.campaign, make_user(t.cc, "c", "Agent"));
	cl = attach(t.campaign, t.lead, 1);
	attach(o.campaign, o.lead, 1);
	keep();
	put_fill(&pc[0], t.campaign, t.lead, b, 1, NULL, 0, false);         /* maps b */
	put_fill(&pc[1], t.campaign, t.lead, nb, 1, NULL, 0, false);        /* unknown user */
	put_fill(&pc[2], t.campaign, t.lead + 100, b, 1, NULL, 0, false);   /* no such lead */
	put_fill(&pc[3], o.campaign, o.lead, b, 1, NULL, 0, false);         /* another tenant's */
	put_fill(&pc[4], t.campaign, t.lead, c, 1, b, 1, false);            /* sees 0's b */
	put_fill(&pc[5], t.campaign, t.lead, b, 1, c, 1, true);             /* dry, sees 4's */
	for (i = 0; i < 6; i++) {
		pc[i].m.request_id = ids[i];
		ms[i] = &pc[i].m;
		cc[i] = t.cc;
		rcs[i] = -1;
	}
	/* the first statement of its transaction: the transaction */
	EXPECT(store_mapping_put_group(fx.s, cc, ms, rcs, 6), STORE_OK);
	keep();
	CHECK(rcs[0] == STORE_OK && pc[0].m.cl == cl && pc[0].acu[0] == cu[0] && pc[0].ach[0]);
	CHECK(rcs[1] == STORE_OK && pc[1].m.cl == cl && pc[1].acu[0] == 0 && !pc[1].ach[0]);
	CHECK(rcs[2] == STORE_NOT_FOUND && pc[2].m.cl == 0);
	CHECK(rcs[3] == STORE_NOT_FOUND && pc[3].m.cl == 0);
	CHECK(rcs[4] == STORE_OK && pc[4].acu[0] == cu[1] && pc[4].ach[0]);
	CHECK(pc[4].ucu[0] == cu[0] && pc[4].uch[0]);
	CHECK(rcs[5] == STORE_OK && pc[5].ach[0] && pc[5].uch[0]);
	CHECK(map(cl, true, 1, &cu[1]) == 0 && map(cl, false, 1, &cu[0]) == 0); /* as 4 left it */
	keep();
	/* two entries, in request order, the dry run's and the failures' none */
	EXPECT(SC(history_list, t.campaign, t.lead, NULL, see_history, &got, &total), STORE_OK);
	CHECK(total == 2 && got.n == 2);
	CHECK(!strcmp(got.e[0].request_id, "req4") && !strcmp(got.e[1].request_id, "req0"));
	CHECK(got.e[1].id + 1 == got.e[0].id);
	CHECK(json_same(got.e[1].assigned, "[\"b\"]") && json_same(got.e[1].unassigned, "[]"));
	CHECK(json_same(got.e[0].assigned, "[\"c\"]") && json_same(got.e[0].unassigned, "[\"b\"]"));
	fx_close();
}

static void history_of_deletes(void)
{
	struct tree t;
	struct hist got = { 0 };
	int64_t l[4], cl[4], cu[3], other, ocl, total = -1, since = clock_ms(CLOCK_REALTIME);
	int i;

	if (!fx_open())
		return;
	store_set_actor(fx.s, "boss", "req-42");
	t = make_tree("t");
	cu[0] = enrol(t.campaign, make_user(t.cc, "b", "Agent"));
	cu[1] = enrol(t.campaign, make_user(t.cc, "a", "Agent"));
	cu[2] = enrol(t.campaign, make_user(t.cc, "c", "Agent"));
	for (i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "l%d", i);
		l[i] = make_lead(t.process, name);
		cl[i] = attach(t.campaign, l[i], 1);
	}
	CHECK(map(cl[0], true, IDS(cu[0], cu[1])) == 2);
	CHECK(map(cl[1], true, IDS(cu[0], cu[1], cu[2])) == 3);
	CHECK(map(cl[2], true, IDS(cu[2])) == 1);
	/* cl[3]: nothing mapped, so no entry */
	other = make_campaign(t.process, "other");
	ocl = attach(other, l[0], 1);
	CHECK(map(ocl, true, IDS(enrol(other, make_user(t.cc, "d", "Agent")))) == 1);
	keep();

	/* a campaign user: "c" leaves cl[1] and cl[2] */
	EXPECT(SC(campaign_user_delete, t.campaign, "c"), STORE_OK);
	check_gone(t.campaign, l[1], cl[1], "[\"c\"]", since, __LINE__);
	check_gone(t.campaign, l[2], cl[2], "[\"c\"]", since, __LINE__);
	EXPECT(SC(history_list, t.campaign, l[0], NULL, see_history, &got, &total), STORE_OK);
	CHECK(total == 0);
	store_rollback(fx.s);
	CHECK(store_begin(fx.s, true) == STORE_OK);

	/* a campaign lead: all its users, sorted */
	EXPECT(SC(campaign_lead_delete, t.campaign, l[1]), STORE_OK);
	check_gone(t.campaign, l[1], cl[1], "[\"a\",\"b\",\"c\"]", since, __LINE__);
	store_rollback(fx.s);
	CHECK(store_begin(fx.s, true) == STORE_OK);

	/* a user: every campaign lead it was mapped on */
	EXPECT(ST(user_delete, t.cc, "a"), STORE_OK);
	check_gone(t.campaign, l[0], cl[0], "[\"a\"]", since, __LINE__);
	check_gone(t.campaign, l[1], cl[1], "[\"a\"]", since, __LINE__);
	EXPECT(SC(history_list, t.campaign, l[2], NULL, see_history, &got, &total), STORE_OK);
	CHECK(total == 0);
	store_rollback(fx.s);
	CHECK(store_begin(fx.s, true) == STORE_OK);

	/* a campaign: each of its campaign leads with a mapping, and no other
	 * campaign's */
	EXPECT(SC(campaign_delete, t.process, t.campaign), STORE_OK);
	check_gone(t.campaign, l[0], cl[0], "[\"a\",\"b\"]", since, __LINE__);
	check_gone(t.campaign, l[1], cl[1], "[\"a\",\"b\",\"c\"]", since, __LINE__);
	check_gone(t.campaign, l[2], cl[2], "[\"c\"]", since, __LINE__);
	EXPECT(SC(history_list, t.campaign, l[3], NULL, see_history, &got, &total), STORE_OK);
	CHECK(total == 0);
	EXPECT(SC(history_list, other, l[0], NULL, see_history, &got, &total), STORE_OK);
	CHECK(total == 0);
	/* the campaign's delete under a wrong process deletes and records nothing */
	store_rollback(fx.s);
	CHECK(store_begin(fx.s, true) == STORE_OK);
	EXPECT(SC(campaign_delete, t.process + 100, t.campaign), STORE_NOT_FOUND);
	EXPECT(SC(history_list, t.campaign, l[0], NULL, see_history, &got, &total), STORE_OK);
	CHECK(total == 0);
	fx_close();
}

/* ---- tokens ---- */

static void token_hash(uint8_t h[CMS_TOKEN_HASH], int seed)
{
	int i;

	for (i = 0; i < CMS_TOKEN_HASH; i++)
		h[i] = (uint8_t)(seed * 31 + i);
}

static void tokens(void)
{
	struct tree t;
	struct token_info ti;
	uint8_t h1[CMS_TOKEN_HASH], h2[CMS_TOKEN_HASH], h3[CMS_TOKEN_HASH], h4[CMS_TOKEN_HASH];
	int64_t alice, root, now = 1800000000;

	if (!fx_open())
		return;
	t = make_tree("t");
	alice = make_user(t.cc, "alice", "Supervisor");
	root = make_user(0, "root", "System");
	token_hash(h1, 1);
	token_hash(h2, 2);
	token_hash(h3, 3);
	token_hash(h4, 4);
	EXPECT(ST(token_add, h1, alice, t.cc, now + 60), STORE_OK);
	EXPECT(ST(token_add, h2, root, 0, now + 60), STORE_OK);
	EXPECT(ST(token_add, h3, alice, t.cc, now), STORE_OK);
	keep();
	EXPECT(ST(token_add, h1, root, 0, now + 60), STORE_EXISTS);
	EXPECT(ST(token_add, h4, root + 100, 0, now + 60), STORE_NOT_FOUND);

	memset(&ti, 0, sizeof(ti));
	EXPECT(ST(token_get, h1, now, &ti), STORE_OK);
	CHECK(ti.user_pk == alice && ti.context_cc == t.cc && ti.expires_at == now + 60);
	CHECK(!strcmp(ti.user_id, "alice") && !strcmp(ti.role, "Supervisor"));
	EXPECT(ST(token_get, h2, now + 59, &ti), STORE_OK);
	CHECK(ti.user_pk == root && ti.context_cc == 0 && !strcmp(ti.role, "System"));
	/* expired at its expires_at */
	EXPECT(ST(token_get, h2, now + 60, &ti), STORE_NOT_FOUND);
	EXPECT(ST(token_get, h3, now, &ti), STORE_NOT_FOUND);
	EXPECT(ST(token_get, h3, now - 1, &ti), STORE_OK);
	EXPECT(ST(token_get, h4, 0, &ti), STORE_NOT_FOUND);

	/* purge removes what expired at `now`, not the rest */
	EXPECT(ST(token_purge, now), STORE_OK);
	EXPECT(ST(token_purge, now + 30), STORE_OK);
	keep();
	EXPECT(ST(token_get, h3, now - 1, &ti), STORE_NOT_FOUND);
	EXPECT(ST(token_get, h1, now, &ti), STORE_OK);
	EXPECT(ST(token_get, h2, now, &ti), STORE_OK);

	EXPECT(ST(token_delete, h2), STORE_OK);
	keep();
	EXPECT(ST(token_get, h2, now, &ti), STORE_NOT_FOUND);
	EXPECT(ST(token_delete, h2), STORE_NOT_FOUND);
	EXPECT(ST(token_get, h1, now, &ti), STORE_OK);

	/* a new password revokes the user's tokens; a new name does not */
	EXPECT(ST(user_update, t.cc, "alice", "Alice", NULL, NULL), STORE_OK);
	EXPECT(ST(token_get, h1, now, &ti), STORE_OK);
	EXPECT(ST(user_update, t.cc, "alice", NULL, NULL, "$new"), STORE_OK);
	EXPECT(ST(token_get, h1, now, &ti), STORE_NOT_FOUND);
	store_rollback(fx.s);
	CHECK(store_begin(fx.s, true) == STORE_OK);
	/* and a deleted user's go with it */
	EXPECT(ST(user_delete, 0, "alice"), STORE_OK);
	EXPECT(ST(token_get, h1, now, &ti), STORE_NOT_FOUND);
	fx_close();
}

/* A user's delete removes its enrolments (and so its mappings). */
static void user_delete_cascades(void)
{
	struct tree t;
	struct seen w = { 0 };
	int64_t a, b, cl, total = -1;

	if (!fx_open())
		return;
	t = make_tree("t");
	a = enrol(t.campaign, make_user(t.cc, "a", "Agent"));
	b = enrol(t.campaign, make_user(t.cc, "b", "Agent"));
	cl = attach(t.campaign, t.lead, 1);
	CHECK(map(cl, true, IDS(a, b)) == 2);
	keep();
	EXPECT(ST(user_delete, t.cc, "a"), STORE_OK);
	EXPECT(SC(campaign_user_list, t.campaign, NULL, see_campaign_user, &w, &total), STORE_OK);
	CHECK(total == 1 && ids_are(&w, IDS(b)));
	memset(&w, 0, sizeof(w));
	EXPECT(SC(mapping_get, t.campaign, cl, see_mapping_user, &w), STORE_OK);
	CHECK(ids_are(&w, IDS(b)) && w.flag[0]);
	fx_close();
}

/* ---- the suite, once per backend ---- */

/*
 * Defence in depth: every function that takes the caller's contact center
 * treats another tenant's rows as missing, by its own statements, whatever
 * the caller checked before: NOT_FOUND or no rows, and nothing changed.
 */
static void tenant_scope(void)
{
	struct tree t, o;
	struct proc_child c;
	struct campaign_user cu;
	struct campaign_lead cl;
	struct seen w = { 0 };
	struct hist h = { 0 };
	const char *ids[] = { "carol" };
	int64_t carol, ocu, ocl, lead2, res[1], total, changed[1];
	size_t nchanged = 0;

	if (!fx_open())
		return;
	t = make_tree("t");
	o = make_tree("o");
	carol = make_user(o.cc, "carol", "Agent");
	ocu = enrol(o.campaign, carol);
	ocl = attach(o.campaign, o.lead, 1);
	lead2 = make_lead(o.process, "lead2");
	CHECK(map(ocl, true, 1, &ocu) == 1);
	keep();

	fx.cc = t.cc; /* the other tenant asks for o's rows */
	EXPECT(SC(lead_get, o.process, o.lead, &c), STORE_NOT_FOUND);
	EXPECT(SC(campaign_get, o.process, o.campaign, &c), STORE_NOT_FOUND);
	EXPECT(SC(lead_create, o.process, "x", &c), STORE_NOT_FOUND);
	EXPECT(SC(campaign_create, o.process, "x", &c), STORE_NOT_FOUND);
	total = -1;
	EXPECT(SC(lead_list, o.process, NULL, see_child, &w, &total), STORE_OK);
	CHECK(total == 0 && w.n == 0);
	EXPECT(SC(campaign_list, o.process, NULL, see_child, &w, &total), STORE_OK);
	CHECK(total == 0 && w.n == 0);
	EXPECT(SC(campaign_user_list, o.campaign, NULL, see_campaign_user, &w, &total), STORE_OK);
	CHECK(total == 0 && w.n == 0);
	EXPECT(SC(campaign_lead_list, o.campaign, NULL, see_campaign_lead, &w, &total), STORE_OK);
	CHECK(total == 0 && w.n == 0);
	EXPECT(SC(mapping_get, o.campaign, ocl, see_mapping_user, &w), STORE_OK);
	CHECK(w.n == 0);
	EXPECT(SC(history_list, o.campaign, o.lead, NULL, see_history, &h, &total), STORE_OK);
	CHECK(total == 0 && h.n == 0);
	EXPECT(SC(campaign_users_resolve, o.campaign, ids, 1, res), STORE_OK);
	CHECK(res[0] == 0);
	EXPECT(SC(campaign_lead_find, o.campaign, o.lead, &cl), STORE_NOT_FOUND);
	{
		int64_t held = 0;

		EXPECT(SC(campaign_lead_hold, o.campaign, o.lead, &held), STORE_NOT_FOUND);
	}
	EXPECT(SC(campaign_user_add, o.campaign, carol, &cu), STORE_NOT_FOUND);
	EXPECT(SC(campaign_lead_add, o.campaign, lead2, 1, true, &cl), STORE_NOT_FOUND);
	CHECK(SC(mapping_set, ocl, &ocu, 1, false, changed, &nchanged) != STORE_OK ||
	      nchanged == 0);
	EXPECT(SC(campaign_user_delete, o.campaign, "carol"), STORE_NOT_FOUND);
	EXPECT(SC(campaign_lead_delete, o.campaign, o.lead), STORE_NOT_FOUND);
	EXPECT(SC(lead_delete, o.process, lead2), STORE_NOT_FOUND);
	EXPECT(SC(campaign_delete, o.process, o.campaign), STORE_NOT_FOUND);
	keep();

	fx.cc = o.cc; /* and the owner finds everything as it was */
	EXPECT(SC(lead_get, o.process, lead2, &c), STORE_OK);
	EXPECT(SC(campaign_get, o.process, o.campaign, &c), STORE_OK);
	EXPECT(SC(lead_list, o.process, NULL, see_child, &w, &total), STORE_OK);
	CHECK(total == 2);
	EXPECT(SC(campaign_list, o.process, NULL, see_child, &w, &total), STORE_OK);
	CHECK(total == 1);
	EXPECT(SC(campaign_user_list, o.campaign, NULL, see_campaign_user, &w, &total), STORE_OK);
	CHECK(total == 1);
	EXPECT(SC(campaign_lead_list, o.campaign, NULL, see_campaign_lead, &w, &total), STORE_OK);
	CHECK(total == 1);
	memset(&w, 0, sizeof(w));
	EXPECT(SC(mapping_get, o.campaign, ocl, see_mapping_user, &w), STORE_OK);
	CHECK(w.n == 1 && w.flag[0]); /* carol, still mapped */
	EXPECT(SC(history_list, o.campaign, o.lead, NULL, see_history, &h, &total), STORE_OK);
	CHECK(total == 0);
	EXPECT(SC(campaign_lead_find, o.campaign, o.lead, &cl), STORE_OK);
	CHECK(cl.id == ocl);
	fx_close();
}

/* The look of (campaign, lead), checked to be taken. */
static struct store_look look_at(int64_t campaign, int64_t lead)
{
	struct store_look lk = { .campaign = campaign, .lead = lead };

	EXPECT(ST(look, &lk), STORE_OK);
	/* nothing held: the lead's rows come along, where the look reads them */
	CHECK(lk.done && !lk.read == (be != &pg_be));
	store_look_release(&lk);
	return lk;
}

/* One history entry of (campaign, lead), as a mapping PUT writes it. */
static void add_event(int64_t cc, int64_t campaign, int64_t lead)
{
	struct history_entry h;

	memset(&h, 0, sizeof(h));
	h.campaign_id = campaign;
	h.lead_id = lead;
	h.campaign_lead_id = 1;
	h.changed_at = 1000;
	h.assigned = "[\"a\"]";
	h.unassigned = "[]";
	h.cc = cc;
	EXPECT(ST(history_add, &h), STORE_OK);
}

/*
 * The caches' look (store_look): a lead's version and the head move with
 * its history, and nothing else's; the epoch moves with every committed
 * write that changes what a cache holds, other than a mapping, and not with
 * one that failed or was rolled back.
 */
static void look_moves(void)
{
	struct tree t;
	struct store_look a, b, other;
	uint8_t h1[CMS_TOKEN_HASH];
	int64_t alice, bob, cl;
	size_t i;

	if (!fx_open())
		return;
	t = make_tree("t");
	alice = make_user(t.cc, "alice", "Supervisor");
	bob = make_user(t.cc, "bob", "Agent");
	cl = attach(t.campaign, t.lead, 1);
	token_hash(h1, 1);
	EXPECT(ST(token_add, h1, alice, t.cc, 1800000000), STORE_OK);
	keep();
	a = look_at(t.campaign, t.lead);
	other = look_at(t.campaign, t.lead + 1000);
	CHECK(a.version == 0 && other.version == 0);
	/* the lead's own event moves its version and the head, not the epoch */
	add_event(t.cc, t.campaign, t.lead);
	keep();
	b = look_at(t.campaign, t.lead);
	CHECK(b.version > a.version && b.head == b.version && b.head > a.head);
	CHECK(b.epoch == a.epoch);
	CHECK(look_at(t.campaign, t.lead + 1000).version == 0);
	/* a mapping written without its entry (the PUT always writes one) and
	 * a new token or enrolment that nobody cached move nothing... */
	a = b;
	CHECK(map(cl, true, 0, NULL) == 0);
	keep();
	b = look_at(t.campaign, t.lead);
	CHECK(b.epoch == a.epoch && b.version == a.version && b.head == a.head);
	/* ...but each of these moves the epoch */
	for (i = 0; i < 6; i++) {
		a = look_at(t.campaign, t.lead);
		switch (i) {
		case 0:
			EXPECT(SC(user_update, "bob", NULL, "Supervisor", NULL), STORE_OK);
			break;
		case 1:
			enrol(t.campaign, bob);
			break;
		case 2:
			EXPECT(SC(campaign_user_delete, t.campaign, "bob"), STORE_OK);
			break;
		case 3:
			EXPECT(ST(token_delete, h1), STORE_OK);
			break;
		case 4:
			EXPECT(SC(campaign_lead_delete, t.campaign, t.lead), STORE_OK);
			break;
		case 5:
			EXPECT(SC(user_delete, "bob"), STORE_OK);
			break;
		}
		keep();
		b = look_at(t.campaign, t.lead);
		if (b.epoch <= a.epoch)
			fprintf(stderr, "  write %zu did not move the epoch\n", i);
		CHECK(b.epoch > a.epoch);
	}
	/* a failed write and a rolled back one leave it */
	a = look_at(t.campaign, t.lead);
	EXPECT(SC(user_delete, "nobody"), STORE_NOT_FOUND);
	EXPECT(SC(user_update, "alice", NULL, "Agent", NULL), STORE_OK);
	store_rollback(fx.s);
	CHECK(store_begin(fx.s, true) == STORE_OK);
	b = look_at(t.campaign, t.lead);
	CHECK(b.epoch == a.epoch);
	fx_close();
}

/* A look's rows as text: the lead, then each user and whether mapped. */
static int read_user(void *ctx, const void *row)
{
	const struct mapping_user *mu = row;

	strbuf_addf(ctx, " %lld:%s:%d", (long long)mu->campaign_user_id, mu->user_id,
		    mu->mapped);
	return 0;
}

static char *read_text(const struct store_look *lk)
{
	struct strbuf sb = STRBUF_INIT;
	struct campaign_lead c;
	int rc = store_look_lead(lk, &c);

	strbuf_addf(&sb, "%d", rc);
	if (!rc)
		strbuf_addf(&sb, " %lld %lld %lld %lld %d", (long long)c.id,
			    (long long)c.campaign_id, (long long)c.lead_id,
			    (long long)c.priority, c.enabled);
	CHECK(store_look_mapping(lk, read_user, &sb) == STORE_OK);
	return strbuf_detach(&sb);
}

/* Whether two looks read the same rows. */
static bool same_read(const struct store_look *a, const struct store_look *b)
{
	char *x = read_text(a), *y = read_text(b);
	bool same = !strcmp(x, y);

	if (!same)
		fprintf(stderr, "  read [%s], its own look [%s]\n", x, y);
	free(x);
	free(y);
	return same;
}

/*
 * Many looks in two statements at most (store_look_many, PostgreSQL's):
 * each the same as its own look, in the order given, whatever else is in
 * the list, rows and all: a lead held at its stamps reads none, one held at
 * older stamps or not held reads them, as its own aimed look would.
 */
static void look_many(void)
{
	struct tree t;
	struct store_look want[3], lk[7], *lks[7];
	int64_t cl, cu[2];
	size_t i;

	if (!fx_open())
		return;
	if (!store_url_looks_many(be == &pg_be ? "postgresql://x" : "sqlite:x")) {
		CHECK(be != &pg_be); /* SQLite's looks need no round trip */
		fx_close();
		return;
	}
	t = make_tree("t");
	cl = attach(t.campaign, t.lead, 1);
	/* three users enrolled, two of them mapped to the lead */
	cu[0] = enrol(t.campaign, make_user(t.cc, "ann", "Agent"));
	cu[1] = enrol(t.campaign, make_user(t.cc, "ben", "Agent"));
	enrol(t.campaign, make_user(t.cc, "cyd", "Agent"));
	CHECK(map(cl, true, 2, cu) == 2);
	add_event(t.cc, t.campaign, t.lead);
	add_event(t.cc, t.campaign, t.lead);
	keep();
	want[0] = look_at(t.campaign, t.lead);
	want[1] = (struct store_look){ .campaign = 0, .lead = 0 };
	EXPECT(ST(look, &want[1]), STORE_OK); /* no lead: no rows */
	CHECK(want[1].done && !want[1].read);
	want[2] = look_at(t.campaign, t.lead + 1000);
	CHECK(want[0].version > 0 && want[2].version == 0);
	memset(lk, 0, sizeof(lk));
	lk[0] = (struct store_look){ .campaign = t.campaign, .lead = t.lead };
	lk[1] = (struct store_look){ .campaign = 0, .lead = 0 };
	lk[2] = (struct store_look){ .campaign = t.campaign, .lead = t.lead + 1000 };
	/* held at the current stamps, and at older ones */
	lk[3] = (struct store_look){ .campaign = t.campaign, .lead = t.lead, .held = true,
				     .held_epoch = want[0].epoch,
				     .held_version = want[0].version, .plain = true };
	lk[4] = lk[3];
	lk[4].held_version = want[0].version - 1;
	/* not held: read as the cache's first look at a lead */
	lk[5] = (struct store_look){ .campaign = t.campaign, .lead = t.lead };
	lk[6] = (struct store_look){ .campaign = t.campaign, .lead = t.lead + 1000 };
	for (i = 0; i < 7; i++)
		lks[i] = &lk[i];
	lk[0].held = false;
	/* as the looker's connection runs it: its plans made once */
	EXPECT(store_plans_once(fx.s), STORE_OK);
	EXPECT(store_look_many(fx.s, lks, 7), STORE_OK);
	for (i = 0; i < 7; i++) {
		const struct store_look *w = &want[i == 0 || i >= 3 ? (i == 6 ? 2 : 0) : i];

		CHECK(lk[i].done && !lk[i].failed);
		CHECK(lk[i].head == w->head && lk[i].epoch == w->epoch);
		CHECK(lk[i].version == w->version);
	}
	/* rows exactly where a look of its own reads them */
	CHECK(!lk[1].read && !lk[3].read);
	CHECK(lk[3].plain);
	for (i = 0; i < 7; i++) {
		struct store_look own = lk[i];

		if (i == 1 || i == 3)
			continue;
		own.done = false;
		own.read = NULL;
		own.plain = false;
		EXPECT(ST(look, &own), STORE_OK);
		CHECK(lk[i].read && own.read);
		CHECK(same_read(&lk[i], &own));
		store_look_release(&own);
	}
	for (i = 0; i < 7; i++)
		store_look_release(&lk[i]);
	/* a statement that fails fails every look of it, and each look then
	 * answers that failure without a statement of its own */
	for (i = 0; i < 3; i++)
		lk[i] = (struct store_look){ .campaign = t.campaign, .lead = t.lead };
	store_fault_arm(fx.s, 1, STORE_UNAVAILABLE);
	EXPECT(store_look_many(fx.s, lks, 3), STORE_UNAVAILABLE);
	store_fault_arm(fx.s, 0, STORE_OK);
	for (i = 0; i < 3; i++)
		CHECK(!lk[i].done && lk[i].failed == STORE_UNAVAILABLE);
	EXPECT(ST(look, &lk[0]), STORE_UNAVAILABLE);
	CHECK(store_statement_count(fx.s) == 0 && !lk[0].done);
	/* the plain looks go first, in a statement of their own; when the one
	 * with rows then fails, the plain ones fail with it */
	lk[0] = lk[3];
	lk[0].done = false;
	lk[0].failed = 0;
	lk[1] = (struct store_look){ .campaign = t.campaign, .lead = t.lead };
	store_fault_arm(fx.s, 2, STORE_UNAVAILABLE);
	EXPECT(store_look_many(fx.s, lks, 2), STORE_UNAVAILABLE);
	store_fault_arm(fx.s, 0, STORE_OK);
	for (i = 0; i < 2; i++)
		CHECK(!lk[i].done && !lk[i].read && lk[i].failed == STORE_UNAVAILABLE);
	fx_close();
}

static const struct unit_test tests[] = {
	{ "open_and_migrate", open_and_migrate },
	{ "transactions", transactions },
	{ "contact_centers", contact_centers },
	{ "ids_never_reused", ids_never_reused },
	{ "list_callback_stops", list_callback_stops },
	{ "users", users },
	{ "users_resolve", users_resolve },
	{ "user_delete_cascades", user_delete_cascades },
	{ "processes", processes },
	{ "leads_and_campaigns", children },
	{ "lead_in_use_campaign_cascades", lead_in_use_campaign_cascades },
	{ "path_check", path_check },
	{ "campaign_in_scope", campaign_in_scope },
	{ "campaign_users", campaign_users },
	{ "campaign_leads", campaign_leads },
	{ "mapping_set", mapping_set },
	{ "mapping_get", mapping_get },
	{ "mapping_list", mapping_list },
	{ "history", history },
	{ "mapping_put", mapping_put },
	{ "mapping_put_group", mapping_put_group },
	{ "history_of_deletes", history_of_deletes },
	{ "own_events", own_events },
	{ "tokens", tokens },
	{ "tenant_scope", tenant_scope },
	{ "look_moves", look_moves },
	{ "look_many", look_many },
};

static void run_on(const struct backend *b)
{
	be = b;
	serial = 0;
	unit_run(b->suite, tests, sizeof(tests) / sizeof(tests[0]));
	be = NULL;
}

void suite_store(void)
{
	if (unit_selected("store")) {
		sq_dir = tmpdir_make("store"); /* NULL: every test fails */
		run_on(&sqlite_be);
		tmpdir_remove(sq_dir);
		sq_dir = NULL;
	}
	if (!unit_selected("store_pg"))
		return;
	pg_base = getenv("CMSD_TEST_PG");
	if (!pg_base || !*pg_base) {
		printf("SKIP unit.store_pg: CMSD_TEST_PG not set\n");
		return;
	}
	run_on(&pg_be);
}
