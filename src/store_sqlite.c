/*
 * store_sqlite.c - the embedded SQLite backend of the store (see sql.h).
 *
 * One connection is one SQLite handle, opened by and used from one thread
 * (SQLITE_OPEN_NOMUTEX); concurrency between threads and processes is
 * SQLite's own locking in WAL mode.  A write transaction starts with BEGIN
 * IMMEDIATE, so writers queue on the busy timeout instead of failing
 * half-way; a writer that still cannot get the lock gets STORE_RETRY.
 *
 * Two things keep SQLite's waits off the request threads of one process
 * (docs/performance.md, recommendation 4):
 *  - writers of this process take turns (`writer`): a write transaction
 *    takes its turn before BEGIN IMMEDIATE, a write outside one before its
 *    statement, and gives it back when the transaction has ended, so no
 *    worker sleeps in SQLite's busy handler, which polls in steps of up to
 *    25 ms.  A writer that waits BUSY_TIMEOUT_MS for its turn gets
 *    STORE_RETRY, as one that waits for SQLite's lock does; the busy
 *    timeout stays for other processes on the same file.  The turn is one
 *    per process, whatever the file (cmsd opens one);
 *  - checkpoints, which copy the WAL into the database and fsync both, run
 *    on one background thread (`ckpt`) with its own connection, woken by a
 *    WAL hook once the WAL holds ckpt.pages pages, instead of inside the
 *    COMMIT of whichever request crossed SQLite's threshold.  Should the
 *    WAL still reach 2.5 times that (the thread cannot finish while
 *    writers keep appending), the committing request checkpoints it itself
 *    while it still holds `writer`, as SQLite would by default.
 *
 * Each statement of store_stmt.c's table is prepared on first use
 * (SQLITE_PREPARE_PERSISTENT), kept for the life of the connection, and reset
 * with its bindings cleared after every use.
 *
 * The schema is created and upgraded by the numbered migrations of
 * sql/sqlite/ (compiled in by scripts/embed-sql), each applied by store.c in its own BEGIN IMMEDIATE transaction that first
 * re-reads the version, so two processes starting at once apply it exactly
 * once.  Ids come from AUTOINCREMENT and are never reused.
 *
 * Nothing logged here carries a value: messages name the statement and
 * SQLite's error text (which names columns and constraints, never data).
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "sql.h"
#include "store_sqlite_vfs.h"
#include "xalloc.h"
#include "banned.h"

#define BUSY_TIMEOUT_MS 5000
/* 16 MB of WAL (SQLite checkpoints at 1,000): at 16,000 rounds were a
 * quarter as many, but each left a WAL of 64 MB that readers search and a
 * checkpoint writes out at once, and the tail of rotating PUTs at half
 * their peak was 13 to 46 ms against 4 to 8 (docs/performance.md) */
#define CKPT_FRAMES_DEFAULT 4000
#define CKPT_FRAMES_MIN 100
#define CKPT_FRAMES_TOP 1000000
#define CKPT_TAIL 32          /* frames copied with the writers held, at most */
#define CKPT_CATCH_UP 8       /* passes without them before that bound goes */

/* The wal-index header (https://sqlite.org/walformat.html, "The WAL-Index
 * Header"): 48 bytes, written twice, the second copy first; a commit (any
 * process's) and a WAL restart rewrite it, moving its change counter and
 * checksums. */
#define WAL_HDR_WORDS 12
#define WAL_HDR_ISINIT 12 /* the byte that is 1 once the header is valid */

struct sq {
	struct store base;
	sqlite3 *db;
	sqlite3_stmt *st[ST__COUNT]; /* prepared on first use */
	bool writing;                /* holds `writer` */
	bool hooked;                 /* counted in ckpt.users */
	/* sq_generation(): the wal-index (the -shm file, as SQLite maps it),
	 * its header as last read, and how often that was seen to move */
	const volatile uint32_t *shm;
	uint32_t hdr[WAL_HDR_WORDS];
	uint64_t gen;
};

