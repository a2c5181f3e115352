/*
 * store.c - the store.h interface over a SQL backend (sql.h).
 *
 * Everything that is the same for every backend lives here: the choice of a
 * backend from the --db URL, the SQL statements (one table, in the dialect
 * that SQLite and PostgreSQL share, indexed by `enum stmt`), the generic
 * helpers that run them, the versioned migrations loop and the domain
 * functions of store.h.  Values reach SQL only as bound parameters; no SQL is
 * ever formatted.
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

#include <jansson.h>

#include "log.h"
#include "sql.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_ARGS 8 /* bound parameters of the largest statement, + paging */
#define MIGRATE_ATTEMPTS 20 /* nodes starting at once retry their DDL */

/* ---- the statements ---- */

/* Column lists shared by the statements that fill one struct. */
#define CU_COLS "cu.id, cu.campaign_id, u.user_id"
#define CL_COLS "cl.id, cl.campaign_id, cl.lead_id, cl.priority, cl.enabled"
#define CU_FROM "FROM campaign_user cu JOIN users u ON u.pk = cu.user_pk "
#define CL_SCOPED_FROM                                                         \
	"FROM campaign_lead cl JOIN campaign c ON c.id = cl.campaign_id "      \
	"JOIN process p ON p.id = c.process_id "

#define S(id, text) [id] = { #id, text }

/*
 * Parameters are numbered; a list's page statement takes the count
 * statement's parameters followed by LIMIT and OFFSET.  `(?2 = 0 OR x = ?2)`
 * appears only beside a primary-key or unique lookup, where it costs nothing.
 */
