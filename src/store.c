/*
 * store.c - the domain functions of store.h, over the executor
 * (store_exec.h) and the statements of store_stmt.c.
 *
 * Here is what the store means: which statements a domain function runs and
 * in what order, how their rows fill the structs of store.h, the choice of a
 * backend from the --db URL and the versioned migrations loop.  No SQL text
 * lives here; values reach SQL only as bound parameters.
 *
 * Invariants kept here as well as at the edge: ids are never reused; a
 * campaign lead joins a lead and a campaign of one process; a campaign user
 * belongs to the campaign's contact center; a mapping joins a campaign lead
 * and a campaign user of one campaign.  Deletes refuse or cascade exactly as
 * docs/decisions.md says; the foreign keys of the schema back every check
 * that is made before a write, so a concurrent writer on another node can
 * never slip in between (the write then fails, and the request with it).
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "metrics.h"
#include "sql.h"
#include "store_exec.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define MIGRATE_ATTEMPTS 20 /* nodes starting at once retry their DDL */

/* ---- rows ---- */

static void fill_cc(struct rows *r, void *row)
{
	struct cc *c = row;

	c->id = rows_int(r, 0);
	rows_text(r, 1, c->name, sizeof(c->name));
}

static void fill_user(struct rows *r, void *row)
{
	struct user *u = row;

	u->pk = rows_int(r, 0);
	u->cc_id = rows_int(r, 1); /* NULL reads as 0 */
	rows_text(r, 2, u->user_id, sizeof(u->user_id));
	rows_text(r, 3, u->name, sizeof(u->name));
	rows_text(r, 4, u->role, sizeof(u->role));
	rows_text(r, 5, u->pw_hash, sizeof(u->pw_hash));
}

static void fill_process(struct rows *r, void *row)
{
	struct process *p = row;

	p->id = rows_int(r, 0);
	p->cc_id = rows_int(r, 1);
	rows_text(r, 2, p->name, sizeof(p->name));
}

static void fill_child(struct rows *r, void *row)
{
	struct proc_child *c = row;

	c->id = rows_int(r, 0);
	c->process_id = rows_int(r, 1);
	rows_text(r, 2, c->name, sizeof(c->name));
}

static void fill_campaign_user(struct rows *r, void *row)
{
	struct campaign_user *cu = row;

	cu->id = rows_int(r, 0);
	cu->campaign_id = rows_int(r, 1);
	rows_text(r, 2, cu->user_id, sizeof(cu->user_id));
}

/* A campaign lead from CL_COLS at column `col` on. */
static void read_campaign_lead(struct rows *r, int col, struct campaign_lead *cl)
{
	cl->id = rows_int(r, col);
	cl->campaign_id = rows_int(r, col + 1);
	cl->lead_id = rows_int(r, col + 2);
	cl->priority = rows_int(r, col + 3);
	cl->enabled = rows_int(r, col + 4) != 0;
}

/* Two integers (int64_t[2]). */
static void fill_pair(struct rows *r, void *row)
{
	int64_t *v = row;

	v[0] = rows_int(r, 0);
	v[1] = rows_int(r, 1);
}

static void fill_campaign_lead(struct rows *r, void *row)
{
	read_campaign_lead(r, 0, row);
}

static void fill_token(struct rows *r, void *row)
{
	struct token_info *t = row;

	t->user_pk = rows_int(r, 0);
	t->context_cc = rows_int(r, 1); /* NULL (System) is 0 */
	t->expires_at = rows_int(r, 2);
	rows_text(r, 3, t->user_id, sizeof(t->user_id));
	rows_text(r, 4, t->role, sizeof(t->role));
	t->epoch = rows_int(r, 5);
}

/* ---- lifecycle ---- */

/* The backends, by the prefix of the --db URL. */
static const struct {
	const char *prefix;
	const struct sql_backend *be;
} backends[] = {
	{ "sqlite:", &sqlite_backend },
	{ "postgresql://", &pg_backend },
	{ "postgres://", &pg_backend },
};

/* The backend of `url`, or NULL. */
static const struct sql_backend *backend_of(const char *url)
{
	size_t i;

	for (i = 0; url && i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strncmp(url, backends[i].prefix, strlen(backends[i].prefix)))
			return backends[i].be;
	return NULL;
}

int store_open(const char *url, struct store **out, char *err, size_t errlen)
{
	const struct sql_backend *be = backend_of(url);

	*out = NULL;
	if (!err) /* snprintf(NULL, 0, ...) writes nothing */
		errlen = 0;
	if (errlen)
		err[0] = '\0';
	if (be)
		return be->open(url, out, err, errlen);
	snprintf(err, errlen,
		 "unsupported database URL (want sqlite:PATH or postgresql://...)");
	return -1;
}

int store_backup(const char *url, const char *to, bool force, struct store_backup_info *info,
		 char *err, size_t errlen)
{
	const struct sql_backend *be = backend_of(url);

	memset(info, 0, sizeof(*info));
	if (be && be->backup)
		return be->backup(url, to, force, info, err, errlen);
	snprintf(err, errlen, "%s", be ? be->backup_hint : "unsupported database URL (want sqlite:PATH)");
	return STORE_ERROR;
}

/* Forgets the transaction's own events (store_own_events). */
static void own_forget(struct store *s)
{
	size_t i;

	for (i = 0; i < s->nown; i++) {
		free((char *)s->own[i].assigned);
		free((char *)s->own[i].unassigned);
	}
	s->nown = 0;
}

/* NULL is fine. */
void store_close(struct store *s)
{
	struct look_memo *memo;

	if (!s)
		return;
	memo = s->memo;
	own_forget(s);
	free(s->own);
	s->be->close(s);
	free(memo);
}

/*
 * Applies migration `m` unless the database already has it: one write
 * transaction that creates the version table if needed, re-reads the version
 * and applies the migration and its version row together.  Two nodes that
 * start at once on one store queue on SQLite's write lock; on PostgreSQL the
 * second one's version row (written first) or DDL collides with the first
 * one's and fails (STORE_RETRY or STORE_EXISTS), and it tries again,
 * finding the work done.
 */
static int migrate_one(struct store *s, const struct migration *m, int latest)
{
	int64_t current = 0;
	int rc;

	rc = store_begin(s, true);
	if (rc != STORE_OK)
		goto out;
	rc = exec_script(s, s->be->version_ddl, "schema_version");
	if (rc != STORE_OK)
		goto out;
	rc = exec_fetch(s, ST_SCHEMA_VERSION, NULL, 0, STORE_ERROR, rows_fill_int64,
		   &current);
	if (rc != STORE_OK)
		goto out;
	if (current > latest) {
		/* a newer cmsd has migrated it: its data may mean things this
		 * one does not know, so refuse rather than guess */
		log_msgf("error", "%s: the store's schema version is %lld, newer than %d, "
			 "the latest this cmsd knows: a newer cmsd has migrated it. "
			 "Nothing was changed; run that newer cmsd, or restore a backup "
			 "taken before the upgrade (docs/operations.md)",
			 s->be->name, (long long)current, latest);
		rc = STORE_ERROR;
		goto out;
	}
	if (current < m->version) {
		/* the version row first: a node that started at the same moment
		 * waits on its key and then fails (EXISTS) and tries again,
		 * rather than run DDL beside ours (a CREATE OR REPLACE of a
		 * function both run would fail as "tuple concurrently updated",
		 * which is no retry) */
		rc = exec_run(s, ST_SCHEMA_SET,
			 ARGS(A_I(m->version), A_I((int64_t)time(NULL))),
			 STORE_ERROR, NULL);
		if (rc != STORE_OK)
			goto out;
		rc = exec_script(s, m->sql, "migration");
		if (rc != STORE_OK)
			goto out;
		rc = store_commit(s);
		if (rc == STORE_OK)
			log_msgf("info", "%s: schema migrated to version %d",
				 s->be->name, m->version);
		goto out;
	}
	rc = store_commit(s);
out:
	if (rc != STORE_OK)
		store_rollback(s);
	return rc;
}

/* Applies every pending migration in order; safe on every start and from
 * several processes at once. */
int store_migrate(struct store *s)
{
	const struct migration *m = s->be->migrations;
	size_t n = 0, i;
	int rc = STORE_OK, attempt;

	while (m[n].version)
		n++;
	for (i = 0; i < n && rc == STORE_OK; i++) {
		for (attempt = 1; attempt <= MIGRATE_ATTEMPTS; attempt++) {
			rc = migrate_one(s, &m[i], m[n - 1].version);
			if (rc != STORE_RETRY && rc != STORE_EXISTS)
				break;
			usleep(10000u * (unsigned)attempt);
		}
	}
	/* every node says where it stands, not only the one that migrated */
	if (rc == STORE_OK && n)
		log_msgf("info", "%s: schema at version %d", s->be->name, m[n - 1].version);
	return rc;
}