/* This process's writers, one at a time: a turn that any thread may give
 * back (a connection is closed by the thread that stops the server). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t free;
	bool taken;
} writer = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };

/* Waits up to ms for the writers' turn; false when it did not come. */
static bool writer_take(int ms)
{
	struct timespec until = clock_after_ms(CLOCK_REALTIME, ms);
	bool ok = true;

	pthread_mutex_lock(&writer.lock);
	while (writer.taken && ok)
		ok = pthread_cond_timedwait(&writer.free, &writer.lock, &until) == 0 || !writer.taken;
	if (!writer.taken) {
		writer.taken = true;
		ok = true;
	}
	pthread_mutex_unlock(&writer.lock);
	return ok;
}

static void writer_give(void)
{
	pthread_mutex_lock(&writer.lock);
	writer.taken = false;
	pthread_cond_signal(&writer.free);
	pthread_mutex_unlock(&writer.lock);
}

/*
 * The checkpoint thread: one per process, for the file its first WAL
 * connection opened; connections to another file keep SQLite's own.
 * `life` is held while the thread is started or stopped, so that a
 * connection that opens while the last one closes waits for the old thread
 * to be gone; `lock` guards `due` and `stop`, which the thread reads.
 */
static pthread_mutex_t life = PTHREAD_MUTEX_INITIALIZER;
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	sqlite3 *db;  /* the thread's own connection */
	char *path;   /* NULL: no thread */
	int users;    /* open connections whose WAL hook wakes it */
	bool due;     /* a commit found `pages` or more in the WAL */
	atomic_int pages; /* the WAL's size that calls for a round */
	atomic_int frames; /* the WAL's size after the last commit */
	bool stop;
} ckpt = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

/* sql.h's history of a delete, the array built by json_group_array over rows
 * sorted first (SQLite 3.40 has no ORDER BY inside an aggregate).  Ids are
 * AUTOINCREMENT's: one writer at a time, so they follow commit order. */
#define HISTORY_GONE(where)                                                    \
	"INSERT INTO mapping_history (" HISTORY_COLS ")"                       \
	" SELECT cid, lid, clid, ?3, ?4, ?5, '[]', json_group_array(uid),"     \
	" ucc, ?7 FROM"                                                        \
	" (SELECT cl.campaign_id AS cid, cl.lead_id AS lid, cl.id AS clid,"    \
	" u.user_id AS uid, u.cc_id AS ucc" HISTORY_GONE_FROM " WHERE " where  \
	" ORDER BY cl.id, u.user_id) GROUP BY clid"

/* The feed's head: the last cursor AUTOINCREMENT handed out. */
#define SQ_LAST "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'mapping_history'), 0)"

/* Where SQLite's text differs from store_stmt.c's. */
static const char *const sq_sql[ST__COUNT] = {
	/* takes the write lock at once: writers queue, never fail half-way */
	[ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[ST_HISTORY_CU_GONE] = HISTORY_GONE(GONE_CAMPAIGN_USER),
	[ST_HISTORY_USER_GONE] = HISTORY_GONE(GONE_USER),
	[ST_HISTORY_CL_GONE] = HISTORY_GONE(GONE_CAMPAIGN_LEAD),
	[ST_HISTORY_CAMPAIGN_GONE] = HISTORY_GONE(GONE_CAMPAIGN),
	/* the last cursor is AUTOINCREMENT's (migration 4) */
	[ST_FEED_HEAD] = "SELECT " SQ_LAST ", purged FROM change_head WHERE id = 1",
	[ST_LOOK] = LOOK_HEAD(SQ_LAST),
};

/* ---- errors ---- */

/*
 * Turns SQLite result code `rc` into a store_rc, logging what no caller
 * expects.  `fk_rc` is what a foreign-key failure means to this statement:
 * NOT_FOUND for an insert (the parent is gone), IN_USE for a delete.
 */
static int map_rc(struct sq *s, int rc, int fk_rc, const char *what)
{
	int ret;

	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return STORE_EXISTS;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		if (fk_rc != STORE_ERROR)
			return fk_rc;
		break;
	default:
		break;
	}
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		/* the busy timeout has already waited: worth a note, not more */
		log_msgf("warn", "sqlite %s: %s", what, sqlite3_errstr(rc));
		return STORE_RETRY;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_READONLY: /* file or disk turned read-only: cannot serve */
		ret = STORE_UNAVAILABLE;
		break;
	default:
		ret = STORE_ERROR;
		break;
	}
	log_msgf("error", "sqlite %s: %s (%d)", what,
		 s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc), rc);
	return ret;
}

