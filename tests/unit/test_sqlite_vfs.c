/*
 * test_sqlite_vfs.c - store_sqlite_vfs.c: a WAL commit in one write, and
 * the WAL it leaves exactly the one SQLite's own VFS would leave.
 *
 * "Exactly" is checked the hard way: the database and its WAL are copied
 * while the connections that wrote them are still open (nothing
 * checkpointed), and the copy is opened afresh, so that SQLite rebuilds its
 * wal-index from the WAL's frames and their checksums alone; a frame
 * written wrong or not at all ends the log there and loses the commits
 * after it.  The paths SQLite takes are the common one (frames appended, a
 * commit), a transaction larger than the page cache (frames spilled before
 * the commit and some written again in place, whose checksums SQLite then
 * writes again), and one that spills and rolls back while another writer
 * commits after it.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/types.h>

#include "helpers.h"
#include "store_sqlite_vfs.h"
#include "unit.h"

void suite_sqlite_vfs(void);

static char *dir; /* tmpdir_make() */

/* pwrite() calls the unix VFS makes, counted (or failed, as a full disk
 * would) through its system-call table (xSetSystemCall) */
static sqlite3_syscall_ptr real_pwrite, real_pwrite64;
static int pwrites;
static bool disk_full;

static ssize_t count_pwrite(int fd, const void *p, size_t n, off_t off)
{
	pwrites++;
	if (disk_full) {
		errno = ENOSPC;
		return -1;
	}
	return ((ssize_t(*)(int, const void *, size_t, off_t))real_pwrite)(fd, p, n, off);
}

static ssize_t count_pwrite64(int fd, const void *p, size_t n, off_t off)
{
	pwrites++;
	if (disk_full) {
		errno = ENOSPC;
		return -1;
	}
	return ((ssize_t(*)(int, const void *, size_t, off_t))real_pwrite64)(fd, p, n, off);
}

/* The unix VFS's pwrite() through the functions above (true), or its own
 * again (false). */
static void hook_pwrite(bool on)
{
	sqlite3_vfs *u = sqlite3_vfs_find("unix");

	CHECK(u && u->xSetSystemCall);
	if (!u || !u->xSetSystemCall)
		return;
	if (!on) {
		u->xSetSystemCall(u, NULL, NULL); /* all back */
		return;
	}
	real_pwrite = u->xGetSystemCall(u, "pwrite");
	real_pwrite64 = u->xGetSystemCall(u, "pwrite64");
	CHECK(real_pwrite || real_pwrite64);
	if (real_pwrite)
		u->xSetSystemCall(u, "pwrite", (sqlite3_syscall_ptr)count_pwrite);
	if (real_pwrite64)
		u->xSetSystemCall(u, "pwrite64", (sqlite3_syscall_ptr)count_pwrite64);
}

static sqlite3 *open_db(const char *name, int cache_pages)
{
	char path[512], sql[64];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) ==
	      SQLITE_OK);
	CHECK(sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			       " PRAGMA wal_autocheckpoint = 0",
			   NULL, NULL, NULL) == SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = %d", cache_pages);
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	return db;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "  %s: %s\n", sql, msg ? msg : "?");
		CHECK(!"statement failed");
	}
	sqlite3_free(msg);
}

