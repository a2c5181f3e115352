/*
 * store_sqlite_backup.c - `cmsd backup` for a SQLite store: a consistent copy
 * of the live database file, taken with SQLite's online backup API while
 * another cmsd may be writing to it (docs/decisions.md says why not VACUUM
 * INTO, docs/operations.md how to restore).
 *
 * The copy is one sqlite3_backup_step(-1): one read transaction on the
 * source, so the copy is the store as of that transaction's start (WAL: the
 * writers go on meanwhile, readers never block them).  Steps of a few pages
 * would let a writer in between, and SQLite then restarts the copy from the
 * first page: under steady writes it might never end.
 *
 * The copy is written to FILE.partial-PID beside FILE, checked with PRAGMA
 * integrity_check, synced, and only then linked (or, with force, renamed) to
 * FILE: a failed or interrupted backup never leaves a FILE that looks whole.
 */
#include "sql.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"
#include "banned.h"

#define BACKUP_BUSY_MS 10000 /* the source's busy timeout (another process's lock) */
#define BACKUP_TRIES 50      /* a step that finds the source locked tries again */

/* fsync the directory holding `path`, so that a rename or link in it is
 * durable.  Returns 0 or -1 (errno). */
static int sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd, rc = -1;

	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return rc;
}

/* fsync the file `path`.  Returns 0 or -1 (errno). */
static int sync_file(const char *path)
{
	int fd = open(path, O_RDONLY), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Give the finished copy `tmp` the name `to` unless `to` exists: link()
 * refuses an existing name atomically.  A file system without hard links
 * (vfat, some network shares) gets a check and a rename instead, which a
 * file created in between would lose to.  Returns 0, or -1 (errno; EEXIST
 * when `to` exists). */
static int put_in_place(const char *tmp, const char *to)
{
	struct stat st;

	if (!link(tmp, to)) {
		unlink(tmp);
		return 0;
	}
	if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS)
		return -1;
	if (!lstat(to, &st)) {
		errno = EEXIST;
		return -1;
	}
	return rename(tmp, to);
}

/* A database file's name and those of the files SQLite keeps beside it. */
static const char *const db_suffix[] = { "", "-journal", "-wal", "-shm" };
#define NSUFFIX (sizeof(db_suffix) / sizeof(db_suffix[0]))

/* Remove `path` and the files SQLite keeps beside it. */
static void remove_db(const char *path)
{
	char name[4096];
	size_t i;

	for (i = 0; i < NSUFFIX; i++)
		if ((size_t)snprintf(name, sizeof(name), "%s%s", path, db_suffix[i]) < sizeof(name))
			unlink(name);
}

/* Whether `to` is the store `path` itself or one of its companion files
 * (same device and inode, through any name or link): --force would then
 * remove or replace the live store. */