static const struct {
	const char *name; /* for logs */
	const char *sql;
} stmts[ST__COUNT] = {
	S(ST_BEGIN, "BEGIN"),
	/* backends say how a write transaction takes its locks */
	S(ST_BEGIN_WRITE, "BEGIN"),
	S(ST_COMMIT, "COMMIT"),
	S(ST_ROLLBACK, "ROLLBACK"),
	/* reads the file, so a broken or vanished database fails the ping */
	S(ST_PING, "SELECT COUNT(*) FROM schema_version"),
	S(ST_SCHEMA_VERSION, "SELECT COALESCE(MAX(version), 0) FROM schema_version"),
	S(ST_SCHEMA_SET,
	  "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)"),

	S(ST_CC_EXISTS, "SELECT 1 FROM contact_center WHERE id = ?1"),
	S(ST_PROCESS_EXISTS,
	  "SELECT 1 FROM process WHERE id = ?1 AND (?2 = 0 OR cc_id = ?2)"),
	S(ST_CAMPAIGN_EXISTS,
	  "SELECT 1 FROM campaign WHERE id = ?1 AND (?2 = 0 OR process_id = ?2)"),
	S(ST_LEAD_EXISTS,
	  "SELECT 1 FROM lead WHERE id = ?1 AND (?2 = 0 OR process_id = ?2)"),
	S(ST_CAMPAIGN_IN_SCOPE,
	  "SELECT 1 FROM campaign c JOIN process p ON p.id = c.process_id"
	  " WHERE c.id = ?1 AND (?2 = 0 OR p.cc_id = ?2)"),

	S(ST_CC_CREATE,
	  "INSERT INTO contact_center (name) VALUES (?1) RETURNING id, name"),
	S(ST_CC_GET, "SELECT id, name FROM contact_center WHERE id = ?1"),
	/* contact centers are few: a scan with the scope test is fine */
	S(ST_CC_COUNT,
	  "SELECT COUNT(*) FROM contact_center WHERE ?1 = 0 OR id = ?1"),
	S(ST_CC_PAGE,
	  "SELECT id, name FROM contact_center WHERE ?1 = 0 OR id = ?1"
	  " ORDER BY id LIMIT ?2 OFFSET ?3"),
	/* no row: missing; else whether anything still hangs below it */
	S(ST_CC_IN_USE,
	  "SELECT EXISTS (SELECT 1 FROM users WHERE cc_id = c.id)"
	  " OR EXISTS (SELECT 1 FROM process WHERE cc_id = c.id)"
	  " FROM contact_center c WHERE c.id = ?1"),
	S(ST_CC_DELETE, "DELETE FROM contact_center WHERE id = ?1"),

	S(ST_USER_CREATE,
	  "INSERT INTO users (user_id, cc_id, name, role, pw_hash)"
	  " VALUES (?1, ?2, ?3, ?4, ?5) RETURNING pk"),
	S(ST_USER_GET,
	  "SELECT pk, cc_id, user_id, name, role, pw_hash FROM users"
	  " WHERE user_id = ?1 AND (?2 = 0 OR cc_id = ?2)"),
	S(ST_USER_COUNT_CC, "SELECT COUNT(*) FROM users WHERE cc_id = ?1"),
	S(ST_USER_PAGE_CC,
	  "SELECT pk, cc_id, user_id, name, role, NULL FROM users"
	  " WHERE cc_id = ?1 ORDER BY pk LIMIT ?2 OFFSET ?3"),
	S(ST_USER_COUNT_ALL, "SELECT COUNT(*) FROM users"),
	S(ST_USER_PAGE_ALL,
	  "SELECT pk, cc_id, user_id, name, role, NULL FROM users"
	  " ORDER BY pk LIMIT ?1 OFFSET ?2"),
	/* NULL leaves a field alone */
	S(ST_USER_UPDATE,
	  "UPDATE users SET name = COALESCE(?3, name),"
	  " role = COALESCE(?4, role),"
	  " pw_hash = COALESCE(?5, pw_hash)"
	  " WHERE user_id = ?1 AND (?2 = 0 OR cc_id = ?2)"),
	S(ST_USER_DELETE,
	  "DELETE FROM users WHERE user_id = ?1 AND (?2 = 0 OR cc_id = ?2)"),
	/* ids as one JSON array of text: each backend unpacks it its own way */
	S(ST_USER_PK_MANY, NULL),

	S(ST_PROCESS_CREATE,
	  "INSERT INTO process (cc_id, name) VALUES (?1, ?2)"
	  " RETURNING id, cc_id, name"),
	S(ST_PROCESS_GET,
	  "SELECT id, cc_id, name FROM process"
	  " WHERE id = ?1 AND (?2 = 0 OR cc_id = ?2)"),
	S(ST_PROCESS_COUNT, "SELECT COUNT(*) FROM process WHERE cc_id = ?1"),
	S(ST_PROCESS_PAGE,
	  "SELECT id, cc_id, name FROM process WHERE cc_id = ?1"
	  " ORDER BY id LIMIT ?2 OFFSET ?3"),
	S(ST_PROCESS_IN_USE,
	  "SELECT EXISTS (SELECT 1 FROM lead WHERE process_id = p.id)"
	  " OR EXISTS (SELECT 1 FROM campaign WHERE process_id = p.id)"
	  " FROM process p WHERE p.id = ?1 AND (?2 = 0 OR p.cc_id = ?2)"),
	S(ST_PROCESS_DELETE,
	  "DELETE FROM process WHERE id = ?1 AND (?2 = 0 OR cc_id = ?2)"),

	S(ST_LEAD_CREATE,
	  "INSERT INTO lead (process_id, name) VALUES (?1, ?2)"
	  " RETURNING id, process_id, name"),
	S(ST_LEAD_GET,
	  "SELECT id, process_id, name FROM lead"
	  " WHERE id = ?1 AND (?2 = 0 OR process_id = ?2)"),
	S(ST_LEAD_COUNT, "SELECT COUNT(*) FROM lead WHERE process_id = ?1"),
	S(ST_LEAD_PAGE,
	  "SELECT id, process_id, name FROM lead WHERE process_id = ?1"
	  " ORDER BY id LIMIT ?2 OFFSET ?3"),
	S(ST_LEAD_IN_USE,
	  "SELECT EXISTS (SELECT 1 FROM campaign_lead WHERE lead_id = l.id)"
	  " FROM lead l WHERE l.id = ?1 AND (?2 = 0 OR l.process_id = ?2)"),
	S(ST_LEAD_DELETE,
	  "DELETE FROM lead WHERE id = ?1 AND (?2 = 0 OR process_id = ?2)"),

	S(ST_CAMPAIGN_CREATE,
	  "INSERT INTO campaign (process_id, name) VALUES (?1, ?2)"
	  " RETURNING id, process_id, name"),
	S(ST_CAMPAIGN_GET,
	  "SELECT id, process_id, name FROM campaign"
	  " WHERE id = ?1 AND (?2 = 0 OR process_id = ?2)"),
	S(ST_CAMPAIGN_COUNT,
	  "SELECT COUNT(*) FROM campaign WHERE process_id = ?1"),
	S(ST_CAMPAIGN_PAGE,
	  "SELECT id, process_id, name FROM campaign WHERE process_id = ?1"
	  " ORDER BY id LIMIT ?2 OFFSET ?3"),
	/* campaign users, campaign leads and mappings go by cascade */
	S(ST_CAMPAIGN_DELETE,
	  "DELETE FROM campaign WHERE id = ?1 AND (?2 = 0 OR process_id = ?2)"),

	/* only a user of the campaign's own contact center is enrolled */
	S(ST_CU_ADD,
	  "INSERT INTO campaign_user (campaign_id, user_pk)"
	  " SELECT c.id, u.pk FROM campaign c"
	  " JOIN process p ON p.id = c.process_id"
	  " JOIN users u ON u.cc_id = p.cc_id"
	  " WHERE c.id = ?1 AND u.pk = ?2 ON CONFLICT DO NOTHING"),
	S(ST_CU_GET,
	  "SELECT " CU_COLS " " CU_FROM
	  "WHERE cu.campaign_id = ?1 AND cu.user_pk = ?2"),
	S(ST_CU_COUNT,
	  "SELECT COUNT(*) FROM campaign_user WHERE campaign_id = ?1"),
	S(ST_CU_PAGE,
	  "SELECT " CU_COLS " " CU_FROM
	  "WHERE cu.campaign_id = ?1 ORDER BY cu.id LIMIT ?2 OFFSET ?3"),
	/* its mappings go by cascade */
	S(ST_CU_DELETE,
	  "DELETE FROM campaign_user WHERE campaign_id = ?1"
	  " AND user_pk = (SELECT pk FROM users WHERE user_id = ?2)"),
	S(ST_CU_RESOLVE_MANY, NULL),

	/* no row inserted: the campaign or the lead is missing, or they belong
	 * to different processes */
	S(ST_CL_ADD,
	  "INSERT INTO campaign_lead (campaign_id, lead_id, priority, enabled)"
	  " SELECT c.id, l.id, ?3, ?4 FROM campaign c"
	  " JOIN lead l ON l.process_id = c.process_id"
	  " WHERE c.id = ?1 AND l.id = ?2"
	  " RETURNING id, campaign_id, lead_id, priority, enabled"),
	S(ST_CL_FIND,
	  "SELECT " CL_COLS " FROM campaign_lead cl"
	  " WHERE cl.campaign_id = ?1 AND cl.lead_id = ?2"),
	/* a PUT of one lead's mapping holds its campaign lead, so that PUTs of
	 * the same lead queue instead of interleaving (SQLite's write lock
	 * already covers the whole database; PostgreSQL adds FOR UPDATE) */
	S(ST_CL_LOCK, "SELECT id FROM campaign_lead WHERE id = ?1"),
	S(ST_CL_COUNT,
	  "SELECT COUNT(*) FROM campaign_lead WHERE campaign_id = ?1"),
	S(ST_CL_PAGE,
	  "SELECT " CL_COLS " FROM campaign_lead cl WHERE cl.campaign_id = ?1"
	  " ORDER BY cl.id LIMIT ?2 OFFSET ?3"),
	S(ST_CL_DELETE,
	  "DELETE FROM campaign_lead WHERE campaign_id = ?1 AND lead_id = ?2"),

	/* campaign user ids as one JSON array of numbers; only those of the
	 * campaign lead's own campaign are mapped; both answer the campaign
	 * user ids they changed */
	S(ST_MAP_ADD_MANY, NULL),
	S(ST_MAP_REMOVE_MANY, NULL),
	/* a lead's mapping is two range scans, merged and sorted in C: one
	 * join per user and a sort by the database cost twice as much */
	S(ST_MAP_USERS,
	  "SELECT cu.id, u.user_id " CU_FROM "WHERE cu.campaign_id = ?1"),
	S(ST_MAP_MAPPED,
	  "SELECT campaign_user_id FROM lead_user WHERE campaign_lead_id = ?1"),
	/* three shapes of the mapping list, so that each uses its index */
	S(ST_ML_COUNT_CAMPAIGN,
	  "SELECT COUNT(*) " CL_SCOPED_FROM
	  "WHERE cl.campaign_id = ?1 AND (?2 = 0 OR p.cc_id = ?2)"),
	S(ST_ML_PAGE_CAMPAIGN,
	  "SELECT " CL_COLS " " CL_SCOPED_FROM
	  "WHERE cl.campaign_id = ?1 AND (?2 = 0 OR p.cc_id = ?2)"
	  " ORDER BY cl.id LIMIT ?3 OFFSET ?4"),
	S(ST_ML_COUNT_SCOPE,
	  "SELECT COUNT(*) " CL_SCOPED_FROM "WHERE p.cc_id = ?1"),
	S(ST_ML_PAGE_SCOPE,
	  "SELECT " CL_COLS " " CL_SCOPED_FROM
	  "WHERE p.cc_id = ?1 ORDER BY cl.id LIMIT ?2 OFFSET ?3"),
	/* every campaign lead has a campaign and a process: no join needed */
	S(ST_ML_COUNT_ALL, "SELECT COUNT(*) FROM campaign_lead"),
	S(ST_ML_PAGE_ALL,
	  "SELECT " CL_COLS " FROM campaign_lead cl"
	  " ORDER BY cl.id LIMIT ?1 OFFSET ?2"),

	S(ST_HISTORY_ADD,
	  "INSERT INTO mapping_history (campaign_id, lead_id, campaign_lead_id,"
	  " changed_at, changed_by, request_id, assigned, unassigned)"
	  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
	/* mappings that a delete takes with it, one entry per campaign lead:
	 * ?1 and ?2 are the delete's own, ?3 now, ?4 actor, ?5 request id;
	 * the JSON of the users is each backend's own */
	S(ST_HISTORY_CU_GONE, NULL),
	S(ST_HISTORY_CL_GONE, NULL),
	S(ST_HISTORY_USER_GONE, NULL),
	S(ST_HISTORY_CAMPAIGN_GONE, NULL),
	S(ST_HISTORY_COUNT,
	  "SELECT COUNT(*) FROM mapping_history"
	  " WHERE campaign_id = ?1 AND lead_id = ?2"),
	S(ST_HISTORY_PAGE,
	  "SELECT id, campaign_id, lead_id, campaign_lead_id, changed_at,"
	  " changed_by, request_id, assigned, unassigned FROM mapping_history"
	  " WHERE campaign_id = ?1 AND lead_id = ?2"
	  " ORDER BY id DESC LIMIT ?3 OFFSET ?4"),

	S(ST_TOKEN_ADD,
	  "INSERT INTO token (hash, user_pk, context_cc, expires_at)"
	  " VALUES (?1, ?2, ?3, ?4)"),
	S(ST_TOKEN_GET,
	  "SELECT t.user_pk, t.context_cc, t.expires_at, u.user_id, u.role"
	  " FROM token t JOIN users u ON u.pk = t.user_pk"
	  " WHERE t.hash = ?1 AND t.expires_at > ?2"),
	S(ST_TOKEN_DELETE, "DELETE FROM token WHERE hash = ?1"),
	S(ST_TOKEN_DELETE_USER,
	  "DELETE FROM token WHERE user_pk ="
	  " (SELECT pk FROM users WHERE user_id = ?1 AND (?2 = 0 OR cc_id = ?2))"),
	S(ST_TOKEN_PURGE, "DELETE FROM token WHERE expires_at <= ?1"),
};

#undef S

const char *sql_text(const struct sql_backend *be, enum stmt id)
{
	if (id <= ST_NONE || id >= ST__COUNT)
		return NULL;
	if (be->sql && be->sql[id])
		return be->sql[id];
	return stmts[id].sql;
}

const char *sql_name(enum stmt id)
{
	if (id <= ST_NONE || id >= ST__COUNT || !stmts[id].name)
		return "ST_NONE";
	return stmts[id].name;
}

/* ---- running statements ---- */

/* Copies the current row of `r` into `row`, a struct the caller knows. */
typedef void (*fill_fn)(struct rows *r, void *row);

/* Starts statement `id` with a[0..na): walk `r` with next(), then done(). */
static int query(struct store *s, struct rows *r, enum stmt id,
		 const struct arg *a, size_t na, int fk_rc)
{
	memset(r, 0, sizeof(*r));
	r->s = s;
	r->id = id;
	r->fk_rc = fk_rc;
	return s->be->query(r, a, na);
}

static void done(struct rows *r)
{
	r->s->be->done(r);
}

/* Runs statement `id` to its end; *changes (if not NULL) gets the number of
 * rows it inserted, updated or deleted (cascades not counted). */
static int run(struct store *s, enum stmt id, const struct arg *a, size_t na,
	       int fk_rc, int64_t *changes)
{
	struct rows r;
	bool have = true;
	int rc;

	rc = query(s, &r, id, a, na, fk_rc);
	if (rc != STORE_OK)
		return rc;
	while (rc == STORE_OK && have)
		rc = s->be->next(&r, &have);
	if (rc == STORE_OK && changes)
		*changes = r.changes;
	done(&r);
	return rc;
}

/*
 * Runs statement `id` and fills `row` from its first row; NOT_FOUND when
 * there is none.  The statement is walked to its end, so that an INSERT ...
 * RETURNING completes and any late constraint failure is seen.
 */
static int fetch(struct store *s, enum stmt id, const struct arg *a,
		 size_t na, int fk_rc, fill_fn fill, void *row)
{
	struct rows r;
	bool have = false, found = false;
	int rc;

	rc = query(s, &r, id, a, na, fk_rc);
	if (rc != STORE_OK)
		return rc;
	do {
		rc = s->be->next(&r, &have);
		if (rc == STORE_OK && have && !found) {
			fill(&r, row);
			found = true;
		}
	} while (rc == STORE_OK && have);
	if (rc == STORE_OK && !found)
		rc = STORE_NOT_FOUND;
	done(&r);
	return rc;
}

/* Calls fn(ctx, row) for each row of statement `id` with a[0..na); a
 * non-zero return stops the walk with STORE_ERROR. */
static int each_row(struct store *s, enum stmt id, const struct arg *a,
		    size_t na, fill_fn fill, void *row, store_row_fn fn,
		    void *ctx)
{
	struct rows r;
	bool have = true;
	int rc;

	rc = query(s, &r, id, a, na, STORE_ERROR);
	if (rc != STORE_OK)
		return rc;
	while (rc == STORE_OK) {
		rc = s->be->next(&r, &have);
		if (rc != STORE_OK || !have)
			break;
		fill(&r, row);
		if (fn(ctx, row))
			rc = STORE_ERROR;
	}
	done(&r);
	return rc;
}

static void fill_int64(struct rows *r, void *row)
{
	*(int64_t *)row = r->s->be->col_int(r, 0);
}

/*
 * The generic paged list: *total (if not NULL) from statement `count` with
 * a[0..na), then fn(ctx, row) for each row of statement `page` with the same
 * arguments followed by the page's limit and offset (no page: every row).
 * `row` is the caller's buffer of the type `fill` writes.
 */
static int list_rows(struct store *s, enum stmt count, enum stmt page,
		     const struct arg *a, size_t na, const struct page *pg,
		     fill_fn fill, void *row, store_row_fn fn, void *ctx,
		     int64_t *total)
{
	struct arg all[MAX_ARGS];
	int rc;

	if (na + 2 > MAX_ARGS) {
		log_msgf("error", "store %s: too many arguments", sql_name(page));
		return STORE_ERROR;
	}
	if (total) {
		rc = fetch(s, count, a, na, STORE_ERROR, fill_int64, total);
		if (rc != STORE_OK)
			return rc;
	}
	if (na)
		memcpy(all, a, na * sizeof(*a));
	all[na] = A_I(pg ? pg->limit : INT64_MAX);
	all[na + 1] = A_I(pg ? pg->offset : 0);
	return each_row(s, page, all, na + 2, fill, row, fn, ctx);
}

/*
 * Deletes with statement `del`; when `in_use` is given it runs first with the
 * same arguments and answers no row (NOT_FOUND), non-zero (IN_USE) or 0 (go
 * on).  A delete that removes nothing is NOT_FOUND; a foreign key that still
 * holds the row is IN_USE.
 */
static int delete_guarded(struct store *s, enum stmt in_use, enum stmt del,
			  const struct arg *a, size_t na)
{
	int64_t busy = 0, n = 0;
	int rc;

	if (in_use != ST_NONE) {
		rc = fetch(s, in_use, a, na, STORE_ERROR, fill_int64, &busy);
		if (rc != STORE_OK)
			return rc;
		if (busy)
			return STORE_IN_USE;
	}
	rc = run(s, del, a, na, STORE_IN_USE, &n);
	if (rc == STORE_OK && n == 0)
		rc = STORE_NOT_FOUND;
	return rc;
}

/* ---- rows ---- */

/* Copies text column `col` into buf[size], cut at a UTF-8 character boundary
 * when it does not fit; NULL reads as "". */
static void col_text(struct rows *r, int col, char *buf, size_t size)
{
	size_t n = 0;
	const char *t = r->s->be->col_text(r, col, &n);

	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80)
			n--;
	}
	if (n)
		memcpy(buf, t, n);
	buf[n] = '\0';
}

