/*
 * store_exec.c - the executor of the store (store_exec.h): runs statements
 * of store_stmt.c's table through the backend of a connection (sql.h),
 * binding the arguments the domain functions give, and reads their rows.
 *
 * Every statement of a request passes through exec_query(), so this is the
 * one place that sees them all.  Nothing here knows what a statement means:
 * the domain (store.c) says which statement, with what, and how a row fills
 * its struct.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store_exec.h"
#include "banned.h"

#define MAX_ARGS 8 /* arguments of a paged or a per-element statement */

/* ---- fault injection (tests) ---- */

void store_fault_arm(struct store *s, unsigned nth, int rc)
{
	s->fault_nth = nth;
	s->fault_rc = rc;
	s->faults = rc != STORE_OK; /* at a statement or at the commit */
	s->statements = 0;
}

unsigned store_statement_count(const struct store *s)
{
	return s->statements;
}

uint64_t store_statements_ever(const struct store *s)
{
	return s->statements_all;
}

/*
 * Counts statement `id`, about to run, and answers the armed fault when it
 * is its turn (then disarms), else STORE_OK.  ROLLBACK is neither counted
 * nor failed: it is how a failure ends, and the store promises it.
 */
static int begin_due(struct store *s);

static int count(struct store *s, enum stmt id)
{
	int rc;

	s->statements_all++;
	if (id == ST_ROLLBACK)
		return STORE_OK;
	if (s->alone) { /* store_mapping_put() committed the transaction */
		log_msgf("error", "store %s: after a transaction of one statement", sql_name(id));
		s->failed = true;
		return STORE_ERROR;
	}
	if ((rc = begin_due(s))) /* it counts before this one */
		return rc;
	s->statements++;
	if (!s->fault_nth || s->statements != s->fault_nth)
		return STORE_OK;
	s->fault_nth = 0;
	s->failed = true;
	log_msgf("warn", "store %s: injected fault %d (statement %u)", sql_name(id),
		 s->fault_rc, s->statements);
	return s->fault_rc;
}

/* ---- statements ---- */

/* exec_query() without counting the statement.  A statement that fails
 * marks the transaction (store_failed()). */
static int start(struct store *s, struct rows *r, enum stmt id,
		 const struct arg *a, size_t na, int fk_rc)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->s = s;
	r->id = id;
	r->fk_rc = fk_rc;
	if ((rc = s->be->query(r, a, na)))
		s->failed = true;
	return rc;
}

/* Every statement of the store starts here or in exec_each_elem(), which
 * counts a list as one statement whatever the backend. */
int exec_query(struct store *s, struct rows *r, enum stmt id,
	       const struct arg *a, size_t na, int fk_rc)
{
	int rc = count(s, id);

	return rc ? rc : start(s, r, id, a, na, fk_rc);
}

int rows_next(struct rows *r, bool *have)
{
	int rc = r->s->be->next(r, have);

	if (rc)
		r->s->failed = true;
	return rc;
}

void rows_done(struct rows *r)
{
	r->s->be->done(r);
}

/* Runs statement `id` to its end: *changes (if asked) the rows it wrote;
 * *row_id (if asked) the first column of its first row (a text with
 * RETURNING: PostgreSQL's) or else the backend's last rowid (SQLite, where
 * RETURNING costs an insert a table of its results: twice the time). */
static int run_whole(struct store *s, enum stmt id, const struct arg *a, size_t na, int fk_rc,
		     int64_t *changes, int64_t *row_id)
{
	struct rows r;
	bool have = true;
	int rc;

	rc = exec_query(s, &r, id, a, na, fk_rc);
	if (rc != STORE_OK)
		return rc;
	while (rc == STORE_OK && have) {
		rc = rows_next(&r, &have);
		if (rc == STORE_OK && have && row_id && !*row_id)
			*row_id = s->be->col_int(&r, 0);
	}
	if (rc == STORE_OK && changes)
		*changes = r.changes;
	if (rc == STORE_OK && row_id && !*row_id)
		*row_id = r.last_id;
	rows_done(&r);
	return rc;
}

int exec_run(struct store *s, enum stmt id, const struct arg *a, size_t na,
	     int fk_rc, int64_t *changes)
{
	return run_whole(s, id, a, na, fk_rc, changes, NULL);
}

int exec_insert(struct store *s, enum stmt id, const struct arg *a, size_t na, int fk_rc,
		int64_t *row_id)
{
	*row_id = 0;
	return run_whole(s, id, a, na, fk_rc, NULL, row_id);
}