int store_ping(struct store *s)
{
	int64_t one = 0;

	return exec_fetch(s, ST_PING, NULL, 0, STORE_ERROR, rows_fill_int64, &one);
}

/* The executor sends the BEGIN before the next statement (store_exec.c). */
int store_begin(struct store *s, bool write)
{
	s->appended = 0;
	own_forget(s);
	s->alone = false;
	s->failed = false;
	s->begin = write ? ST_BEGIN_WRITE : ST_BEGIN;
	return STORE_OK;
}

bool store_failed(const struct store *s)
{
	return s->failed;
}

bool store_ran_alone(const struct store *s)
{
	return s->alone;
}

/* A COMMIT that fails with RETRY may leave the transaction open: the caller
 * rolls back.  A transaction that ran nothing was never begun. */
int store_commit(struct store *s)
{
	if (s->alone || s->begin) {
		s->alone = false;
		s->begin = ST_NONE;
		return STORE_OK;
	}
	return exec_run(s, ST_COMMIT, NULL, 0, STORE_ERROR, NULL);
}

/* Rolls back the open transaction, if the backend has not already done so
 * (SQLite does on some I/O errors; a lost connection has none). */
void store_rollback(struct store *s)
{
	s->begin = ST_NONE;
	s->alone = false;
	s->failed = false;
	s->appended = 0; /* nothing of it stands */
	own_forget(s);
	if (exec_in_txn(s))
		exec_run(s, ST_ROLLBACK, NULL, 0, STORE_ERROR, NULL);
}

int64_t store_written(const struct store *s)
{
	return s->be->written ? s->be->written(s) : (int64_t)s->statements_all;
}

/*
 * Every write that changes what a cache may hold, other than a lead's
 * mapping (which its history entry versions), moves the epoch in its own
 * transaction, as its last statement (on PostgreSQL the row's lock is then
 * held only until the commit that follows).
 */
static int bump_epoch(struct store *s, int rc)
{
	return rc ? rc : exec_run(s, ST_EPOCH_BUMP, NULL, 0, STORE_ERROR, NULL);
}

/* ---- paths and scopes ---- */

int store_path_check(struct store *s, const struct store_path *p,
		     const char **object, int64_t *id)
{
	const struct {
		enum stmt st;
		const char *object;
		int64_t id, parent; /* parent 0: not checked */
	} steps[] = {
		{ ST_CC_EXISTS, "contactCenter", p->cc, 0 },
		{ ST_PROCESS_EXISTS, "process", p->process, p->cc },
		{ ST_CAMPAIGN_EXISTS, "campaign", p->campaign, p->process },
		{ ST_LEAD_EXISTS, "lead", p->lead, p->process },
	};
	int64_t one = 0;
	size_t i;
	int rc = STORE_OK;

	if (object)
		*object = NULL;
	if (id)
		*id = 0;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct arg a[2] = { A_I(steps[i].id), A_I(steps[i].parent) };

		if (!steps[i].id)
			continue;
		/* the contact center has no parent parameter */
		rc = exec_fetch(s, steps[i].st, a, i ? 2 : 1, STORE_ERROR,
			   rows_fill_int64, &one);
		if (rc == STORE_NOT_FOUND) {
			if (object)
				*object = steps[i].object;
			if (id)
				*id = steps[i].id;
		}
		if (rc != STORE_OK)
			break;
	}
	return rc;
}

int store_campaign_in_scope(struct store *s, int64_t scope, int64_t campaign)
{
	int64_t one = 0;

	return exec_fetch(s, ST_CAMPAIGN_IN_SCOPE, ARGS(A_I(campaign), A_I(scope)),
		     STORE_ERROR, rows_fill_int64, &one);
}

/* ---- contact centers ---- */

int store_cc_create(struct store *s, const char *name, struct cc *out)
{
	return exec_fetch(s, ST_CC_CREATE, ARGS(A_T(name)), STORE_ERROR, fill_cc,
		     out);
}

int store_cc_get(struct store *s, int64_t id, struct cc *out)
{
	return exec_fetch(s, ST_CC_GET, ARGS(A_I(id)), STORE_ERROR, fill_cc, out);
}

int store_cc_list(struct store *s, int64_t scope, const struct page *pg,
		  store_row_fn fn, void *ctx, int64_t *total)
{
	struct cc row;

	return exec_list(s, ST_CC_COUNT, ST_CC_PAGE, ARGS(A_I(scope)), pg,
			 fill_cc, &row, fn, ctx, total);
}

int store_cc_delete(struct store *s, int64_t id)
{
	return bump_epoch(s, exec_delete(s, ST_CC_IN_USE, ST_CC_DELETE, ARGS(A_I(id))));
}

/* ---- users ---- */

/* NOT_FOUND when u->cc_id names no contact center. */
int store_user_create(struct store *s, struct user *u)
{
	return exec_fetch(s, ST_USER_CREATE,
		     ARGS(A_T(u->user_id), A_ID(u->cc_id), A_T(u->name),
			  A_T(u->role), A_T(u->pw_hash[0] ? u->pw_hash : NULL)),
		     STORE_NOT_FOUND, rows_fill_int64, &u->pk);
}

int store_user_get(struct store *s, int64_t cc, const char *user_id,
		   struct user *out)
{
	return exec_fetch(s, ST_USER_GET, ARGS(A_T(user_id), A_I(cc)), STORE_ERROR,
		     fill_user, out);
}

/* cc 0 lists every user, the system administrator included. */
int store_user_list(struct store *s, int64_t cc, const struct page *pg,
		    store_row_fn fn, void *ctx, int64_t *total)
{
	struct user row;

	if (!cc)
		return exec_list(s, ST_USER_COUNT_ALL, ST_USER_PAGE_ALL, NULL,
				 0, pg, fill_user, &row, fn, ctx, total);
	return exec_list(s, ST_USER_COUNT_CC, ST_USER_PAGE_CC, ARGS(A_I(cc)),
			 pg, fill_user, &row, fn, ctx, total);
}

/* An empty (non-NULL) pw_hash removes the password. */
int store_user_update(struct store *s, int64_t cc, const char *user_id,
		      const char *name, const char *role, const char *pw_hash)
{
	int64_t n = 0;
	int rc;

	rc = exec_run(s, ST_USER_UPDATE,
		 ARGS(A_T(user_id), A_I(cc), A_T(name), A_T(role),
		      A_T(pw_hash)),
		 STORE_ERROR, &n);
	if (rc == STORE_OK && n == 0)
		rc = STORE_NOT_FOUND;
	/* A new password ends every session of the old one. */
	if (rc == STORE_OK && pw_hash)
		rc = exec_run(s, ST_TOKEN_DELETE_USER, ARGS(A_T(user_id), A_I(cc)), STORE_ERROR, &n);
	return bump_epoch(s, rc);
}

/*
 * What a delete that takes mappings with it runs before it: on a backend
 * that has them (store_pg.c; SQLite has one writer), `row` locks the row
 * that goes and `below` what hangs below it, each in a statement of its own;
 * then `history` records the mappings that go as events of `cause`.
 */
struct gone {
	enum stmt row, below, history;
	const char *cause;
};

static const struct gone user_gone = {
	ST_LOCK_USER, ST_LOCK_USER_GONE, ST_HISTORY_USER_GONE, "userDeleted",
};
static const struct gone cu_gone = {
	ST_LOCK_CU_GONE, ST_NONE, ST_HISTORY_CU_GONE, "campaignUserRemoved",
};
static const struct gone cl_gone = {
	ST_LOCK_CL_GONE, ST_NONE, ST_HISTORY_CL_GONE, "leadDetached",
};
static const struct gone campaign_gone = {
	ST_LOCK_CAMPAIGN, ST_LOCK_CAMPAIGN_GONE, ST_HISTORY_CAMPAIGN_GONE, "campaignDeleted",
};

/*
 * Records in the history the mappings that the delete about to run with
 * arguments (a1, a2), in contact center cc, takes with it, under the actor
 * of store_set_actor().  NOT_FOUND when the locked row is not there (then
 * nothing else runs).  The locks first, so that the history sees every
 * mapping the delete's cascade removes: at READ COMMITTED a mapping written
 * after the history's snapshot would otherwise go without its event (an
 * enrolment made after the locks were taken, a PUT on it after the history
 * was read).
 */