static int64_t col_int(struct rows *r, int col)
{
	return r->s->be->col_int(r, col);
}

static void fill_cc(struct rows *r, void *row)
{
	struct cc *c = row;

	c->id = col_int(r, 0);
	col_text(r, 1, c->name, sizeof(c->name));
}

static void fill_user(struct rows *r, void *row)
{
	struct user *u = row;

	u->pk = col_int(r, 0);
	u->cc_id = col_int(r, 1); /* NULL reads as 0 */
	col_text(r, 2, u->user_id, sizeof(u->user_id));
	col_text(r, 3, u->name, sizeof(u->name));
	col_text(r, 4, u->role, sizeof(u->role));
	col_text(r, 5, u->pw_hash, sizeof(u->pw_hash));
}

static void fill_process(struct rows *r, void *row)
{
	struct process *p = row;

	p->id = col_int(r, 0);
	p->cc_id = col_int(r, 1);
	col_text(r, 2, p->name, sizeof(p->name));
}

static void fill_child(struct rows *r, void *row)
{
	struct proc_child *c = row;

	c->id = col_int(r, 0);
	c->process_id = col_int(r, 1);
	col_text(r, 2, c->name, sizeof(c->name));
}

static void fill_campaign_user(struct rows *r, void *row)
{
	struct campaign_user *cu = row;

	cu->id = col_int(r, 0);
	cu->campaign_id = col_int(r, 1);
	col_text(r, 2, cu->user_id, sizeof(cu->user_id));
}