static void sq_done(struct rows *r);
static void sq_close(struct store *base);

/* ---- statements ---- */

/*
 * Sets r->h to statement r->id with a[0..na) bound to ?1..?na.  The cached
 * statement is used unless a caller up the stack is still stepping it (a row
 * callback that re-enters the same list); then a one-off copy is prepared,
 * which sq_done() finalizes.
 */
static int sq_query(struct rows *r, const struct arg *a, size_t na)
{
	struct sq *s = (struct sq *)r->s;
	const char *text = sql_text(&sqlite_backend, r->id);
	const char *name = sql_name(r->id);
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_OK;
	int ret = STORE_ERROR;
	size_t i;

	r->h = NULL;
	if (!text) {
		log_msgf("error", "sqlite: no statement %d", (int)r->id);
		goto out;
	}
	st = s->st[r->id];
	if (!st || sqlite3_stmt_busy(st)) {
		rc = sqlite3_prepare_v3(s->db, text, -1,
					st ? 0 : SQLITE_PREPARE_PERSISTENT,
					&st, NULL);
		if (rc != SQLITE_OK) {
			st = NULL;
			ret = map_rc(s, rc, STORE_ERROR, name);
			goto out;
		}
		if (!s->st[r->id])
			s->st[r->id] = st;
	}
	r->h = st;
	/* a write transaction, or a write on its own, waits for its turn;
	 * BEGIN counts as read-only to SQLite */
	if (!s->writing && sqlite3_get_autocommit(s->db) &&
	    (r->id == ST_BEGIN_WRITE || !sqlite3_stmt_readonly(st))) {
		if (!writer_take(BUSY_TIMEOUT_MS)) {
			log_msgf("warn", "sqlite %s: no turn to write within %d ms", name,
				 BUSY_TIMEOUT_MS);
			ret = STORE_RETRY;
			goto out;
		}
		s->writing = true;
	}
	if ((size_t)sqlite3_bind_parameter_count(st) != na) {
		log_msgf("error", "sqlite %s: %zu arguments for %d parameters",
			 name, na, sqlite3_bind_parameter_count(st));
		goto out;
	}
	for (i = 0; i < na; i++) {
		int col = (int)i + 1;

		switch (a[i].kind) {
		case ARG_INT:
			rc = sqlite3_bind_int64(st, col, a[i].i);
			break;
		case ARG_ID:
			rc = a[i].i ? sqlite3_bind_int64(st, col, a[i].i)
				    : sqlite3_bind_null(st, col);
			break;
		case ARG_TEXT:
			rc = a[i].p ? sqlite3_bind_text(st, col, a[i].p, -1,
							SQLITE_STATIC)
				    : sqlite3_bind_null(st, col);
			break;
		case ARG_BLOB:
			rc = sqlite3_bind_blob(st, col, a[i].p, (int)a[i].n,
					       SQLITE_STATIC);
			break;
		case ARG_INTS: /* the executor runs lists per element */
		case ARG_TEXTS:
			rc = SQLITE_MISUSE;
			break;
		}
		if (rc != SQLITE_OK) {
			ret = map_rc(s, rc, STORE_ERROR, name);
			goto out;
		}
	}
	ret = STORE_OK;
out:
	if (ret != STORE_OK) {
		sq_done(r);
	}
	return ret;
}