static int history_gone(struct store *s, const struct gone *g, struct arg a1, struct arg a2,
			int64_t cc)
{
	struct timespec now;
	int64_t n = 0, one = 0;
	int rc = STORE_OK;

	if (sql_text(s->be, g->row))
		rc = exec_fetch(s, g->row, ARGS(a1, a2, A_I(cc)), STORE_ERROR, rows_fill_int64,
				&one);
	if (!rc && sql_text(s->be, g->below))
		rc = exec_run(s, g->below, ARGS(a1, a2, A_I(cc)), STORE_ERROR, NULL);
	if (rc)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	rc = exec_run(s, g->history,
		      ARGS(a1, a2, A_I((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000),
			   A_T(s->actor), A_T(s->request_id), A_I(cc), A_T(g->cause)),
		      STORE_ERROR, &n);
	s->appended += n;
	return rc;
}

void store_set_actor(struct store *s, const char *user_id, const char *request_id)
{
	snprintf(s->actor, sizeof(s->actor), "%s", user_id ? user_id : "");
	snprintf(s->request_id, sizeof(s->request_id), "%s", request_id ? request_id : "");
}

int store_user_delete(struct store *s, int64_t cc, const char *user_id)
{
	int rc = history_gone(s, &user_gone, A_T(user_id), A_I(cc), cc);

	return bump_epoch(s, rc ? rc : exec_delete(s, ST_NONE, ST_USER_DELETE,
						     ARGS(A_T(user_id), A_I(cc))));
}

int store_user_delete_system(struct store *s, const char *keep, int64_t *n)
{
	int rc;

	*n = 0;
	rc = exec_run(s, ST_USER_DELETE_SYSTEM, ARGS(A_T(keep)), STORE_ERROR, n);
	/* their tokens may be in another node's cache: it reads them again */
	return rc || !*n ? rc : bump_epoch(s, rc);
}

/* One statement for the whole list, so a PUT of 5,000 users costs one round
 * trip to the store, not 5,000 (SQLite, in the process, runs it per
 * element).  NULL ids resolve to 0. */
int store_users_resolve(struct store *s, int64_t cc, const char *const *ids,
			size_t n, int64_t *pks)
{
	return exec_resolve(s, ST_USER_PK_MANY, ARGS(A_TEXTS(ids, n), A_I(cc)), pks, n);
}

/* ---- processes, leads and campaigns: one generic implementation ---- */

/* The statements of one kind of object that hangs below a parent. */
struct kind {
	enum stmt create, get, count, page;
	enum stmt in_use; /* ST_NONE: delete cascades instead */
	enum stmt del;
	fill_fn fill;
	/* its statements end with the caller's contact center (a process is
	 * a contact center's own row: its parent is the scope) */
	bool scoped;
};

static const struct kind process_kind = {
	ST_PROCESS_CREATE, ST_PROCESS_GET, ST_PROCESS_COUNT, ST_PROCESS_PAGE,
	ST_PROCESS_IN_USE, ST_PROCESS_DELETE, fill_process, false,
};
static const struct kind lead_kind = {
	ST_LEAD_CREATE, ST_LEAD_GET, ST_LEAD_COUNT, ST_LEAD_PAGE,
	ST_LEAD_IN_USE, ST_LEAD_DELETE, fill_child, true,
};
static const struct kind campaign_kind = {
	ST_CAMPAIGN_CREATE, ST_CAMPAIGN_GET, ST_CAMPAIGN_COUNT,
	ST_CAMPAIGN_PAGE, ST_NONE, ST_CAMPAIGN_DELETE, fill_child, true,
};

/* The arguments x, y and, for a scoped kind, the contact center cc. */
#define KIND_ARGS(k, x, y, cc)                                                 \
	(const struct arg[]){ x, y, A_I(cc) }, (k)->scoped ? 3 : 2

/* EXISTS when the name is taken below `parent`; NOT_FOUND when the parent
 * does not exist (in contact center cc). */
static int kind_create(struct store *s, const struct kind *k, int64_t cc,
		       int64_t parent, const char *name, void *out)
{
	return exec_fetch(s, k->create, KIND_ARGS(k, A_I(parent), A_T(name), cc),
			  STORE_NOT_FOUND, k->fill, out);
}

/* NOT_FOUND unless object `id` exists below `parent` (0: anywhere). */
static int kind_get(struct store *s, const struct kind *k, int64_t cc,
		    int64_t parent, int64_t id, void *out)
{
	return exec_fetch(s, k->get, KIND_ARGS(k, A_I(id), A_I(parent), cc),
			  STORE_ERROR, k->fill, out);
}

static int kind_list(struct store *s, const struct kind *k, int64_t cc,
		     int64_t parent, const struct page *pg, void *row,
		     store_row_fn fn, void *ctx, int64_t *total)
{
	const struct arg a[2] = { A_I(parent), A_I(cc) };

	return exec_list(s, k->count, k->page, a, k->scoped ? 2 : 1, pg,
			 k->fill, row, fn, ctx, total);
}

static int kind_delete(struct store *s, const struct kind *k, int64_t cc,
		       int64_t parent, int64_t id)
{
	return bump_epoch(s, exec_delete(s, k->in_use, k->del,
					 KIND_ARGS(k, A_I(id), A_I(parent), cc)));
}

int store_process_create(struct store *s, int64_t cc, const char *name,
			 struct process *out)
{
	return kind_create(s, &process_kind, 0, cc, name, out);
}

int store_process_get(struct store *s, int64_t cc, int64_t id,
		      struct process *out)
{
	return kind_get(s, &process_kind, 0, cc, id, out);
}

int store_process_list(struct store *s, int64_t cc, const struct page *pg,
		       store_row_fn fn, void *ctx, int64_t *total)
{
	struct process row;

	return kind_list(s, &process_kind, 0, cc, pg, &row, fn, ctx, total);
}

int store_process_delete(struct store *s, int64_t cc, int64_t id)
{
	return kind_delete(s, &process_kind, 0, cc, id);
}

int store_lead_create(struct store *s, int64_t cc, int64_t process,
		      const char *name, struct proc_child *out)
{
	return kind_create(s, &lead_kind, cc, process, name, out);
}

int store_lead_get(struct store *s, int64_t cc, int64_t process, int64_t id,
		   struct proc_child *out)
{
	return kind_get(s, &lead_kind, cc, process, id, out);
}

int store_lead_list(struct store *s, int64_t cc, int64_t process,
		    const struct page *pg, store_row_fn fn, void *ctx,
		    int64_t *total)
{
	struct proc_child row;

	return kind_list(s, &lead_kind, cc, process, pg, &row, fn, ctx, total);
}

int store_lead_delete(struct store *s, int64_t cc, int64_t process, int64_t id)
{
	return kind_delete(s, &lead_kind, cc, process, id);
}

int store_campaign_create(struct store *s, int64_t cc, int64_t process,
			  const char *name, struct proc_child *out)
{
	return kind_create(s, &campaign_kind, cc, process, name, out);
}

int store_campaign_get(struct store *s, int64_t cc, int64_t process, int64_t id,
		       struct proc_child *out)
{
	return kind_get(s, &campaign_kind, cc, process, id, out);
}

int store_campaign_list(struct store *s, int64_t cc, int64_t process,
			const struct page *pg, store_row_fn fn, void *ctx,
			int64_t *total)
{
	struct proc_child row;

	return kind_list(s, &campaign_kind, cc, process, pg, &row, fn, ctx, total);
}

int store_campaign_delete(struct store *s, int64_t cc, int64_t process,
			  int64_t id)
{
	int rc = history_gone(s, &campaign_gone, A_I(id), A_I(process), cc);

	return rc ? rc : kind_delete(s, &campaign_kind, cc, process, id); /* bumps */
}

/* ---- campaign users ---- */

/*
 * NOT_FOUND when the campaign or the user is missing, or the user belongs to
 * another contact center than the campaign (or the caller, cc).  The insert
 * then wrote nothing and failed on nothing (on PostgreSQL it holds both
 * parents as it reads them: one being deleted is waited for, then missing),
 * so the caller may still ask which one it was.  An enrolment the insert
 * found stays until the read that follows: PostgreSQL's insert locks it
 * (DO UPDATE), and SQLite's write lock holds everything.
 */
int store_campaign_user_add(struct store *s, int64_t cc, int64_t campaign,
			    int64_t user_pk, struct campaign_user *out)
{
	int64_t n = 0;
	int rc = exec_run(s, ST_CU_ADD, ARGS(A_I(campaign), A_I(user_pk), A_I(cc)),
			  STORE_NOT_FOUND, &n);

	if (!rc)
		rc = exec_fetch(s, ST_CU_GET, ARGS(A_I(campaign), A_I(user_pk), A_I(cc)),
				STORE_ERROR, fill_campaign_user, out);
	/* a new campaign user is in every lead's unassigned list */
	return n ? bump_epoch(s, rc) : rc;
}

int store_campaign_user_list(struct store *s, int64_t cc, int64_t campaign,
			     const struct page *pg, store_row_fn fn, void *ctx,
			     int64_t *total)
{
	struct campaign_user row;

	return exec_list(s, ST_CU_COUNT, ST_CU_PAGE, ARGS(A_I(campaign), A_I(cc)), pg,
			 fill_campaign_user, &row, fn, ctx, total);
}

int store_campaign_user_delete(struct store *s, int64_t cc, int64_t campaign,
			       const char *user_id)
{
	int rc = history_gone(s, &cu_gone, A_I(campaign), A_T(user_id), cc);

	return bump_epoch(s, rc ? rc : exec_delete(s, ST_NONE, ST_CU_DELETE,
						     ARGS(A_I(campaign), A_T(user_id), A_I(cc))));
}

/* Fails only on a storage error; ids not enrolled are 0. */
int store_campaign_users_resolve(struct store *s, int64_t cc, int64_t campaign,
				 const char *const *ids, size_t n,
				 int64_t *cu_ids)
{
	return exec_resolve(s, ST_CU_RESOLVE_MANY,
			    ARGS(A_TEXTS(ids, n), A_I(campaign), A_I(cc)), cu_ids, n);
}

/* ---- campaign leads ---- */

/* NOT_FOUND when the campaign or the lead is missing, or the lead belongs to
 * another process than the campaign (or the caller's contact center). */
int store_campaign_lead_add(struct store *s, int64_t cc, int64_t campaign,
			    int64_t lead, int64_t priority, bool enabled,
			    struct campaign_lead *out)
{
	return exec_fetch(s, ST_CL_ADD,
			  ARGS(A_I(campaign), A_I(lead), A_I(priority),
			       A_I(enabled ? 1 : 0), A_I(cc)),
			  STORE_NOT_FOUND, fill_campaign_lead, out);
}

int store_campaign_lead_list(struct store *s, int64_t cc, int64_t campaign,
			     const struct page *pg, store_row_fn fn, void *ctx,
			     int64_t *total)
{
	struct campaign_lead row;

	return exec_list(s, ST_CL_COUNT, ST_CL_PAGE, ARGS(A_I(campaign), A_I(cc)), pg,
			 fill_campaign_lead, &row, fn, ctx, total);
}

int store_campaign_lead_delete(struct store *s, int64_t cc, int64_t campaign,
			       int64_t lead)
{
	int rc = history_gone(s, &cl_gone, A_I(campaign), A_I(lead), cc);

	return bump_epoch(s, rc ? rc : exec_delete(s, ST_NONE, ST_CL_DELETE,
						     ARGS(A_I(campaign), A_I(lead), A_I(cc))));
}

int store_campaign_lead_find(struct store *s, int64_t cc, int64_t campaign,
			     int64_t lead, struct campaign_lead *out)
{
	return exec_fetch(s, ST_CL_FIND, ARGS(A_I(campaign), A_I(lead), A_I(cc)),
			  STORE_ERROR, fill_campaign_lead, out);
}

/* ---- the lead-user mapping ---- */

/* held = the campaign lead of (campaign, lead) and its contact center, held
 * (ST_CL_HOLD); both 0 when not attached (NOT_FOUND). */
static int hold_lead(struct store *s, int64_t cc, int64_t campaign, int64_t lead,
		     int64_t held[2])
{
	held[0] = held[1] = 0;
	return exec_fetch(s, ST_CL_HOLD, ARGS(A_I(campaign), A_I(lead), A_I(cc)), STORE_ERROR,
			  fill_pair, held);
}

int store_campaign_lead_hold(struct store *s, int64_t cc, int64_t campaign, int64_t lead,
			     int64_t *cl)
{
	int64_t held[2];
	int rc = hold_lead(s, cc, campaign, lead, held);

	*cl = held[0];
	return rc;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The campaign user ids that a mapping change answers: room for n. */
struct changed_ids {
	int64_t *v; /* NULL: only counted */
	size_t n, room;
};

static int collect_changed(void *ctx, const void *row)
{
	struct changed_ids *c = ctx;

	if (c->v && c->n < c->room)
		c->v[c->n] = *(const int64_t *)row;
	c->n++;
	return 0;
}

/*
 * Maps or unmaps campaign users cu_ids[0..n) on campaign lead cl, all in one
 * statement (per element on SQLite); idempotent, and an id listed twice
 * changes once.  Ids that are not campaign users of the campaign lead's
 * campaign (store_campaign_users_resolve() gave them, so only a concurrent
 * delete makes one vanish) are left alone.  The caller holds the campaign
 * lead (store_campaign_lead_hold()).
 */
int store_mapping_set(struct store *s, int64_t cc, int64_t cl,
		      const int64_t *cu_ids, size_t n, bool mapped,
		      int64_t *changed, size_t *nchanged)
{
	struct changed_ids c = { changed, 0, n };
	int64_t *sorted = NULL;
	int rc = STORE_OK;

	/* an unmapping answers in ascending order, as the primary key gives
	 * them on PostgreSQL and SQLite's IN list did */
	if (n && !mapped) {
		sorted = xmalloc(n * sizeof(*sorted));
		memcpy(sorted, cu_ids, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_id);
		cu_ids = sorted;
	}
	if (n)
		rc = exec_changed(s, mapped ? ST_MAP_ADD_MANY : ST_MAP_REMOVE_MANY,
				  ARGS(A_I(cl), A_INTS(cu_ids, n), A_I(cc)),
				  mapped ? STORE_RETRY : STORE_NOT_FOUND,
				  collect_changed, &c);
	if (nchanged)
		*nchanged = changed && c.n > n ? n : c.n;
	free(sorted);
	return rc;
}

/* One campaign user of a lead's mapping. */
struct mu {
	int64_t id;
	char *user_id; /* into the arena: an offset until mu_sort() */
};

/*
 * What a lead's mapping is made of, as read: the campaign's users and the
 * ids of those mapped to the campaign lead, in any order until mu_sort().
 * store_mapping_get() and a look aimed at a lead read it with their own
 * statements; mu_walk() answers both alike.
 */
struct mu_read {
	struct mu *users;
	size_t n;
	struct strbuf arena; /* the user ids, NUL-separated */
	int64_t *mapped;
	size_t nmapped;
};

#define MU_READ_INIT { NULL, 0, STRBUF_INIT, NULL, 0 }

static void mu_add_user(struct mu_read *m, int64_t id, const char *user_id, size_t len)
{
	m->users = xrealloc(m->users, (m->n + 1) * sizeof(*m->users));
	m->users[m->n].id = id;
	/* an offset for now: the arena moves while it grows */
	m->users[m->n++].user_id = (char *)(uintptr_t)m->arena.len;
	strbuf_add(&m->arena, user_id, len);
	strbuf_addch(&m->arena, '\0');
}

static void mu_add_mapped(struct mu_read *m, int64_t id)
{
	m->mapped = xrealloc(m->mapped, (m->nmapped + 1) * sizeof(*m->mapped));
	m->mapped[m->nmapped++] = id;
}

static int cmp_mu(const void *a, const void *b)
{
	return strcmp(((const struct mu *)a)->user_id, ((const struct mu *)b)->user_id);
}

/* Once everything is read: user ids as pointers, users by userId (by
 * bytes, as COLLATE "C" and SQLite's BINARY order them), mapped ids by
 * value. */
static void mu_sort(struct mu_read *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		m->users[i].user_id = m->arena.buf + (uintptr_t)m->users[i].user_id;
	if (m->n)
		qsort(m->users, m->n, sizeof(*m->users), cmp_mu);
	if (m->nmapped)
		qsort(m->mapped, m->nmapped, sizeof(*m->mapped), cmp_id);
}

/* fn(ctx, struct mapping_user) for each user of sorted m, in order. */
static int mu_walk(const struct mu_read *m, store_row_fn fn, void *ctx)
{
	struct mapping_user out;
	size_t i;

	for (i = 0; i < m->n; i++) {
		out.campaign_user_id = m->users[i].id;
		out.user_id = m->users[i].user_id;
		out.mapped = m->nmapped && bsearch(&m->users[i].id, m->mapped, m->nmapped,
						   sizeof(*m->mapped), cmp_id);
		if (fn(ctx, &out))
			return STORE_ERROR;
	}
	return STORE_OK;
}

static void mu_release(struct mu_read *m)
{
	free(m->users);
	strbuf_release(&m->arena);
	free(m->mapped);
}

/* The row buffer of ST_MAP_USERS: its text borrowed until the next row. */
struct mu_row {
	int64_t id;
	const char *user_id;
	size_t len;
};

static void fill_mu(struct rows *r, void *row)
{
	struct mu_row *f = row;

	f->id = rows_int(r, 0);
	f->user_id = rows_text_ref(r, 1, &f->len);
}

static int collect_mu(void *ctx, const void *row)
{
	const struct mu_row *f = row;

	mu_add_user(ctx, f->id, f->user_id, f->len);
	return 0;
}

static int collect_mapped(void *ctx, const void *row)
{
	mu_add_mapped(ctx, *(const int64_t *)row);
	return 0;
}

int store_mapping_get(struct store *s, int64_t cc, int64_t campaign, int64_t cl,
		      store_row_fn fn, void *ctx)
{
	struct mu_read m = MU_READ_INIT;
	struct mu_row row;
	int64_t id;
	int rc;

	rc = exec_each(s, ST_MAP_USERS, ARGS(A_I(campaign), A_I(cc)), fill_mu, &row,
		       collect_mu, &m);
	if (rc == STORE_OK)
		rc = exec_each(s, ST_MAP_MAPPED, ARGS(A_I(cl), A_I(cc)), rows_fill_int64, &id,
			       collect_mapped, &m);
	if (rc == STORE_OK) {
		mu_sort(&m);
		rc = mu_walk(&m, fn, ctx);
	}
	mu_release(&m);
	return rc;
}

/* ---- the caches' look ---- */

/* What a look aimed at a lead read of it (ST_LOOK_LEAD). */
struct store_look_read {
	bool found; /* the lead is attached to the campaign: */
	struct campaign_lead cl;
	struct mu_read m;
};

/* One row of ST_LOOK_LEAD (sql.h) into lk and rd; false on a kind it does
 * not know. */
static bool look_row(struct rows *r, struct store_look *lk, struct store_look_read *rd)
{
	size_t len = 0;
	const char *t;

	switch (rows_int(r, 0)) {
	case 0:
		lk->head = rows_int(r, 1);
		lk->epoch = rows_int(r, 2);
		lk->version = rows_int(r, 3);
		lk->done = true;
		return true;
	case 1:
		read_campaign_lead(r, 1, &rd->cl);
		rd->found = true;
		return true;
	case 2:
		t = rows_text_ref(r, 6, &len);
		mu_add_user(&rd->m, rows_int(r, 1), t, len);
		return true;
	case 3:
		mu_add_mapped(&rd->m, rows_int(r, 1));
		return true;
	}
	return false;
}

/*
 * Not aimed at a lead: ST_LOOK, one row.  Aimed at one: ST_LOOK_LEAD with
 * the held stamps (-1 when none: stamps are never negative), whose rows
 * beyond the first are there exactly when the lead's stamps are not those.
 * A held lead's look is plain when the caller says so (`plain`), followed
 * by an aimed one when the stamps turn out stale: the rows, the stamps and
 * the head are then all the second look's, one snapshot as ever.
 */
bool store_look_reads_rows(const struct store *s)
{
	return sql_text(s->be, ST_LOOK_LEAD) != NULL;
}

/* Whether the look in lk found the lead it aims at changed since the
 * stamps the caller holds it at (a held lead only). */
static bool held_stale(const struct store_look *lk)
{
	return lk->held && (lk->epoch != lk->held_epoch || lk->version != lk->held_version);
}

/* Where a look reads the lead's rows unless its stamps are current: aimed
 * at a lead, on a backend whose look reads them (store_look()). */
static bool look_wants_rows(const struct store *s, const struct store_look *lk)
{
	return lk->campaign && lk->lead && store_look_reads_rows(s);
}

/* Ends a look read from rows into rd (NULL: it reads none): its rows are
 * the look's when its stamps were not those held, the rule of look_once(),
 * which the statement's own test of them mirrors. */
static void look_keep_read(struct store_look *lk, struct store_look_read *rd)
{
	if (rd && lk->done && (!lk->held || held_stale(lk))) {
		mu_sort(&rd->m);
		lk->read = rd;
	} else if (rd) {
		mu_release(&rd->m);
		free(rd);
	}
}

/* One look, aimed at lk's lead (reading its rows unless held at its
 * stamps) or plain. */
static int look_once(struct store *s, struct store_look *lk, bool aimed)
{
	struct store_look_read *rd = NULL;
	struct rows r;
	bool have = false;
	int rc;

	store_look_release(lk);
	metrics_look(aimed);
	if (aimed)
		rc = exec_query(s, &r, ST_LOOK_LEAD,
				ARGS(A_I(lk->campaign), A_I(lk->lead),
				     A_I(lk->held ? lk->held_epoch : -1),
				     A_I(lk->held ? lk->held_version : -1)),
				STORE_ERROR);
	else
		rc = exec_query(s, &r, ST_LOOK, ARGS(A_I(lk->campaign), A_I(lk->lead)),
				STORE_ERROR);
	if (rc)
		return rc;
	if (aimed) {
		rd = xcalloc(1, sizeof(*rd));
		rd->m = (struct mu_read)MU_READ_INIT;
	}
	while (!(rc = rows_next(&r, &have)) && have) {
		if (!aimed) {
			lk->head = rows_int(&r, 0);
			lk->epoch = rows_int(&r, 1);
			lk->version = rows_int(&r, 2);
			lk->done = true;
		} else if (!look_row(&r, lk, rd)) {
			rc = STORE_ERROR;
			break;
		}
	}
	rows_done(&r);
	if (!rc && !lk->done)
		rc = STORE_ERROR; /* change_head has its one row from migration 4 on */
	if (rc)
		lk->done = false;
	look_keep_read(lk, rd);
	return rc;
}

/*
 * The memo: what this connection's last looks found of each lead (head,
 * epoch, the lead's version), each under the backend's generation read just
 * before its look.  While the generation has not moved nothing has
 * committed since, by this process or any other, so the look would find
 * the same: it is answered from here without a statement.  Only a look of
 * its own counts (none in a transaction open or due: that snapshot may be
 * older, or the look must share it), never with a fault armed (the
 * statements a fault counts stay those of a store without the memo).  A
 * slot per (campaign, lead) hash; a collision only costs a look.
 */
#define MEMO_SLOTS 4096 /* 48 bytes each: 192 KiB per connection */

struct look_memo {
	uint64_t gen; /* 0: empty */
	int64_t campaign, lead, head, epoch, version;
};

/* The generation to look under, or 0: no memo for this look. */
static uint64_t memo_gen(struct store *s)
{
	if (!s->be->generation || s->faults || s->begin != ST_NONE || exec_in_txn(s))
		return 0;
	return s->be->generation(s);
}

static struct look_memo *memo_slot(struct store *s, const struct store_look *lk)
{
	uint64_t h = (uint64_t)lk->campaign * 0x9E3779B97F4A7C15u ^
		     (uint64_t)lk->lead * 0xC2B2AE3D27D4EB4Fu;

	if (!s->memo)
		s->memo = xcalloc(MEMO_SLOTS, sizeof(*s->memo));
	return &s->memo[(h >> 32) % MEMO_SLOTS];
}

/* lk from the memo, when it holds the look under generation gen and the
 * look would read no rows (none wanted, or the caller's are current). */
static bool memo_answer(struct store *s, struct store_look *lk, uint64_t gen, bool rows)
{
	struct look_memo *m = memo_slot(s, lk);

	if (m->gen != gen || m->campaign != lk->campaign || m->lead != lk->lead)
		return false;
	if (rows && !(lk->held && m->epoch == lk->held_epoch && m->version == lk->held_version))
		return false;
	lk->head = m->head;
	lk->epoch = m->epoch;
	lk->version = m->version;
	lk->done = true;
	metrics_look_memo();
	return true;
}

static void memo_keep(struct store *s, const struct store_look *lk, uint64_t gen)
{
	struct look_memo *m = memo_slot(s, lk);

	*m = (struct look_memo){ gen, lk->campaign, lk->lead, lk->head, lk->epoch, lk->version };
}

bool store_look_plain(const struct store *s, const struct store_look *lk)
{
	/* the lead's rows too where the backend reads them in the look */
	bool rows = look_wants_rows(s, lk);

	return !rows || (lk->held && lk->plain);
}

int store_look(struct store *s, struct store_look *lk)
{
	bool rows = look_wants_rows(s, lk);
	bool aimed = !store_look_plain(s, lk);
	bool plain = rows && !aimed; /* held: may turn out stale */
	uint64_t gen;
	int rc;

	if (lk->done)
		return STORE_OK;
	if (lk->failed)
		return lk->failed;
	gen = memo_gen(s);
	if (gen && memo_answer(s, lk, gen, rows))
		return STORE_OK;
	rc = look_once(s, lk, aimed);
	if (!rc && plain && held_stale(lk)) {
		lk->done = false; /* what is held is stale after all: read the rows */
		metrics_look_stale();
		rc = look_once(s, lk, true);
	}
	if (!rc && gen)
		memo_keep(s, lk, gen);
	if (rc)
		lk->failed = rc;
	return rc;
}

int store_plans_once(struct store *s)
{
	return s->be->plans_once ? s->be->plans_once(s) : STORE_OK;
}

bool store_url_looks_many(const char *url)
{
	const struct sql_backend *be = backend_of(url);

	return be && sql_text(be, ST_LOOK_MANY) != NULL;
}

/* The plain looks lks[at[0..k)] (ST_LOOK_MANY), each done. */
static int look_many_plain(struct store *s, struct store_look *const *lks, const size_t *at,
			   size_t k, int64_t *c, int64_t *l)
{
	struct rows r;
	bool have = false;
	size_t i;
	int rc;

	for (i = 0; i < k; i++) {
		c[i] = lks[at[i]]->campaign;
		l[i] = lks[at[i]]->lead;
	}
	if ((rc = exec_query(s, &r, ST_LOOK_MANY, ARGS(A_INTS(c, k), A_INTS(l, k)), STORE_ERROR)))
		return rc;
	for (i = 0; i < k; i++) {
		struct store_look *lk = lks[at[i]];

		if ((rc = rows_next(&r, &have)) || !have) {
			rc = STORE_ERROR; /* a look the statement did not answer */
			break;
		}
		lk->head = rows_int(&r, 0);
		lk->epoch = rows_int(&r, 1);
		lk->version = rows_int(&r, 2);
		lk->done = true;
	}
	rows_done(&r);
	if (!rc)
		metrics_look_many(k, false);
	return rc;
}

/* The looks lks[at[0..k)] with their leads' rows where their stamps are
 * not the held ones (ST_LOOK_MANY_ROWS), each done, its rows in rd[]. */
static int look_many_rows(struct store *s, struct store_look *const *lks, const size_t *at,
			  size_t k, int64_t *c, int64_t *l, struct store_look_read **rd)
{
	int64_t *e = xcalloc(k, sizeof(*e)), *v = xcalloc(k, sizeof(*v));
	struct rows r;
	bool have = false;
	size_t i;
	int rc;

	for (i = 0; i < k; i++) {
		const struct store_look *lk = lks[at[i]];

		c[i] = lk->campaign;
		l[i] = lk->lead;
		/* -1 when none held: stamps are never negative */
		e[i] = lk->held ? lk->held_epoch : -1;
		v[i] = lk->held ? lk->held_version : -1;
	}
	rc = exec_query(s, &r, ST_LOOK_MANY_ROWS,
			ARGS(A_INTS(c, k), A_INTS(l, k), A_INTS(e, k), A_INTS(v, k)), STORE_ERROR);
	if (!rc) {
		while (!(rc = rows_next(&r, &have)) && have) {
			int64_t j = rows_int(&r, 7) - 1; /* ORDINALITY counts from 1 */
			size_t i2 = j >= 0 && (size_t)j < k ? at[j] : 0;

			/* a lead's rows after its look */
			if (j < 0 || (size_t)j >= k ||
			    (rows_int(&r, 0) != 0 && !lks[i2]->done) ||
			    !look_row(&r, lks[i2], rd[i2])) {
				rc = STORE_ERROR;
				break;
			}
		}
		rows_done(&r);
	}
	for (i = 0; !rc && i < k; i++)
		if (!lks[at[i]]->done)
			rc = STORE_ERROR; /* a look the statement did not answer */
	if (!rc)
		metrics_look_many(k, true);
	free(e);
	free(v);
	return rc;
}

/*
 * The plain looks first, in one statement; then, in a second, those aimed
 * at a lead whose copy is not held or not believed current, and those of
 * the first found stale after all, each look of the second taken whole
 * again (head, epoch, version and rows in its one snapshot).
 */
int store_look_many(struct store *s, struct store_look *const *lks, size_t n)
{
	size_t m = n ? n : 1;
	int64_t *c = xcalloc(m, sizeof(*c)), *l = xcalloc(m, sizeof(*l));
	size_t *plain = xcalloc(m, sizeof(*plain)), *aimed = xcalloc(m, sizeof(*aimed));
	struct store_look_read **rd = xcalloc(m, sizeof(*rd));
	size_t i, np = 0, na = 0;
	int rc = STORE_OK;

	for (i = 0; i < n; i++) {
		struct store_look *lk = lks[i];

		store_look_release(lk);
		lk->done = false;
		if (look_wants_rows(s, lk)) {
			rd[i] = xcalloc(1, sizeof(*rd[i]));
			rd[i]->m = (struct mu_read)MU_READ_INIT;
		}
		if (store_look_plain(s, lk))
			plain[np++] = i;
		else
			aimed[na++] = i;
	}
	if (np)
		rc = look_many_plain(s, lks, plain, np, c, l);
	for (i = 0; !rc && i < np; i++) {
		struct store_look *lk = lks[plain[i]];

		if (rd[plain[i]] && held_stale(lk)) {
			/* what is held is stale: the rows, and a look of their own */
			metrics_look_stale();
			lk->done = false;
			aimed[na++] = plain[i];
		}
	}
	if (!rc && na)
		rc = look_many_rows(s, lks, aimed, na, c, l, rd);
	for (i = 0; i < n; i++) {
		struct store_look *lk = lks[i];

		if (rc) {
			lk->done = false; /* those read before a statement failed */
			lk->failed = rc;
		}
		look_keep_read(lk, rd[i]);
	}
	free(c);
	free(l);
	free(plain);
	free(aimed);
	free(rd);
	return rc;
}

int store_look_lead(const struct store_look *lk, struct campaign_lead *out)
{
	if (!lk->read)
		return STORE_ERROR;
	if (!lk->read->found)
		return STORE_NOT_FOUND;
	*out = lk->read->cl;
	return STORE_OK;
}

int store_look_mapping(const struct store_look *lk, store_row_fn fn, void *ctx)
{
	return lk->read ? mu_walk(&lk->read->m, fn, ctx) : STORE_ERROR;
}

void store_look_release(struct store_look *lk)
{
	if (!lk->read)
		return;
	mu_release(&lk->read->m);
	free(lk->read);
	lk->read = NULL;
}

/* ---- a mapping PUT ---- */

/* changed[i] = whether cu[i] is among done[0..n) (which it sorts). */
static void mark_changed(const int64_t *cu, size_t ncu, int64_t *done, size_t n,
			 bool *changed)
{
	size_t i;

	if (n)
		qsort(done, n, sizeof(*done), cmp_id);
	for (i = 0; i < ncu; i++)
		changed[i] = n && bsearch(&cu[i], done, n, sizeof(*done), cmp_id);
}

/* Keeps entry h, appended with id `id`, among the transaction's own events
 * (store_own_events), its strings copied. */
static void own_keep(struct store *s, const struct history_entry *h, int64_t id)
{
	struct history_entry *own;

	if (s->nown == s->own_cap) {
		s->own_cap = s->own_cap ? 2 * s->own_cap : 16;
		s->own = xrealloc(s->own, s->own_cap * sizeof(*s->own));
	}
	own = &s->own[s->nown++];
	*own = *h;
	own->id = id;
	own->assigned = xstrdup(h->assigned ? h->assigned : "[]");
	own->unassigned = xstrdup(h->unassigned ? h->unassigned : "[]");
	snprintf(own->cause, sizeof(own->cause), "mapping");
}

int store_history_add(struct store *s, const struct history_entry *h)
{
	int64_t id = 0;
	int rc = exec_insert(s, ST_HISTORY_ADD,
			     ARGS(A_I(h->campaign_id), A_I(h->lead_id), A_I(h->campaign_lead_id),
				  A_I(h->changed_at), A_T(h->changed_by), A_T(h->request_id),
				  A_T(h->assigned), A_T(h->unassigned), A_I(h->cc)),
			     STORE_ERROR, &id);

	if (rc)
		return rc;
	s->appended++;
	own_keep(s, h, id);
	return STORE_OK;
}

const struct history_entry *store_own_events(const struct store *s, size_t *n)
{
	bool all = s->nown && (int64_t)s->nown == s->appended;

	*n = all ? s->nown : 0;
	return all ? s->own : NULL;
}

/*
 * A dry run's changes, read rather than written (as migration 8 does on
 * PostgreSQL), so that it leaves nothing to undo: an assigned campaign user
 * changes unless it is mapped, an unassigned one if it is (a userId is in
 * one list only, and a campaign user is one userId's).
 */
static int dry_changes(struct store *s, int64_t cc, struct mapping_put *m)
{
	struct mu_read r = MU_READ_INIT;
	int64_t id;
	size_t i;
	int rc = exec_each(s, ST_MAP_MAPPED, ARGS(A_I(m->cl), A_I(cc)), rows_fill_int64, &id,
			   collect_mapped, &r);

	if (rc == STORE_OK) {
		mu_sort(&r);
		mark_changed(m->acu, m->nas, r.mapped, r.nmapped, m->achanged);
		for (i = 0; i < m->nas; i++)
			m->achanged[i] = !m->achanged[i];
		mark_changed(m->ucu, m->nun, r.mapped, r.nmapped, m->uchanged);
	}
	mu_release(&r);
	return rc;
}

/* The PUT's steps, one statement each (a backend without ST_MAPPING_PUT_GROUP). */
static int mapping_put_steps(struct store *s, int64_t cc, struct mapping_put *m)
{
	struct strbuf a = STRBUF_INIT, u = STRBUF_INIT;
	struct history_entry h;
	int64_t held[2] = { 0, 0 }; /* the campaign lead, its contact center */
	int64_t *done = xcalloc(m->nas + m->nun + 1, sizeof(*done));
	size_t i, n;
	bool any = false;
	int rc;

	if ((rc = hold_lead(s, cc, m->campaign, m->lead, held)))
		goto out;
	m->cl = held[0];
	if ((rc = store_campaign_users_resolve(s, cc, m->campaign, m->as, m->nas, m->acu)) ||
	    (rc = store_campaign_users_resolve(s, cc, m->campaign, m->un, m->nun, m->ucu)))
		goto out;
	for (i = 0; i < m->nas; i++)
		if (!m->acu[i])
			goto out; /* a userId that is not a campaign user: nothing */
	for (i = 0; i < m->nun; i++)
		if (!m->ucu[i])
			goto out;
	if (m->dry) {
		rc = dry_changes(s, cc, m);
		goto out;
	}
	if ((rc = store_mapping_set(s, cc, m->cl, m->acu, m->nas, true, done, &n)))
		goto out;
	mark_changed(m->acu, m->nas, done, n, m->achanged);
	if ((rc = store_mapping_set(s, cc, m->cl, m->ucu, m->nun, false, done, &n)))
		goto out;
	mark_changed(m->ucu, m->nun, done, n, m->uchanged);
	for (i = 0; i < m->nas; i++)
		any |= m->achanged[i];
	for (i = 0; i < m->nun; i++)
		any |= m->uchanged[i];
	if (!any)
		goto out;
	json_names(&a, m->as, m->achanged, m->nas);
	json_names(&u, m->un, m->uchanged, m->nun);
	memset(&h, 0, sizeof(h));
	h.campaign_id = m->campaign;
	h.lead_id = m->lead;
	h.campaign_lead_id = m->cl;
	h.changed_at = m->changed_at;
	snprintf(h.changed_by, sizeof(h.changed_by), "%s", m->changed_by);
	snprintf(h.request_id, sizeof(h.request_id), "%s", m->request_id);
	h.assigned = strbuf_str(&a);
	h.unassigned = strbuf_str(&u);
	h.cc = held[1];
	rc = store_history_add(s, &h);
out:
	free(done);
	strbuf_release(&a);
	strbuf_release(&u);
	return rc;
}

/* What the rows of one PUT said (ST_MAPPING_PUT_GROUP's, migration 6's
 * after the PUT's number): (0, 0, campaign lead, appended), then (1, i,
 * campaign user, changed) per assigned userId, (2, i, ...) per unassigned. */
struct put_rows {
	struct mapping_put *m;
	bool found;
	int64_t appended;
};

static int take_put_row(struct put_rows *pr, const int64_t *v)
{
	struct mapping_put *m = pr->m;
	size_t i = (size_t)v[1];

	switch (v[0]) {
	case 0:
		pr->found = true;
		m->cl = v[2];
		pr->appended = v[3];
		return 0;
	case 1:
		if (i >= m->nas)
			return 1;
		m->acu[i] = v[2];
		m->achanged[i] = v[3] != 0;
		return 0;
	case 2:
		if (i >= m->nun)
			return 1;
		m->ucu[i] = v[2];
		m->uchanged[i] = v[3] != 0;
		return 0;
	}
	return 1;
}

/* Clears what a PUT answers. */
static void put_clear(struct mapping_put *m)
{
	m->cl = 0;
	memset(m->acu, 0, m->nas * sizeof(*m->acu));
	memset(m->ucu, 0, m->nun * sizeof(*m->ucu));
	memset(m->achanged, 0, m->nas * sizeof(*m->achanged));
	memset(m->uchanged, 0, m->nun * sizeof(*m->uchanged));
}

/* PostgreSQL runs one PUT as a group of one (one statement). */
int store_mapping_put(struct store *s, int64_t cc, struct mapping_put *m)
{
	int rc, one;

	if (!store_puts_grouped(s)) {
		put_clear(m);
		return mapping_put_steps(s, cc, m);
	}
	rc = store_mapping_put_group(s, &cc, &m, &one, 1);
	return rc ? rc : one;
}

bool store_puts_grouped(const struct store *s)
{
	return sql_text(s->be, ST_MAPPING_PUT_GROUP) != NULL;
}

/* The group's arguments, as parallel arrays (migration 8). */
struct put_group_args {
	int64_t *cc, *campaign, *lead, *nas, *nun, *dry, *at;
	const char **ids, **by, **req;
};

/* The rows of ST_MAPPING_PUT_GROUP: (PUT, then a put_rows' four). */
struct put_group_rows {
	struct put_rows *pr;
	size_t n;
};

static void fill_put_group_row(struct rows *r, void *row)
{
	int64_t *v = row;
	int i;

	for (i = 0; i < 5; i++)
		v[i] = rows_int(r, i);
}

static int take_put_group_row(void *ctx, const void *row)
{
	struct put_group_rows *g = ctx;
	const int64_t *v = row;

	if (v[0] < 0 || (size_t)v[0] >= g->n)
		return 1;
	return take_put_row(&g->pr[v[0]], v + 1);
}

/*
 * The group's one statement, a transaction of its own when it is the first
 * of its transaction: its BEGIN and COMMIT would be two more round trips (a
 * test that fails statements one by one wants them all).  When it is, the
 * caller's commit is empty and nothing may follow it (store.alone).
 */
int store_mapping_put_group(struct store *s, const int64_t *cc, struct mapping_put *const *ms,
			    int *rcs, size_t n)
{
	struct put_group_args a;
	struct put_group_rows g = { xcalloc(n + 1, sizeof(*g.pr)), n };
	size_t i, k, nids = 0, at = 0;
	int64_t row[5];
	bool alone;
	int rc;

	for (i = 0; i < n; i++) {
		put_clear(ms[i]);
		nids += ms[i]->nas + ms[i]->nun;
		g.pr[i].m = ms[i];
	}
	a.cc = xcalloc(7 * (n + 1), sizeof(int64_t));
	a.campaign = a.cc + (n + 1);
	a.lead = a.campaign + (n + 1);
	a.nas = a.lead + (n + 1);
	a.nun = a.nas + (n + 1);
	a.dry = a.nun + (n + 1);
	a.at = a.dry + (n + 1);
	a.ids = xcalloc(nids + 2 * n + 1, sizeof(*a.ids));
	a.by = a.ids + nids;
	a.req = a.by + n;
	for (i = 0; i < n; i++) {
		const struct mapping_put *m = ms[i];

		a.cc[i] = cc[i];
		a.campaign[i] = m->campaign;
		a.lead[i] = m->lead;
		a.nas[i] = (int64_t)m->nas;
		a.nun[i] = (int64_t)m->nun;
		a.dry[i] = m->dry ? 1 : 0;
		a.at[i] = m->changed_at;
		a.by[i] = m->changed_by;
		a.req[i] = m->request_id;
		for (k = 0; k < m->nas; k++)
			a.ids[at++] = m->as[k];
		for (k = 0; k < m->nun; k++)
			a.ids[at++] = m->un[k];
	}
	alone = s->begin && !s->faults;
	if (alone)
		s->begin = ST_NONE;
	/* a campaign user deleted since it was resolved: the insert's foreign
	 * key fails, and the group runs again (then it is not one) */
	rc = exec_each_fk(s, ST_MAPPING_PUT_GROUP,
			  ARGS(A_INTS(a.cc, n), A_INTS(a.campaign, n), A_INTS(a.lead, n),
			       A_INTS(a.nas, n), A_INTS(a.nun, n), A_TEXTS(a.ids, nids),
			       A_INTS(a.dry, n), A_INTS(a.at, n), A_TEXTS(a.by, n),
			       A_TEXTS(a.req, n)),
			  STORE_RETRY, fill_put_group_row, row, take_put_group_row, &g);
	s->alone = alone;
	if (alone && rc == STORE_UNAVAILABLE) /* answered 503, yet it may have landed */
		log_msgf("warn", "store: connection lost during %zu mapping PUT(s) (campaign %lld "
				 "lead %lld first), which commit as they return: the history says "
				 "whether they did", n, (long long)ms[0]->campaign,
			 (long long)ms[0]->lead);
	for (i = 0; i < n; i++) {
		rcs[i] = rc ? rc : g.pr[i].found ? STORE_OK : STORE_NOT_FOUND;
		if (!rc)
			s->appended += g.pr[i].appended;
	}
	free(a.cc);
	free(a.ids);
	free(g.pr);
	return rc;
}

int store_mapping_list(struct store *s, int64_t scope, int64_t campaign,
		       const struct page *pg, store_row_fn fn, void *ctx,
		       int64_t *total)
{
	struct campaign_lead row;

	if (campaign)
		return exec_list(s, ST_ML_COUNT_CAMPAIGN, ST_ML_PAGE_CAMPAIGN,
				 ARGS(A_I(campaign), A_I(scope)), pg,
				 fill_campaign_lead, &row, fn, ctx, total);
	if (scope)
		return exec_list(s, ST_ML_COUNT_SCOPE, ST_ML_PAGE_SCOPE,
				 ARGS(A_I(scope)), pg, fill_campaign_lead,
				 &row, fn, ctx, total);
	return exec_list(s, ST_ML_COUNT_ALL, ST_ML_PAGE_ALL, NULL, 0, pg,
			 fill_campaign_lead, &row, fn, ctx, total);
}

/* ---- the mapping's history ---- */

static void fill_history(struct rows *r, void *row)
{
	struct history_entry *h = row;
	size_t n = 0;

	h->id = rows_int(r, 0);
	h->campaign_id = rows_int(r, 1);
	h->lead_id = rows_int(r, 2);
	h->campaign_lead_id = rows_int(r, 3);
	h->changed_at = rows_int(r, 4);
	rows_text(r, 5, h->changed_by, sizeof(h->changed_by));
	rows_text(r, 6, h->request_id, sizeof(h->request_id));
	h->assigned = rows_text_ref(r, 7, &n);
	h->unassigned = rows_text_ref(r, 8, &n);
	h->cc = rows_int(r, 9);
	rows_text(r, 10, h->cause, sizeof(h->cause));
}

int store_history_list(struct store *s, int64_t cc, int64_t campaign,
		       int64_t lead, const struct page *pg, store_row_fn fn,
		       void *ctx, int64_t *total)
{
	struct history_entry row;

	return exec_list(s, ST_HISTORY_COUNT, ST_HISTORY_PAGE,
			 ARGS(A_I(campaign), A_I(lead), A_I(cc)), pg, fill_history, &row,
			 fn, ctx, total);
}

int store_history_before(struct store *s, int64_t cc, int64_t campaign, int64_t lead,
			 int64_t before, int64_t limit, store_row_fn fn, void *ctx)
{
	struct history_entry row;

	return exec_each(s, ST_HISTORY_BEFORE,
			 ARGS(A_I(campaign), A_I(lead), A_I(cc), A_I(before), A_I(limit)),
			 fill_history, &row, fn, ctx);
}

/* ---- the change feed ---- */

int store_feed_head(struct store *s, int64_t *last, int64_t *purged)
{
	int64_t v[2] = { 0, 0 };
	struct rows r;
	bool have = false;
	int rc = exec_query(s, &r, ST_FEED_HEAD, NULL, 0, STORE_ERROR);

	if (rc)
		return rc;
	rc = rows_next(&r, &have);
	if (!rc && have) {
		v[0] = rows_int(&r, 0);
		v[1] = rows_int(&r, 1);
	}
	rows_done(&r);
	*last = v[0];
	*purged = v[1];
	return rc;
}

int store_feed_read(struct store *s, int64_t after, int64_t limit, store_row_fn fn, void *ctx)
{
	struct history_entry row;

	memset(&row, 0, sizeof(row));
	return exec_each(s, ST_FEED_READ, ARGS(A_I(after), A_I(limit)), fill_history, &row, fn,
			 ctx);
}

/* One batch: returns the cursor purged up to, or 0 when nothing is due. */
static int purge_batch(struct store *s, int64_t before, int64_t *upto)
{
	int64_t last = 0, purged = 0, n = 0;
	int rc = store_begin(s, true);

	*upto = 0;
	if (!rc)
		rc = store_feed_head(s, &last, &purged);
	if (!rc)
		rc = exec_fetch(s, ST_FEED_PURGE_FIND, ARGS(A_I(purged), A_I(before)), STORE_ERROR,
				rows_fill_int64, upto);
	if (!rc && *upto > purged) {
		rc = exec_run(s, ST_FEED_PURGE, ARGS(A_I(purged), A_I(*upto)), STORE_ERROR, &n);
		if (!rc)
			rc = exec_run(s, ST_FEED_PURGED, ARGS(A_I(*upto)), STORE_ERROR, &n);
	} else {
		*upto = 0;
	}
	if (!rc)
		rc = store_commit(s);
	if (rc) {
		store_rollback(s);
		*upto = 0;
	}
	return rc;
}

int store_feed_purge(struct store *s, int64_t before, int64_t *purged)
{
	int64_t upto = 0;
	int rc, batches = 0;

	*purged = 0;
	do {
		rc = purge_batch(s, before, &upto);
		if (upto)
			*purged = upto;
	} while (!rc && upto && ++batches < 1000);
	return rc;
}

int64_t store_take_appended(struct store *s)
{
	int64_t n = s->appended;

	s->appended = 0;
	return n;
}

int store_listen(struct store *s)
{
	return s->be->listen ? s->be->listen(s) : -1;
}

bool store_notified(struct store *s)
{
	return s->be->notified ? s->be->notified(s) : false;
}

/* ---- the agent's view ---- */

static void fill_assignment(struct rows *r, void *row)
{
	struct assignment *a = row;

	a->campaign_id = rows_int(r, 0);
	rows_text(r, 1, a->campaign_name, sizeof(a->campaign_name));
	a->process_id = rows_int(r, 2);
	a->lead_id = rows_int(r, 3);
	rows_text(r, 4, a->lead_name, sizeof(a->lead_name));
	a->campaign_lead_id = rows_int(r, 5);
	a->campaign_user_id = rows_int(r, 6);
	a->priority = rows_int(r, 7);
	a->enabled = rows_int(r, 8) != 0;
}

int store_assignments(struct store *s, int64_t cc, int64_t uc, const char *user_id,
		      const struct page *pg, store_row_fn fn, void *ctx, int64_t *total)
{
	struct assignment row;

	return exec_list(s, ST_ASSIGN_COUNT, ST_ASSIGN_PAGE,
			 ARGS(A_T(user_id), A_I(uc), A_I(cc)), pg, fill_assignment, &row, fn, ctx,
			 total);
}

/* ---- tokens ---- */

/* NOT_FOUND when user_pk names no user; EXISTS on a repeated hash. */
int store_token_add(struct store *s, const uint8_t hash[CMS_TOKEN_HASH],
		    int64_t user_pk, int64_t context_cc, int64_t expires_at)
{
	return exec_run(s, ST_TOKEN_ADD,
		   ARGS(A_B(hash, CMS_TOKEN_HASH), A_I(user_pk),
			A_ID(context_cc), A_I(expires_at)),
		   STORE_NOT_FOUND, NULL);
}

int store_token_get(struct store *s, const uint8_t hash[CMS_TOKEN_HASH],
		    int64_t now, struct token_info *out)
{
	return exec_fetch(s, ST_TOKEN_GET,
		     ARGS(A_B(hash, CMS_TOKEN_HASH), A_I(now)), STORE_ERROR,
		     fill_token, out);
}

int store_token_delete(struct store *s, const uint8_t hash[CMS_TOKEN_HASH])
{
	return bump_epoch(s, exec_delete(s, ST_NONE, ST_TOKEN_DELETE,
					 ARGS(A_B(hash, CMS_TOKEN_HASH))));
}

/* Deletes every token expired at `now` (expires_at <= now), as
 * store_token_get() sees them. */
int store_token_purge(struct store *s, int64_t now)
{
	return exec_run(s, ST_TOKEN_PURGE, ARGS(A_I(now)), STORE_ERROR, NULL);
}