static bool is_the_store(const char *path, const char *to)
{
	struct stat a, b;
	char name[4096];
	size_t i;

	if (stat(to, &b))
		return false;
	for (i = 0; i < NSUFFIX; i++)
		if ((size_t)snprintf(name, sizeof(name), "%s%s", path, db_suffix[i]) < sizeof(name) &&
		    !stat(name, &a) && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return true;
	return false;
}

/* The single value of `sql` on db as text into out[size]; 0, or -1. */
static int one_text(sqlite3 *db, const char *sql, char *out, size_t size)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *v;
	int rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	v = sqlite3_column_text(st, 0);
	snprintf(out, size, "%s", v ? (const char *)v : "");
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int sqlite_backup(const char *url, const char *to, bool force, struct store_backup_info *info,
		  char *err, size_t errlen)
{
	const char *path = url + strlen("sqlite:");
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b = NULL;
	char tmp[4096], val[64];
	struct stat st;
	bool made = false;
	int rc = STORE_ERROR, step, tries;

	if (!*path || !*to) {
		snprintf(err, errlen, "empty path");
		goto out;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.partial-%ld", to, (long)getpid()) >=
	    sizeof(tmp)) {
		snprintf(err, errlen, "--to: path too long");
		goto out;
	}
	if (is_the_store(path, to)) {
		snprintf(err, errlen, "%s is the store itself (or one of its files): "
			 "the backup must go to another file", to);
		goto out;
	}
	if (!force && lstat(to, &st) == 0) {
		snprintf(err, errlen, "%s exists: choose a new file, or --force replaces it", to);
		rc = STORE_EXISTS;
		goto out;
	}
	/* no SQLITE_OPEN_CREATE: a mistyped path is an error, not a new store */
	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "cannot open the store %s: %s", path,
			 src ? sqlite3_errmsg(src) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(src, BACKUP_BUSY_MS);
	if (one_text(src, "SELECT max(version) FROM schema_version", val, sizeof(val)) || !*val) {
		snprintf(err, errlen, "%s is not a cmsd store (no schema version): %s", path,
			 sqlite3_errmsg(src));
		goto out;
	}

	remove_db(tmp); /* a leftover of a backup killed with this pid */
	made = true;
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot create %s: %s", tmp,
			 dst ? sqlite3_errmsg(dst) : "out of memory");
		goto out;
	}
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		snprintf(err, errlen, "cannot start the backup: %s", sqlite3_errmsg(dst));
		goto out;
	}
	/* all pages in one step, one read transaction: one snapshot.  BUSY
	 * or LOCKED only when the source could not be read at all (its
	 * busy handler gave up): nothing was copied, so try again. */
	for (tries = 0;; tries++) {
		step = sqlite3_backup_step(b, -1);
		if (step == SQLITE_DONE || tries >= BACKUP_TRIES ||
		    (step != SQLITE_BUSY && step != SQLITE_LOCKED))
			break;
		sqlite3_sleep(100);
	}
	info->pages = sqlite3_backup_pagecount(b);
	if (sqlite3_backup_finish(b) != SQLITE_OK || step != SQLITE_DONE) {
		b = NULL;
		snprintf(err, errlen, "the copy failed: %s",
			 step != SQLITE_DONE ? sqlite3_errstr(step) : sqlite3_errmsg(dst));
		goto out;
	}
	b = NULL;
	if (one_text(dst, "PRAGMA integrity_check", val, sizeof(val)) || strcmp(val, "ok")) {
		snprintf(err, errlen, "the copy fails PRAGMA integrity_check: %s", val);
		goto out;
	}
	if (one_text(dst, "SELECT max(version) FROM schema_version", val, sizeof(val))) {
		snprintf(err, errlen, "the copy has no schema version");
		goto out;
	}
	info->schema_version = strtoll(val, NULL, 10);
	if (sqlite3_close(dst) != SQLITE_OK) {
		snprintf(err, errlen, "cannot close %s: %s", tmp, sqlite3_errmsg(dst));
		goto out;
	}
	dst = NULL;
	if (sync_file(tmp) || stat(tmp, &st)) {
		snprintf(err, errlen, "cannot sync %s: %s", tmp, strerror(errno));
		goto out;
	}
	info->bytes = (int64_t)st.st_size;
	if (force) {
		/* an old FILE's -wal or -shm would be replayed onto the new one */
		remove_db(to);
		if (rename(tmp, to)) {
			snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, to,
				 strerror(errno));
			goto out;
		}
	} else if (put_in_place(tmp, to)) {
		snprintf(err, errlen, "cannot create %s: %s", to, strerror(errno));
		rc = errno == EEXIST ? STORE_EXISTS : STORE_ERROR;
		goto out;
	}
	made = false;
	if (sync_dir(to)) {
		snprintf(err, errlen, "cannot sync the directory of %s: %s", to, strerror(errno));
		goto out;
	}
	rc = STORE_OK;
out:
	if (b)
		sqlite3_backup_finish(b);
	sqlite3_close(dst);
	sqlite3_close(src);
	if (made)
		remove_db(tmp);
	return rc;
}
