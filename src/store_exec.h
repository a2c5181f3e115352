/*
 * store_exec.h - the executor of the store: runs the statements of
 * store_stmt.c's table on a backend (sql.h) and reads their rows.
 *
 * Internal to the store: store.c (the domain functions of store.h) is its
 * one user.  Every function returns a store_rc; a statement that fails leaves
 * the open transaction usable only for a rollback.
 */
#ifndef CMSD_STORE_EXEC_H
#define CMSD_STORE_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql.h"

/* Copies the current row of `r` into `row`, a struct the caller knows. */
typedef void (*fill_fn)(struct rows *r, void *row);

/* Starts statement `id` with a[0..na), `fk_rc` being what a foreign-key
 * failure means to it: walk `r` with rows_next(), then rows_done(). */
int exec_query(struct store *s, struct rows *r, enum stmt id,
	       const struct arg *a, size_t na, int fk_rc);
/* *have tells whether a row is ready; at the end r->changes is set. */
int rows_next(struct rows *r, bool *have);
void rows_done(struct rows *r);

/* Runs statement `id` to its end; *changes (if not NULL) gets the number of
 * rows it inserted, updated or deleted (cascades not counted). */
int exec_run(struct store *s, enum stmt id, const struct arg *a, size_t na,
	     int fk_rc, int64_t *changes);
/* Runs an INSERT of one row; *row_id its id (the row it returns, or the
 * backend's last rowid). */
int exec_insert(struct store *s, enum stmt id, const struct arg *a, size_t na, int fk_rc,
		int64_t *row_id);
/* Runs statement `id` and fills `row` from its first row; NOT_FOUND when
 * there is none. */
int exec_fetch(struct store *s, enum stmt id, const struct arg *a, size_t na,
	       int fk_rc, fill_fn fill, void *row);
/* Calls fn(ctx, row) for each row of statement `id` with a[0..na); a
 * non-zero return stops the walk with STORE_ERROR. */
int exec_each(struct store *s, enum stmt id, const struct arg *a, size_t na,
	      fill_fn fill, void *row, store_row_fn fn, void *ctx);
/* exec_each() with `fk_rc` as for exec_query(). */
int exec_each_fk(struct store *s, enum stmt id, const struct arg *a, size_t na, int fk_rc,
		 fill_fn fill, void *row, store_row_fn fn, void *ctx);
/* exec_each() for statement `id` whose arguments a[0..na) hold one list
 * (ARG_INTS, ARG_TEXTS), `fk_rc` as for exec_query().  Run per element (a
 * backend without `lists`), the rows come element after element and each
 * row's r->elem tells which one it answers. */
int exec_each_elem(struct store *s, enum stmt id, const struct arg *a,
		   size_t na, int fk_rc, fill_fn fill, void *row,
		   store_row_fn fn, void *ctx);
/* Runs write statement `id` over the one id list (ARG_INTS) among a[0..na)
 * and calls fn(ctx, &id) (an int64_t) for each element it changed.  Written
 * for one element, the statement answers nothing (its change count tells);
 * a backend that binds lists has it answer the ids it changed (RETURNING). */
int exec_changed(struct store *s, enum stmt id, const struct arg *a,
		 size_t na, int fk_rc, store_row_fn fn, void *ctx);
/* For each element i of the one list among a[0..na), out[i] = the value
 * statement `id` answers for it, 0 when none (out has room for n).  The
 * statement is written for one element and answers (value); a backend that
 * binds lists has it answer (index from 0, value) for the whole list. */
int exec_resolve(struct store *s, enum stmt id, const struct arg *a,
		 size_t na, int64_t *out, size_t n);
/* A paged list: *total (if not NULL) from statement `count`, then the rows of
 * statement `page`, which takes count's arguments followed by LIMIT and
 * OFFSET (pg NULL: every row). */
int exec_list(struct store *s, enum stmt count, enum stmt page,
	      const struct arg *a, size_t na, const struct page *pg,
	      fill_fn fill, void *row, store_row_fn fn, void *ctx,
	      int64_t *total);
/* Deletes with `del`, after `in_use` (ST_NONE: none) with the same arguments
 * answered a row of 0.  NOT_FOUND when nothing is deleted or `in_use` answers
 * no row; IN_USE when it answers non-zero or a foreign key holds the row. */
int exec_delete(struct store *s, enum stmt in_use, enum stmt del,
		const struct arg *a, size_t na);

/* Runs the DDL text `sql` (no values), `what` naming it in logs. */
int exec_script(struct store *s, const char *sql, const char *what);
/* Whether a transaction is open on the connection. */
bool exec_in_txn(struct store *s);

/* Columns of the current row.  NULL reads as 0 and "". */
int64_t rows_int(struct rows *r, int col);
/* Copies text into buf[size], cut at a UTF-8 character boundary. */
void rows_text(struct rows *r, int col, char *buf, size_t size);
/* The text itself, borrowed until the next rows_next(). */
const char *rows_text_ref(struct rows *r, int col, size_t *len);
/* A fill_fn for an int64_t from column 0. */
void rows_fill_int64(struct rows *r, void *row);

#endif