/* The statement is walked to its end, so that an INSERT ... RETURNING
 * completes and any late constraint failure is seen. */
int exec_fetch(struct store *s, enum stmt id, const struct arg *a, size_t na,
	       int fk_rc, fill_fn fill, void *row)
{
	struct rows r;
	bool have = false, found = false;
	int rc;

	rc = exec_query(s, &r, id, a, na, fk_rc);
	if (rc != STORE_OK)
		return rc;
	do {
		rc = rows_next(&r, &have);
		if (rc == STORE_OK && have && !found) {
			fill(&r, row);
			found = true;
		}
	} while (rc == STORE_OK && have);
	if (rc == STORE_OK && !found)
		rc = STORE_NOT_FOUND;
	rows_done(&r);
	return rc;
}

/* Calls fn(ctx, row) for each row of the started statement r (fill NULL:
 * none), then ends it; a non-zero return stops the walk with STORE_ERROR. */
static int walk(struct rows *r, fill_fn fill, void *row, store_row_fn fn,
		void *ctx)
{
	bool have = true;
	int rc = STORE_OK;

	while (rc == STORE_OK) {
		rc = rows_next(r, &have);
		if (rc != STORE_OK || !have)
			break;
		if (!fill) /* rows ignored */
			continue;
		fill(r, row);
		if (fn(ctx, row))
			rc = STORE_ERROR;
	}
	rows_done(r);
	return rc;
}

int exec_each_fk(struct store *s, enum stmt id, const struct arg *a, size_t na, int fk_rc,
		 fill_fn fill, void *row, store_row_fn fn, void *ctx)
{
	struct rows r;
	int rc = exec_query(s, &r, id, a, na, fk_rc);

	return rc ? rc : walk(&r, fill, row, fn, ctx);
}

int exec_each(struct store *s, enum stmt id, const struct arg *a, size_t na,
	      fill_fn fill, void *row, store_row_fn fn, void *ctx)
{
	return exec_each_fk(s, id, a, na, STORE_ERROR, fill, row, fn, ctx);
}

/*
 * Runs statement `id` once per element of the one list among a[0..na), in
 * order, the element bound in the list's place: SQLite is in the process,
 * so a cached statement per element costs a bind and a step, no round
 * trip.  Rows go to fill and fn as in exec_each(), r->elem telling the
 * element; or, when `changed` is set, rows are ignored and fn gets (as an
 * int64_t) each element of an id list whose run changed a row.
 */
static int per_element(struct store *s, enum stmt id, const struct arg *a,
		       size_t na, int fk_rc, fill_fn fill, void *row,
		       store_row_fn fn, void *ctx, bool changed)
{
	struct arg one[MAX_ARGS];
	const struct arg *list = NULL;
	struct rows r;
	size_t i, at = 0;
	int64_t v;
	int rc = STORE_OK;

	for (i = 0; i < na && i < MAX_ARGS; i++) {
		one[i] = a[i];
		if (a[i].kind == ARG_INTS || a[i].kind == ARG_TEXTS) {
			list = &a[i];
			at = i;
		}
	}
	if (!list || na > MAX_ARGS || (changed && list->kind != ARG_INTS)) {
		log_msgf("error", "store %s: no list argument", sql_name(id));
		return STORE_ERROR;
	}
	for (i = 0; i < list->n && rc == STORE_OK; i++) {
		if (list->kind == ARG_INTS)
			one[at] = A_I(((const int64_t *)list->p)[i]);
		else
			one[at] = A_T(((const char *const *)list->p)[i]);
		rc = start(s, &r, id, one, na, fk_rc);
		if (rc != STORE_OK)
			break;
		r.elem = i;
		rc = walk(&r, changed ? NULL : fill, row, fn, ctx);
		if (rc == STORE_OK && changed && r.changes > 0) {
			v = one[at].i;
			if (fn(ctx, &v))
				rc = STORE_ERROR;
		}
	}
	return rc;
}

/* A backend that binds lists runs the statement once. */
int exec_each_elem(struct store *s, enum stmt id, const struct arg *a,
		   size_t na, int fk_rc, fill_fn fill, void *row,
		   store_row_fn fn, void *ctx)
{
	struct rows r;
	int rc = count(s, id);

	if (rc != STORE_OK || !s->be->lists)
		return rc ? rc : per_element(s, id, a, na, fk_rc, fill, row, fn, ctx, false);
	rc = start(s, &r, id, a, na, fk_rc);
	return rc ? rc : walk(&r, fill, row, fn, ctx);
}