/* Gives `writer` back once this connection's write transaction has ended,
 * however it ended: COMMIT, ROLLBACK, or SQLite rolling back by itself. */
static void writer_release(struct sq *s)
{
	if (s->writing && sqlite3_get_autocommit(s->db)) {
		s->writing = false;
		writer_give();
	}
}

/* Readies r->h for its next use: the cached statement is reset and unbound,
 * so that no borrowed pointer stays bound; a one-off copy is finalized. */
static void sq_done(struct rows *r)
{
	struct sq *s = (struct sq *)r->s;
	sqlite3_stmt *st = r->h;

	r->h = NULL;
	if (st && st == s->st[r->id]) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	} else if (st) {
		sqlite3_finalize(st);
	}
	writer_release(s);
}

/* Steps once: *have tells whether a row is ready. */
static int sq_next(struct rows *r, bool *have)
{
	struct sq *s = (struct sq *)r->s;
	int rc = sqlite3_step(r->h);

	*have = rc == SQLITE_ROW;
	if (rc == SQLITE_DONE) {
		r->changes = sqlite3_changes64(s->db);
		r->last_id = sqlite3_last_insert_rowid(s->db);
	}
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return STORE_OK;
	return map_rc(s, rc, r->fk_rc, sql_name(r->id));
}

static int64_t sq_col_int(struct rows *r, int col)
{
	return sqlite3_column_int64(r->h, col);
}

static const char *sq_col_text(struct rows *r, int col, size_t *len)
{
	const unsigned char *t = sqlite3_column_text(r->h, col);

	*len = t ? (size_t)sqlite3_column_bytes(r->h, col) : 0;
	return t ? (const char *)t : "";
}

/*
 * Runs every statement of the static text `sql` (DDL and pragmas: no values)
 * in turn, each prepared, stepped to its end and finalized.
 */
static int sq_script(struct store *base, const char *sql, const char *what)
{
	struct sq *s = (struct sq *)base;
	sqlite3_stmt *st = NULL;
	const char *tail = sql;
	int rc = SQLITE_OK;

	while (tail && *tail) {
		rc = sqlite3_prepare_v2(s->db, tail, -1, &st, &tail);
		if (rc != SQLITE_OK)
			goto out;
		if (!st) /* only blanks or comments were left */
			break;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (rc != SQLITE_DONE)
			goto out;
		rc = SQLITE_OK;
		sqlite3_finalize(st);
		st = NULL;
	}
out:
	if (rc != SQLITE_OK)
		rc = map_rc(s, rc, STORE_ERROR, what);
	sqlite3_finalize(st);
	writer_release(s); /* SQLite may have rolled back by itself */
	return rc;
}

/* SQLite rolls back by itself on some I/O and memory errors. */
static bool sq_in_txn(struct store *base)
{
	return !sqlite3_get_autocommit(((struct sq *)base)->db);
}

/* Counts a statement's rows once it has finished, and none of a statement
 * that failed (SQLite undid them). */
static int64_t sq_written(const struct store *base)
{
	return sqlite3_total_changes64(((const struct sq *)base)->db);
}

/* Copies text column `col` of `st` into buf[size] (pragma values: short). */
static void pragma_value(sqlite3_stmt *st, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, 0);

	snprintf(buf, size, "%s", t ? (const char *)t : "");
}

/* ---- checkpoints ---- */