static long long one(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void copy_file(const char *from, const char *to)
{
	char a[512], b[512], buf[65536];
	FILE *in, *out;
	size_t n;

	snprintf(a, sizeof(a), "%s/%s", dir, from);
	snprintf(b, sizeof(b), "%s/%s", dir, to);
	in = fopen(a, "rb");
	out = fopen(b, "wb");
	CHECK(in && out);
	while (in && out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		CHECK(fwrite(buf, 1, n, out) == n);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
}

/* A copy of name and its WAL, opened afresh: SQLite recovers it from the
 * WAL's frames alone.  Returns its rows in t, -1 when it is not whole. */
static long long recovered(const char *name, const char *copy)
{
	char wal[64], copywal[64];
	sqlite3 *db;
	long long rows = -1;

	snprintf(wal, sizeof(wal), "%s-wal", name);
	snprintf(copywal, sizeof(copywal), "%s-wal", copy);
	copy_file(name, copy);
	copy_file(wal, copywal);
	db = open_db(copy, 100);
	if (one(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'") == 1)
		rows = one(db, "SELECT count(*) FROM t");
	sqlite3_close(db);
	return rows;
}

/* Rows of 300 bytes: 1,000 of them fill some 80 pages. */
static void insert(sqlite3 *db, int from, int n)
{
	char sql[160];

	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE k(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM k WHERE i < %d)"
		 " INSERT INTO t SELECT i, zeroblob(300) FROM k",
		 from, from + n - 1);
	exec(db, sql);
}

static void one_write_a_commit(void)
{
	sqlite3 *db = open_db("a.db", 2000), *reader;
	long long changed;
	int before;

	exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
	insert(db, 1, 100);
	exec(db, "CREATE INDEX t_b ON t(b)");
	hook_pwrite(true);
	before = pwrites;
	/* one statement its own transaction: no statement journal (a
	 * temporary file of its own writes) */
	exec(db, "UPDATE t SET b = zeroblob(301) WHERE id % 3 = 0");
	changed = one(db, "SELECT count(*) FROM t WHERE length(b) = 301");
	CHECK(changed == 33);
	/* 33 rows over some 10 table pages and the index's: two writes a frame
	 * without the gathering, one for the commit with it */
	fprintf(stderr, "  # pwrite() calls for the commit: %d\n", pwrites - before);
	CHECK(pwrites - before == 1);
	hook_pwrite(false);
	reader = open_db("a.db", 100);
	CHECK(one(reader, "SELECT count(*) FROM t WHERE length(b) = 301") == 33);
	CHECK(recovered("a.db", "a-copy.db") == 100);
	sqlite3_close(reader);
	sqlite3_close(db);
}

static void spilled_and_rewritten(void)
{
	/* a cache of 10 pages: the transaction's frames spill to the WAL
	 * before its commit, and pages spilled are written again in place */
	sqlite3 *db = open_db("b.db", 10), *reader;

	exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
	exec(db, "BEGIN");
	insert(db, 1, 3000);
	exec(db, "UPDATE t SET b = zeroblob(299) WHERE id % 7 = 0");
	exec(db, "UPDATE t SET b = zeroblob(300) WHERE id % 7 = 0");
	exec(db, "COMMIT");
	reader = open_db("b.db", 100);
	CHECK(one(reader, "SELECT count(*) FROM t") == 3000);
	CHECK(one(reader, "SELECT count(*) FROM t WHERE length(b) <> 300") == 0);
	CHECK(recovered("b.db", "b-copy.db") == 3000);
	sqlite3_close(reader);
	sqlite3_close(db);
}

static void spilled_then_rolled_back(void)
{
	sqlite3 *a = open_db("c.db", 10), *b;

	exec(a, "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
	insert(a, 1, 10);
	exec(a, "BEGIN");
	insert(a, 100, 3000); /* spills, never commits */
	exec(a, "ROLLBACK");
	b = open_db("c.db", 10);
	insert(b, 20000, 5); /* another writer, where a's frames were */
	insert(a, 30000, 3); /* and a again */
	CHECK(one(b, "SELECT count(*) FROM t") == 18);
	CHECK(recovered("c.db", "c-copy.db") == 18);
	sqlite3_close(b);
	sqlite3_close(a);
}

/* The write of a gathered commit fails (a full disk): the commit fails
 * with it, nothing of it is read or recovered, and the next one stands. */
static void failed_write_fails_the_commit(void)
{
	sqlite3 *db = open_db("d.db", 2000), *reader;
	int rc;

	exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
	insert(db, 1, 10);
	hook_pwrite(true);
	disk_full = true;
	rc = sqlite3_exec(db, "WITH RECURSIVE k(i) AS (SELECT 100 UNION ALL SELECT i + 1 FROM k"
			      " WHERE i < 199) INSERT INTO t SELECT i, zeroblob(300) FROM k",
			  NULL, NULL, NULL);
	disk_full = false;
	hook_pwrite(false);
	CHECK(rc != SQLITE_OK);
	CHECK((rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR);
	reader = open_db("d.db", 100);
	CHECK(one(reader, "SELECT count(*) FROM t") == 10);
	insert(db, 1000, 5);
	CHECK(one(reader, "SELECT count(*) FROM t") == 15);
	CHECK(recovered("d.db", "d-copy.db") == 15);
	sqlite3_close(reader);
	sqlite3_close(db);
}

void suite_sqlite_vfs(void)
{
	static const struct unit_test t[] = {
		{ "one_write_a_commit", one_write_a_commit },
		{ "spilled_and_rewritten", spilled_and_rewritten },
		{ "spilled_then_rolled_back", spilled_then_rolled_back },
		{ "failed_write_fails_the_commit", failed_write_fails_the_commit },
	};
	if (!unit_selected("sqlite_vfs"))
		return;
	CHECK(store_sqlite_vfs_install());
	dir = tmpdir_make("vfs"); /* NULL: every test fails */
	CHECK(dir != NULL);
	unit_run("sqlite_vfs", t, sizeof(t) / sizeof(t[0]));
	tmpdir_remove(dir);
	dir = NULL;
}