/* Run per element, the statement answers nothing (RETURNING costs SQLite
 * an ephemeral table per run, and erratically much): the change count says
 * whether the element changed.  Bound whole, it answers the ids it changed. */
int exec_changed(struct store *s, enum stmt id, const struct arg *a,
		 size_t na, int fk_rc, store_row_fn fn, void *ctx)
{
	int64_t v = 0;
	int rc;

	if (s->be->lists)
		return exec_each_elem(s, id, a, na, fk_rc, rows_fill_int64, &v, fn, ctx);
	rc = count(s, id);
	return rc ? rc : per_element(s, id, a, na, fk_rc, NULL, &v, fn, ctx, true);
}

/* One answer of a resolve statement: the element and its value. */
struct resolved {
	size_t elem;
	int64_t value;
};

/* Statements that bind the list whole answer (index, value); run per
 * element, (value), the element being r->elem. */
static void fill_resolved(struct rows *r, void *row)
{
	struct resolved *x = row;
	int64_t i;

	if (r->s->be->lists) {
		i = rows_int(r, 0);
		x->elem = i < 0 ? SIZE_MAX : (size_t)i;
		x->value = rows_int(r, 1);
	} else {
		x->elem = r->elem;
		x->value = rows_int(r, 0);
	}
}

/* out[elem] = value; ctx is the out array and its length. */
struct resolve_out {
	int64_t *v;
	size_t n;
};

static int put_resolved(void *ctx, const void *row)
{
	const struct resolved *x = row;
	struct resolve_out *o = ctx;

	if (x->elem < o->n)
		o->v[x->elem] = x->value;
	return 0;
}

int exec_resolve(struct store *s, enum stmt id, const struct arg *a,
		 size_t na, int64_t *out, size_t n)
{
	struct resolve_out o = { out, n };
	struct resolved row;

	memset(out, 0, n * sizeof(*out));
	return exec_each_elem(s, id, a, na, STORE_ERROR, fill_resolved, &row,
			      put_resolved, &o);
}

/* `row` is the caller's buffer of the type `fill` writes. */
int exec_list(struct store *s, enum stmt count, enum stmt page,
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
		rc = exec_fetch(s, count, a, na, STORE_ERROR, rows_fill_int64, total);
		if (rc != STORE_OK)
			return rc;
	}
	if (na)
		memcpy(all, a, na * sizeof(*a));
	all[na] = A_I(pg ? pg->limit : INT64_MAX);
	all[na + 1] = A_I(pg ? pg->offset : 0);
	return exec_each(s, page, all, na + 2, fill, row, fn, ctx);
}

int exec_delete(struct store *s, enum stmt in_use, enum stmt del,
		const struct arg *a, size_t na)
{
	int64_t busy = 0, n = 0;
	int rc;

	if (in_use != ST_NONE) {
		rc = exec_fetch(s, in_use, a, na, STORE_ERROR, rows_fill_int64, &busy);
		if (rc != STORE_OK)
			return rc;
		if (busy)
			return STORE_IN_USE;
	}
	rc = exec_run(s, del, a, na, STORE_IN_USE, &n);
	if (rc == STORE_OK && n == 0)
		rc = STORE_NOT_FOUND;
	return rc;
}

/* Sends the BEGIN that store_begin() asked for, if it is still due. */
static int begin_due(struct store *s)
{
	enum stmt begin = s->begin;

	s->begin = ST_NONE;
	return begin ? exec_run(s, begin, NULL, 0, STORE_ERROR, NULL) : STORE_OK;
}

int exec_script(struct store *s, const char *sql, const char *what)
{
	int rc = begin_due(s);

	return rc ? rc : s->be->script(s, sql, what);
}

bool exec_in_txn(struct store *s)
{
	return s->be->in_txn(s);
}

/* ---- rows ---- */

int64_t rows_int(struct rows *r, int col)
{
	return r->s->be->col_int(r, col);
}

const char *rows_text_ref(struct rows *r, int col, size_t *len)
{
	return r->s->be->col_text(r, col, len);
}

void rows_text(struct rows *r, int col, char *buf, size_t size)
{
	size_t n = 0;
	const char *t = rows_text_ref(r, col, &n);

	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80)
			n--;
	}
	if (n)
		memcpy(buf, t, n);
	buf[n] = '\0';
}

void rows_fill_int64(struct rows *r, void *row)
{
	*(int64_t *)row = rows_int(r, 0);
}