/*
 * Syncs the database file and the WAL through the checkpoint connection's
 * own handles, before the pass that holds the writers.  A passive pass that
 * does not reach the WAL's end (writers appended meanwhile) copies pages
 * into the database without syncing it, so the held pass's sync used to
 * write back all that the passes before it copied, up to the whole round's
 * 16 MB, while PUTs waited (6 to 10 ms here, docs/performance.md); now it
 * finds only its own last frames to write.  A sync is a sync whoever asks:
 * this changes when the data reaches the disk, never whether it does.  A
 * failure is left to the held pass, whose own sync of the same files fails
 * and stops the round with its error (logged by ckpt_main()).
 */
static void ckpt_presync(void)
{
	static const int ops[] = { SQLITE_FCNTL_FILE_POINTER, SQLITE_FCNTL_JOURNAL_POINTER };
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		sqlite3_file *f = NULL;

		if (sqlite3_file_control(ckpt.db, "main", ops[i], &f) == SQLITE_OK && f &&
		    f->pMethods)
			f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
	}
}

/*
 * One round of the checkpoint thread: the bulk of the WAL while writers go
 * on, then the frames they added meanwhile with this process's writers held,
 * so that the WAL is whole in the database and the next writer starts it
 * afresh (SQLite restarts a WAL only when every frame of it is in the
 * database as a write transaction begins).  A PUT waits while the writers
 * are held, and that pass fsyncs the WAL and the database (both synced just
 * before, ckpt_presync(), so that little is left to write), so the turn is
 * taken only once at most CKPT_TAIL frames are left to copy: the WAL's size
 * after the last commit (nothing commits while the turn is held) against
 * what the last pass copied.  With more left the turn goes back at once and
 * another pass runs without it; after CKPT_CATCH_UP such passes the rest is
 * copied under the turn whatever its size, so that the WAL stays bounded.
 */
static int ckpt_round(void)
{
	int rc = SQLITE_OK, k, wal = 0, done = 0;
	int64_t held = 0;

	for (k = 0; rc == SQLITE_OK; k++) {
		rc = sqlite3_wal_checkpoint_v2(ckpt.db, NULL, SQLITE_CHECKPOINT_PASSIVE, &wal, &done);
		if (rc != SQLITE_OK || (wal - done > CKPT_TAIL && k < CKPT_CATCH_UP))
			continue;
		ckpt_presync();
		if (!writer_take(BUSY_TIMEOUT_MS))
			break;
		if (atomic_load(&ckpt.frames) - done <= CKPT_TAIL || k >= CKPT_CATCH_UP) {
			held = mono_us();
			rc = sqlite3_wal_checkpoint_v2(ckpt.db, NULL, SQLITE_CHECKPOINT_PASSIVE,
						       &wal, &done);
			held = mono_us() - held;
			writer_give();
			break;
		}
		writer_give();
	}
	metrics_checkpoint(false, done > 0 ? (uint64_t)done : 0, (uint64_t)held);
	return rc;
}

/* The checkpoint thread: a round whenever a commit asks for one.  PASSIVE
 * takes no lock that a reader or a writer waits for. */
static void *ckpt_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&ckpt.lock);
	for (;;) {
		int rc;

		while (!ckpt.due && !ckpt.stop)
			pthread_cond_wait(&ckpt.wake, &ckpt.lock);
		if (ckpt.stop)
			break;
		ckpt.due = false;
		pthread_mutex_unlock(&ckpt.lock);
		rc = ckpt_round();
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_msgf("warn", "sqlite checkpoint: %s", sqlite3_errmsg(ckpt.db));
		pthread_mutex_lock(&ckpt.lock);
	}
	pthread_mutex_unlock(&ckpt.lock);
	return NULL;
}

/* CMSD_SQLITE_CHECKPOINT_PAGES into ckpt.pages; -1 with err when it is
 * not a number of pages in range. */