static void fill_campaign_lead(struct rows *r, void *row)
{
	struct campaign_lead *cl = row;

	cl->id = col_int(r, 0);
	cl->campaign_id = col_int(r, 1);
	cl->lead_id = col_int(r, 2);
	cl->priority = col_int(r, 3);
	cl->enabled = col_int(r, 4) != 0;
}

static void fill_token(struct rows *r, void *row)
{
	struct token_info *t = row;

	t->user_pk = col_int(r, 0);
	t->context_cc = col_int(r, 1); /* NULL (System) is 0 */
	t->expires_at = col_int(r, 2);
	col_text(r, 3, t->user_id, sizeof(t->user_id));
	col_text(r, 4, t->role, sizeof(t->role));
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

int store_open(const char *url, struct store **out, char *err, size_t errlen)
{
	size_t i;

	*out = NULL;
	if (!err) /* snprintf(NULL, 0, ...) writes nothing */
		errlen = 0;
	if (errlen)
		err[0] = '\0';
	for (i = 0; url && i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strncmp(url, backends[i].prefix, strlen(backends[i].prefix)))
			return backends[i].be->open(url, out, err, errlen);
	snprintf(err, errlen,
		 "unsupported database URL (want sqlite:PATH or postgresql://...)");
	return -1;
}

/* NULL is fine. */
void store_close(struct store *s)
{
	if (s)
		s->be->close(s);
}

/*
 * Applies migration `m` unless the database already has it: one write
 * transaction that creates the version table if needed, re-reads the version
 * and applies the migration and its version row together.  Two nodes that
 * start at once on one store queue on SQLite's write lock; on PostgreSQL the
 * second one's DDL or version row collides with the first one's and fails
 * (STORE_RETRY or STORE_EXISTS), and it tries again, finding the work done.
 */
static int migrate_one(struct store *s, const struct migration *m, int latest)
{
	int64_t current = 0;
	int rc;

	rc = store_begin(s, true);
	if (rc != STORE_OK)
		goto out;
	rc = s->be->script(s, s->be->version_ddl, "schema_version");
	if (rc != STORE_OK)
		goto out;
	rc = fetch(s, ST_SCHEMA_VERSION, NULL, 0, STORE_ERROR, fill_int64,
		   &current);
	if (rc != STORE_OK)
		goto out;
	if (current > latest) {
		/* a newer cmsd has migrated it: its data may mean things this
		 * one does not know, so refuse rather than guess */
		log_msgf("error", "%s: schema version %lld is newer than %d",
			 s->be->name, (long long)current, latest);
		rc = STORE_ERROR;
		goto out;
	}
	if (current < m->version) {
		rc = s->be->script(s, m->sql, "migration");
		if (rc != STORE_OK)
			goto out;
		rc = run(s, ST_SCHEMA_SET,
			 ARGS(A_I(m->version), A_I((int64_t)time(NULL))),
			 STORE_ERROR, NULL);
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
	size_t n = s->be->nmigrations;
	size_t i;
	int rc = STORE_OK, attempt;

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

	return fetch(s, ST_PING, NULL, 0, STORE_ERROR, fill_int64, &one);
}

int store_begin(struct store *s, bool write)
{
	return run(s, write ? ST_BEGIN_WRITE : ST_BEGIN, NULL, 0, STORE_ERROR,
		   NULL);
}

/* A COMMIT that fails with RETRY may leave the transaction open: the caller
 * rolls back. */
int store_commit(struct store *s)
{
	return run(s, ST_COMMIT, NULL, 0, STORE_ERROR, NULL);
}

/* Rolls back the open transaction, if the backend has not already done so
 * (SQLite does on some I/O errors; a lost connection has none). */
void store_rollback(struct store *s)
{
	if (s->be->in_txn(s))
		run(s, ST_ROLLBACK, NULL, 0, STORE_ERROR, NULL);
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
		rc = fetch(s, steps[i].st, a, i ? 2 : 1, STORE_ERROR,
			   fill_int64, &one);
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

	return fetch(s, ST_CAMPAIGN_IN_SCOPE, ARGS(A_I(campaign), A_I(scope)),
		     STORE_ERROR, fill_int64, &one);
}

/* ---- contact centers ---- */

int store_cc_create(struct store *s, const char *name, struct cc *out)
{
	return fetch(s, ST_CC_CREATE, ARGS(A_T(name)), STORE_ERROR, fill_cc,
		     out);
}

int store_cc_get(struct store *s, int64_t id, struct cc *out)
{
	return fetch(s, ST_CC_GET, ARGS(A_I(id)), STORE_ERROR, fill_cc, out);
}

int store_cc_list(struct store *s, int64_t scope, const struct page *pg,
		  store_row_fn fn, void *ctx, int64_t *total)
{
	struct cc row;

	return list_rows(s, ST_CC_COUNT, ST_CC_PAGE, ARGS(A_I(scope)), pg,
			 fill_cc, &row, fn, ctx, total);
}

int store_cc_delete(struct store *s, int64_t id)
{
	return delete_guarded(s, ST_CC_IN_USE, ST_CC_DELETE, ARGS(A_I(id)));
}

/* ---- users ---- */

/* NOT_FOUND when u->cc_id names no contact center. */
int store_user_create(struct store *s, struct user *u)
{
	return fetch(s, ST_USER_CREATE,
		     ARGS(A_T(u->user_id), A_ID(u->cc_id), A_T(u->name),
			  A_T(u->role), A_T(u->pw_hash[0] ? u->pw_hash : NULL)),
		     STORE_NOT_FOUND, fill_int64, &u->pk);
}

int store_user_get(struct store *s, int64_t cc, const char *user_id,
		   struct user *out)
{
	return fetch(s, ST_USER_GET, ARGS(A_T(user_id), A_I(cc)), STORE_ERROR,
		     fill_user, out);
}

/* cc 0 lists every user, the system administrator included. */
int store_user_list(struct store *s, int64_t cc, const struct page *pg,
		    store_row_fn fn, void *ctx, int64_t *total)
{
	struct user row;

	if (!cc)
		return list_rows(s, ST_USER_COUNT_ALL, ST_USER_PAGE_ALL, NULL,
				 0, pg, fill_user, &row, fn, ctx, total);
	return list_rows(s, ST_USER_COUNT_CC, ST_USER_PAGE_CC, ARGS(A_I(cc)),
			 pg, fill_user, &row, fn, ctx, total);
}

/* An empty (non-NULL) pw_hash removes the password. */
int store_user_update(struct store *s, int64_t cc, const char *user_id,
		      const char *name, const char *role, const char *pw_hash)
{
	int64_t n = 0;
	int rc;

	rc = run(s, ST_USER_UPDATE,
		 ARGS(A_T(user_id), A_I(cc), A_T(name), A_T(role),
		      A_T(pw_hash)),
		 STORE_ERROR, &n);
	if (rc == STORE_OK && n == 0)
		rc = STORE_NOT_FOUND;
	/* A new password ends every session of the old one. */
	if (rc == STORE_OK && pw_hash)
		rc = run(s, ST_TOKEN_DELETE_USER, ARGS(A_T(user_id), A_I(cc)), STORE_ERROR, &n);
	return rc;
}

/*
 * Records in the history the mappings that the delete about to run with
 * arguments (a1, a2) takes with it (statement `id`, one of ST_HISTORY_*_GONE),
 * under the actor of store_set_actor().
 */
static int history_gone(struct store *s, enum stmt id, struct arg a1, struct arg a2)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return run(s, id,
		   ARGS(a1, a2, A_I((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000),
			A_T(s->actor), A_T(s->request_id)),
		   STORE_ERROR, NULL);
}

void store_set_actor(struct store *s, const char *user_id, const char *request_id)
{
	snprintf(s->actor, sizeof(s->actor), "%s", user_id ? user_id : "");
	snprintf(s->request_id, sizeof(s->request_id), "%s", request_id ? request_id : "");
}

int store_user_delete(struct store *s, int64_t cc, const char *user_id)
{
	int rc = history_gone(s, ST_HISTORY_USER_GONE, A_T(user_id), A_I(cc));

	return rc ? rc : delete_guarded(s, ST_NONE, ST_USER_DELETE, ARGS(A_T(user_id), A_I(cc)));
}

/*
 * Runs `id`, whose ?1 is the JSON array of `vals` (NULL entries as null) and
 * ?2 is `scope`, and whose rows are (index into vals, value): out[index] =
 * value, 0 for every index without a row.  One statement for the whole list,
 * so a PUT of 5,000 users costs one round trip to the store, not 5,000.
 */
static int resolve_many(struct store *s, enum stmt id, int64_t scope,
			json_t *vals, size_t n, int64_t *out)
{
	struct rows r;
	char *text = NULL;
	bool have = true;
	int64_t i;
	int rc = STORE_ERROR;

	memset(out, 0, n * sizeof(*out));
	if (!vals || !(text = json_dumps(vals, JSON_COMPACT)))
		goto out;
	rc = query(s, &r, id, ARGS(A_T(text), A_I(scope)), STORE_ERROR);
	if (rc != STORE_OK)
		goto out;
	while (rc == STORE_OK) {
		rc = s->be->next(&r, &have);
		if (rc != STORE_OK || !have)
			break;
		i = col_int(&r, 0);
		if (i >= 0 && (size_t)i < n)
			out[i] = col_int(&r, 1);
	}
	done(&r);
out:
	free(text);
	json_decref(vals);
	return rc;
}

/* A JSON array of the strings ids[0..n) (NULL as null). */
static json_t *text_array(const char *const *ids, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		if (json_array_append_new(a, ids[i] ? json_string(ids[i]) : json_null())) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

int store_users_resolve(struct store *s, int64_t cc, const char *const *ids,
			size_t n, int64_t *pks)
{
	return resolve_many(s, ST_USER_PK_MANY, cc, text_array(ids, n), n, pks);
}

/* ---- processes, leads and campaigns: one generic implementation ---- */

/* The statements of one kind of object that hangs below a parent. */
struct kind {
	enum stmt create, get, count, page;
	enum stmt in_use; /* ST_NONE: delete cascades instead */
	enum stmt del;
	fill_fn fill;
};

static const struct kind process_kind = {
	ST_PROCESS_CREATE, ST_PROCESS_GET, ST_PROCESS_COUNT, ST_PROCESS_PAGE,
	ST_PROCESS_IN_USE, ST_PROCESS_DELETE, fill_process,
};
static const struct kind lead_kind = {
	ST_LEAD_CREATE, ST_LEAD_GET, ST_LEAD_COUNT, ST_LEAD_PAGE,
	ST_LEAD_IN_USE, ST_LEAD_DELETE, fill_child,
};
static const struct kind campaign_kind = {
	ST_CAMPAIGN_CREATE, ST_CAMPAIGN_GET, ST_CAMPAIGN_COUNT,
	ST_CAMPAIGN_PAGE, ST_NONE, ST_CAMPAIGN_DELETE, fill_child,
};

/* EXISTS when the name is taken below `parent`; NOT_FOUND when the parent
 * does not exist. */
static int kind_create(struct store *s, const struct kind *k, int64_t parent,
		       const char *name, void *out)
{
	return fetch(s, k->create, ARGS(A_I(parent), A_T(name)),
		     STORE_NOT_FOUND, k->fill, out);
}

/* NOT_FOUND unless object `id` exists below `parent` (0: anywhere). */
static int kind_get(struct store *s, const struct kind *k, int64_t parent,
		    int64_t id, void *out)
{
	return fetch(s, k->get, ARGS(A_I(id), A_I(parent)), STORE_ERROR,
		     k->fill, out);
}

static int kind_list(struct store *s, const struct kind *k, int64_t parent,
		     const struct page *pg, void *row, store_row_fn fn,
		     void *ctx, int64_t *total)
{
	return list_rows(s, k->count, k->page, ARGS(A_I(parent)), pg, k->fill,
			 row, fn, ctx, total);
}

static int kind_delete(struct store *s, const struct kind *k, int64_t parent,
		       int64_t id)
{
	return delete_guarded(s, k->in_use, k->del,
			      ARGS(A_I(id), A_I(parent)));
}

int store_process_create(struct store *s, int64_t cc, const char *name,
			 struct process *out)
{
	return kind_create(s, &process_kind, cc, name, out);
}

int store_process_get(struct store *s, int64_t cc, int64_t id,
		      struct process *out)
{
	return kind_get(s, &process_kind, cc, id, out);
}

int store_process_list(struct store *s, int64_t cc, const struct page *pg,
		       store_row_fn fn, void *ctx, int64_t *total)
{
	struct process row;

	return kind_list(s, &process_kind, cc, pg, &row, fn, ctx, total);
}

int store_process_delete(struct store *s, int64_t cc, int64_t id)
{
	return kind_delete(s, &process_kind, cc, id);
}

int store_lead_create(struct store *s, int64_t process, const char *name,
		      struct proc_child *out)
{
	return kind_create(s, &lead_kind, process, name, out);
}

int store_lead_get(struct store *s, int64_t process, int64_t id,
		   struct proc_child *out)
{
	return kind_get(s, &lead_kind, process, id, out);
}

int store_lead_list(struct store *s, int64_t process, const struct page *pg,
		    store_row_fn fn, void *ctx, int64_t *total)
{
	struct proc_child row;

	return kind_list(s, &lead_kind, process, pg, &row, fn, ctx, total);
}

int store_lead_delete(struct store *s, int64_t process, int64_t id)
{
	return kind_delete(s, &lead_kind, process, id);
}

int store_campaign_create(struct store *s, int64_t process, const char *name,
			  struct proc_child *out)
{
	return kind_create(s, &campaign_kind, process, name, out);
}

int store_campaign_get(struct store *s, int64_t process, int64_t id,
		       struct proc_child *out)
{
	return kind_get(s, &campaign_kind, process, id, out);
}

int store_campaign_list(struct store *s, int64_t process, const struct page *pg,
			store_row_fn fn, void *ctx, int64_t *total)
{
	struct proc_child row;

	return kind_list(s, &campaign_kind, process, pg, &row, fn, ctx, total);
}

int store_campaign_delete(struct store *s, int64_t process, int64_t id)
{
	int rc = history_gone(s, ST_HISTORY_CAMPAIGN_GONE, A_I(id), A_I(process));

	return rc ? rc : kind_delete(s, &campaign_kind, process, id);
}

/* ---- campaign users ---- */

/*
 * NOT_FOUND when the campaign or the user is missing, or the user belongs to
 * another contact center than the campaign.  The insert and the read are two
 * statements: at READ COMMITTED another node may remove an enrolment that the
 * insert found (and so did not make) before the read sees it; then the pair
 * runs again, and the insert makes it.
 */
int store_campaign_user_add(struct store *s, int64_t campaign, int64_t user_pk,
			    struct campaign_user *out)
{
	int rc = STORE_OK, attempt;

	for (attempt = 0; attempt < 3; attempt++) {
		/* a failed insert (a parent gone) ends the transaction's use */
		rc = run(s, ST_CU_ADD, ARGS(A_I(campaign), A_I(user_pk)),
			 STORE_NOT_FOUND, NULL);
		if (rc != STORE_OK)
			break;
		rc = fetch(s, ST_CU_GET, ARGS(A_I(campaign), A_I(user_pk)),
			   STORE_ERROR, fill_campaign_user, out);
		if (rc != STORE_NOT_FOUND)
			break;
	}
	return rc;
}

int store_campaign_user_list(struct store *s, int64_t campaign,
			     const struct page *pg, store_row_fn fn, void *ctx,
			     int64_t *total)
{
	struct campaign_user row;

	return list_rows(s, ST_CU_COUNT, ST_CU_PAGE, ARGS(A_I(campaign)), pg,
			 fill_campaign_user, &row, fn, ctx, total);
}

int store_campaign_user_delete(struct store *s, int64_t campaign,
			       const char *user_id)
{
	int rc = history_gone(s, ST_HISTORY_CU_GONE, A_I(campaign), A_T(user_id));

	return rc ? rc : delete_guarded(s, ST_NONE, ST_CU_DELETE,
					ARGS(A_I(campaign), A_T(user_id)));
}

/* Fails only on a storage error; ids not enrolled are 0. */
int store_campaign_users_resolve(struct store *s, int64_t campaign,
				 const char *const *ids, size_t n,
				 int64_t *cu_ids)
{
	return resolve_many(s, ST_CU_RESOLVE_MANY, campaign, text_array(ids, n), n,
			    cu_ids);
}

/* ---- campaign leads ---- */

/* NOT_FOUND when the campaign or the lead is missing, or the lead belongs to
 * another process than the campaign. */
int store_campaign_lead_add(struct store *s, int64_t campaign, int64_t lead,
			    int64_t priority, bool enabled,
			    struct campaign_lead *out)
{
	return fetch(s, ST_CL_ADD,
		     ARGS(A_I(campaign), A_I(lead), A_I(priority),
			  A_I(enabled ? 1 : 0)),
		     STORE_NOT_FOUND, fill_campaign_lead, out);
}

int store_campaign_lead_list(struct store *s, int64_t campaign,
			     const struct page *pg, store_row_fn fn, void *ctx,
			     int64_t *total)
{
	struct campaign_lead row;

	return list_rows(s, ST_CL_COUNT, ST_CL_PAGE, ARGS(A_I(campaign)), pg,
			 fill_campaign_lead, &row, fn, ctx, total);
}

int store_campaign_lead_delete(struct store *s, int64_t campaign, int64_t lead)
{
	int rc = history_gone(s, ST_HISTORY_CL_GONE, A_I(campaign), A_I(lead));

	return rc ? rc : delete_guarded(s, ST_NONE, ST_CL_DELETE,
					ARGS(A_I(campaign), A_I(lead)));
}

int store_campaign_lead_find(struct store *s, int64_t campaign, int64_t lead,
			     struct campaign_lead *out)
{
	return fetch(s, ST_CL_FIND, ARGS(A_I(campaign), A_I(lead)),
		     STORE_ERROR, fill_campaign_lead, out);
}

/* ---- the lead-user mapping ---- */

int store_campaign_lead_lock(struct store *s, int64_t cl)
{
	int64_t one = 0;

	return fetch(s, ST_CL_LOCK, ARGS(A_I(cl)), STORE_ERROR, fill_int64, &one);
}

/*
 * Maps or unmaps campaign users cu_ids[0..n) on campaign lead cl, all in one
 * statement; idempotent.  Ids that are not campaign users of the campaign
 * lead's campaign (store_campaign_users_resolve() gave them, so only a
 * concurrent delete makes one vanish) are left alone.  The caller holds the
 * campaign lead (store_campaign_lead_lock()).
 */
int store_mapping_set(struct store *s, int64_t cl, const int64_t *cu_ids,
		      size_t n, bool mapped, int64_t *changed, size_t *nchanged)
{
	json_t *a = json_array();
	struct rows r;
	char *text = NULL;
	bool have = true;
	size_t i, got = 0;
	int rc = STORE_ERROR;

	for (i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_integer(cu_ids[i])))
			goto out;
	if (!a || !(text = json_dumps(a, JSON_COMPACT)))
		goto out;
	rc = STORE_OK;
	if (!n)
		goto out;
	rc = query(s, &r, mapped ? ST_MAP_ADD_MANY : ST_MAP_REMOVE_MANY,
		   ARGS(A_I(cl), A_T(text)), STORE_NOT_FOUND);
	if (rc != STORE_OK)
		goto out;
	while (rc == STORE_OK) {
		rc = s->be->next(&r, &have);
		if (rc != STORE_OK || !have)
			break;
		if (changed && got < n)
			changed[got] = col_int(&r, 0);
		got++;
	}
	done(&r);
out:
	if (nchanged)
		*nchanged = changed && got > n ? n : got;
	free(text);
	json_decref(a);
	return rc;
}

/* One campaign user of a lead's mapping, while it is being read. */
struct mu {
	int64_t id;
	char *user_id; /* into the arena */
};

struct mu_list {
	struct mu *v;
	size_t n;
	struct strbuf arena; /* the user ids, NUL-separated */
};

/* The row buffer of the users' scan: the row, and where its text goes. */
struct mu_row {
	struct mu m;
	struct strbuf *arena;
};

struct id_list {
	int64_t *v;
	size_t n;
};

static void fill_mu(struct rows *r, void *row)
{
	struct mu_row *f = row;
	size_t n = 0;
	const char *t = r->s->be->col_text(r, 1, &n);

	f->m.id = col_int(r, 0);
	/* an offset for now: the arena moves while it grows */
	f->m.user_id = (char *)(uintptr_t)f->arena->len;
	strbuf_add(f->arena, t, n);
	strbuf_addch(f->arena, '\0');
}

static int collect_mu(void *ctx, const void *row)
{
	struct mu_list *l = ctx;

	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = ((const struct mu_row *)row)->m;
	return 0;
}

static int collect_id(void *ctx, const void *row)
{
	struct id_list *l = ctx;

	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = *(const int64_t *)row;
	return 0;
}

static int cmp_mu(const void *a, const void *b)
{
	return strcmp(((const struct mu *)a)->user_id, ((const struct mu *)b)->user_id);
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int store_mapping_get(struct store *s, int64_t campaign, int64_t cl,
		      store_row_fn fn, void *ctx)
{
	struct mu_list users = { NULL, 0, STRBUF_INIT };
	struct id_list mapped = { NULL, 0 };
	struct mapping_user out;
	struct mu_row row = { { 0, NULL }, &users.arena };
	int64_t id;
	size_t i;
	int rc;

	rc = each_row(s, ST_MAP_USERS, ARGS(A_I(campaign)), fill_mu, &row, collect_mu, &users);
	if (rc == STORE_OK)
		rc = each_row(s, ST_MAP_MAPPED, ARGS(A_I(cl)), fill_int64, &id, collect_id,
			      &mapped);
	if (rc != STORE_OK)
		goto out;
	for (i = 0; i < users.n; i++)
		users.v[i].user_id = users.arena.buf + (uintptr_t)users.v[i].user_id;
	/* by bytes, as COLLATE "C" and SQLite's BINARY order them */
	if (users.n)
		qsort(users.v, users.n, sizeof(*users.v), cmp_mu);
	if (mapped.n)
		qsort(mapped.v, mapped.n, sizeof(*mapped.v), cmp_id);
	for (i = 0; i < users.n && rc == STORE_OK; i++) {
		out.campaign_user_id = users.v[i].id;
		out.user_id = users.v[i].user_id;
		out.mapped = mapped.n && bsearch(&users.v[i].id, mapped.v, mapped.n,
						 sizeof(*mapped.v), cmp_id);
		if (fn(ctx, &out))
			rc = STORE_ERROR;
	}
out:
	free(users.v);
	strbuf_release(&users.arena);
	free(mapped.v);
	return rc;
}

int store_mapping_list(struct store *s, int64_t scope, int64_t campaign,
		       const struct page *pg, store_row_fn fn, void *ctx,
		       int64_t *total)
{
	struct campaign_lead row;

	if (campaign)
		return list_rows(s, ST_ML_COUNT_CAMPAIGN, ST_ML_PAGE_CAMPAIGN,
				 ARGS(A_I(campaign), A_I(scope)), pg,
				 fill_campaign_lead, &row, fn, ctx, total);
	if (scope)
		return list_rows(s, ST_ML_COUNT_SCOPE, ST_ML_PAGE_SCOPE,
				 ARGS(A_I(scope)), pg, fill_campaign_lead,
				 &row, fn, ctx, total);
	return list_rows(s, ST_ML_COUNT_ALL, ST_ML_PAGE_ALL, NULL, 0, pg,
			 fill_campaign_lead, &row, fn, ctx, total);
}

/* ---- the mapping's history ---- */

static void fill_history(struct rows *r, void *row)
{
	struct history_entry *h = row;
	size_t n = 0;

	h->id = col_int(r, 0);
	h->campaign_id = col_int(r, 1);
	h->lead_id = col_int(r, 2);
	h->campaign_lead_id = col_int(r, 3);
	h->changed_at = col_int(r, 4);
	col_text(r, 5, h->changed_by, sizeof(h->changed_by));
	col_text(r, 6, h->request_id, sizeof(h->request_id));
	h->assigned = r->s->be->col_text(r, 7, &n);
	h->unassigned = r->s->be->col_text(r, 8, &n);
}

int store_history_add(struct store *s, const struct history_entry *h)
{
	return run(s, ST_HISTORY_ADD,
		   ARGS(A_I(h->campaign_id), A_I(h->lead_id), A_I(h->campaign_lead_id),
			A_I(h->changed_at), A_T(h->changed_by), A_T(h->request_id),
			A_T(h->assigned), A_T(h->unassigned)),
		   STORE_ERROR, NULL);
}

int store_history_list(struct store *s, int64_t campaign, int64_t lead,
		       const struct page *pg, store_row_fn fn, void *ctx,
		       int64_t *total)
{
	struct history_entry row;

	return list_rows(s, ST_HISTORY_COUNT, ST_HISTORY_PAGE,
			 ARGS(A_I(campaign), A_I(lead)), pg, fill_history, &row,
			 fn, ctx, total);
}

/* ---- tokens ---- */

/* NOT_FOUND when user_pk names no user; EXISTS on a repeated hash. */
int store_token_add(struct store *s, const uint8_t hash[CMS_TOKEN_HASH],
		    int64_t user_pk, int64_t context_cc, int64_t expires_at)
{
	return run(s, ST_TOKEN_ADD,
		   ARGS(A_B(hash, CMS_TOKEN_HASH), A_I(user_pk),
			A_ID(context_cc), A_I(expires_at)),
		   STORE_NOT_FOUND, NULL);
}

int store_token_get(struct store *s, const uint8_t hash[CMS_TOKEN_HASH],
		    int64_t now, struct token_info *out)
{
	return fetch(s, ST_TOKEN_GET,
		     ARGS(A_B(hash, CMS_TOKEN_HASH), A_I(now)), STORE_ERROR,
		     fill_token, out);
}

int store_token_delete(struct store *s, const uint8_t hash[CMS_TOKEN_HASH])
{
	return delete_guarded(s, ST_NONE, ST_TOKEN_DELETE,
			      ARGS(A_B(hash, CMS_TOKEN_HASH)));
}

/* Deletes every token expired at `now` (expires_at <= now), as
 * store_token_get() sees them. */
int store_token_purge(struct store *s, int64_t now)
{
	return run(s, ST_TOKEN_PURGE, ARGS(A_I(now)), STORE_ERROR, NULL);
}