static int ckpt_pages_from_env(char *err, size_t errlen)
{
	const char *v = getenv("CMSD_SQLITE_CHECKPOINT_PAGES");
	char *end;
	long n;

	if (!v || !*v) {
		atomic_store(&ckpt.pages, CKPT_FRAMES_DEFAULT);
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || !isdigit((unsigned char)*v) || n < CKPT_FRAMES_MIN || n > CKPT_FRAMES_TOP) {
		snprintf(err, errlen, "CMSD_SQLITE_CHECKPOINT_PAGES must be a number from %d to %d",
			 CKPT_FRAMES_MIN, CKPT_FRAMES_TOP);
		return -1;
	}
	atomic_store(&ckpt.pages, (int)n);
	return 0;
}

/* WAL hook of the request connections, called after each commit with the
 * WAL's size in pages.  Past 2.5 times ckpt.pages the committing thread, which
 * still holds `writer`, checkpoints itself so that the WAL stays bounded. */
static int on_wal(void *unused, sqlite3 *db, const char *name, int frames)
{
	int pages = atomic_load(&ckpt.pages);

	(void)unused;
	atomic_store(&ckpt.frames, frames);
	if (frames >= pages / 2 * 5) {
		int64_t t0 = mono_us();
		int done = 0;

		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, &done);
		metrics_checkpoint(true, done > 0 ? (uint64_t)done : 0, (uint64_t)(mono_us() - t0));
	} else if (frames >= pages) {
		pthread_mutex_lock(&ckpt.lock);
		ckpt.due = true;
		pthread_cond_signal(&ckpt.wake);
		pthread_mutex_unlock(&ckpt.lock);
	}
	return SQLITE_OK;
}

/*
 * Hands connection s's checkpoints to the thread, starting it with its own
 * connection to path (synchronous set by sync_sql) if it is not running.  A connection to another file,
 * or one for which the thread cannot start, keeps SQLite's autocheckpoint.
 */
static void ckpt_join(struct sq *s, const char *path, const char *sync_sql)
{
	sqlite3 *db = NULL;

	pthread_mutex_lock(&life);
	if (ckpt.path && strcmp(ckpt.path, path))
		goto out;
	if (!ckpt.path) {
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				    NULL) != SQLITE_OK) {
			log_msgf("warn", "sqlite: no checkpoint thread: %s",
				 db ? sqlite3_errmsg(db) : "out of memory");
			goto out;
		}
		sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
		/* a connection that has not read the file does not know it is
		 * in WAL mode, and its checkpoints do nothing */
		if (sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, sync_sql, NULL, NULL, NULL) != SQLITE_OK) {
			log_msgf("warn", "sqlite: no checkpoint thread: %s", sqlite3_errmsg(db));
			goto out;
		}
		ckpt.db = db;
		ckpt.stop = ckpt.due = false;
		if (pthread_create(&ckpt.thread, NULL, ckpt_main, NULL)) {
			log_msgf("warn", "sqlite: no checkpoint thread: cannot start it");
			ckpt.db = NULL;
			goto out;
		}
		pthread_setname_np(ckpt.thread, "cmsd-checkpoint"); /* seen in top -H, perf */
		db = NULL;
		ckpt.path = xstrdup(path);
	}
	ckpt.users++;
	s->hooked = true;
	sqlite3_wal_hook(s->db, on_wal, NULL);
out:
	pthread_mutex_unlock(&life);
	sqlite3_close(db);
}

/* Connection s (closed) no longer needs the thread; the last one stops it. */
static void ckpt_leave(struct sq *s)
{
	if (!s->hooked)
		return;
	s->hooked = false;
	pthread_mutex_lock(&life);
	if (--ckpt.users == 0) {
		pthread_mutex_lock(&ckpt.lock);
		ckpt.stop = true;
		pthread_cond_signal(&ckpt.wake);
		pthread_mutex_unlock(&ckpt.lock);
		pthread_join(ckpt.thread, NULL);
		if (sqlite3_close(ckpt.db) != SQLITE_OK)
			log_msgf("error", "sqlite close: %s", sqlite3_errmsg(ckpt.db));
		ckpt.db = NULL;
		free(ckpt.path);
		ckpt.path = NULL;
	}
	pthread_mutex_unlock(&life);
}

/* ---- lifecycle ---- */

/* Runs one pragma `sql` (static text) and copies its first value, if any,
 * into out[outlen] (out may be NULL).  Returns a store_rc. */
static int pragma(struct sq *s, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (out && outlen)
		out[0] = '\0';
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (out && outlen && !out[0])
			pragma_value(st, out, outlen);
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
out:
	if (rc != SQLITE_OK)
		rc = map_rc(s, rc, STORE_ERROR, sql);
	sqlite3_finalize(st);
	return rc;
}

/*
 * Opens "sqlite:PATH" for the calling thread and sets the connection up:
 * WAL (readers never wait for the writer), synchronous, foreign keys and the
 * busy timeout.  The schema is not touched here: see store_migrate().
 */
static int sq_open(const char *url, struct store **out, char *err, size_t errlen)
{
	static const char prefix[] = "sqlite:";
	struct sq *s = NULL;
	const char *path, *sync_env, *sync_sql;
	char val[32];
	int rc = -1;

	path = url + sizeof(prefix) - 1;
	if (!*path) {
		snprintf(err, errlen, "sqlite: empty database path");
		goto out;
	}
	/*
	 * NORMAL in WAL mode: a commit survives a crash of the process (the
	 * WAL is in the OS's hands) but the last commits may be lost on power
	 * loss or an OS crash.  FULL syncs the WAL on every commit and survives
	 * those too, at the cost of an fsync per write transaction.
	 */
	/* the WAL's size at which the checkpoint thread runs a round: bigger
	 * means fewer rounds, each holding the writers a moment (docs/
	 * performance.md), for more disk and a longer recovery after a crash */
	if (ckpt_pages_from_env(err, errlen))
		goto out;
	sync_env = getenv("CMSD_SQLITE_SYNC");
	if (!sync_env || !*sync_env || !strcasecmp(sync_env, "normal")) {
		sync_sql = "PRAGMA synchronous = NORMAL";
	} else if (!strcasecmp(sync_env, "full")) {
		sync_sql = "PRAGMA synchronous = FULL";
	} else {
		snprintf(err, errlen, "CMSD_SQLITE_SYNC must be full or normal");
		goto out;
	}
	if (!sqlite3_threadsafe()) {
		snprintf(err, errlen, "sqlite: library built without threads");
		goto out;
	}
	/* a commit's WAL frames in one write (store_sqlite_vfs.c); without
	 * it SQLite's own VFS writes them, two writes a frame */
	if (!store_sqlite_vfs_install())
		log_msgf("warn", "sqlite: no WAL-gathering VFS: SQLite's own is used");

	s = xcalloc(1, sizeof(*s));
	s->base.be = &sqlite_backend;
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);

	if (pragma(s, "PRAGMA journal_mode = WAL", val, sizeof(val))) {
		snprintf(err, errlen, "cannot use %s: %s", path,
			 sqlite3_errmsg(s->db));
		goto out;
	}
	/* an in-memory database answers "memory"; anything else is odd */
	if (strcasecmp(val, "wal") && strcasecmp(val, "memory"))
		log_msgf("warn", "sqlite: journal_mode is %s, not wal", val);
	if (!strcasecmp(val, "wal"))
		ckpt_join(s, path, sync_sql);
	/* 4 MiB of page cache per connection (the default is 2 MiB): the
	 * indexes of a large store's hot leads stay in memory; hot mappings
	 * are answered from cmsd's own cache (cache.c), and every connection's
	 * pages count in cmsd's resident size (issue 13: under 64 MiB) */
	if (pragma(s, sync_sql, NULL, 0) || pragma(s, "PRAGMA cache_size = -4096", NULL, 0) ||
	    pragma(s, "PRAGMA foreign_keys = ON", NULL, 0) ||
	    /* a statement's journal (what it would undo inside a transaction)
	     * in memory, not in a temporary file */
	    pragma(s, "PRAGMA temp_store = MEMORY", NULL, 0) ||
	    pragma(s, "PRAGMA foreign_keys", val, sizeof(val))) {
		snprintf(err, errlen, "cannot set up %s: %s", path,
			 sqlite3_errmsg(s->db));
		goto out;
	}
	if (strcmp(val, "1")) { /* deletes rely on them */
		snprintf(err, errlen, "sqlite: foreign keys unavailable");
		goto out;
	}
	/* the store's triggers are for other programs' writes (migration 5):
	 * cmsd says itself what its writes change (store.c, bump_epoch) */
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "sqlite: cannot turn triggers off");
		goto out;
	}
	*out = &s->base;
	s = NULL;
	rc = 0;
out:
	sq_close(s ? &s->base : NULL);
	return rc;
}

/* Finalizes the cached statements and closes the connection; NULL is fine. */
/*
 * A number that moves whenever a transaction may have committed since the
 * last call on this connection, by any process: the wal-index header read
 * as SQLite's own readers read it (walIndexTryHdr: the first copy, a
 * barrier, the second, the two equal), without a statement or a lock.  0
 * when it cannot tell: not a WAL database, no statement run yet (the
 * connection's WAL opens with its first read, and its mapping with it),
 * or a header being written right now.
 */
static uint64_t sq_generation(struct store *base)
{
	struct sq *s = (struct sq *)base;
	uint32_t h[2][WAL_HDR_WORDS];
	size_t i;

	if (!s->shm) {
		sqlite3_file *f = NULL;
		volatile void *p = NULL;

		if (!s->hooked || !base->statements_all ||
		    sqlite3_file_control(s->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK ||
		    !f || !f->pMethods || f->pMethods->iVersion < 2 || !f->pMethods->xShmMap ||
		    f->pMethods->xShmMap(f, 0, 32768, 0, &p) != SQLITE_OK || !p)
			return 0;
		s->shm = p;
	}
	for (i = 0; i < WAL_HDR_WORDS; i++)
		h[0][i] = s->shm[i];
	atomic_thread_fence(memory_order_seq_cst);
	for (i = 0; i < WAL_HDR_WORDS; i++)
		h[1][i] = s->shm[WAL_HDR_WORDS + i];
	if (memcmp(h[0], h[1], sizeof(h[0])) || !((const uint8_t *)h[0])[WAL_HDR_ISINIT])
		return 0;
	if (!s->gen || memcmp(h[0], s->hdr, sizeof(h[0]))) {
		memcpy(s->hdr, h[0], sizeof(h[0]));
		s->gen++;
	}
	return s->gen;
}

static void sq_close(struct store *base)
{
	struct sq *s = (struct sq *)base;
	size_t i;

	if (!s)
		return;
	if (s->writing) /* closing rolls the transaction back, then the turn goes */
		log_msgf("error", "sqlite: a connection closed inside a write transaction");
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db && sqlite3_close(s->db) != SQLITE_OK)
		log_msgf("error", "sqlite close: %s", sqlite3_errmsg(s->db));
	if (s->writing)
		writer_give();
	ckpt_leave(s);
	free(s);
}


const struct sql_backend sqlite_backend = {
	.name = "sqlite",
	/* no array type: in process, a statement per element costs little */
	.lists = false,
	.sql = sq_sql,
	.version_ddl = sqlite_version_ddl,
	.migrations = sqlite_migrations,
	.open = sq_open,
	.close = sq_close,
	.query = sq_query,
	.next = sq_next,
	.done = sq_done,
	.col_int = sq_col_int,
	.col_text = sq_col_text,
	.script = sq_script,
	.in_txn = sq_in_txn,
	.generation = sq_generation,
	.written = sq_written,
	.backup = sqlite_backup,
};
