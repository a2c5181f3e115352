/*
 * store_sqlite_vfs.c - a VFS over SQLite's own (unix) that writes a WAL
 * commit's frames in one system call (store_sqlite_vfs.h).
 *
 * SQLite writes each frame of the WAL as two writes, its 24-byte header and
 * then the page (walWriteOneFrame() in wal.c): a commit of 7 pages is 14
 * pwrite() calls, and on the machines cmsd is measured on a system call
 * costs more than the copy it makes (docs/performance.md).  Here the frames
 * a transaction appends are gathered in memory and written out, as one
 * write, when the commit frame's page is written: the write SQLite makes of
 * the commit frame returns only once every frame of the commit is in the
 * file (or with the error that stopped it), so a commit is exactly as
 * written, and as durable, as before, before SQLite publishes it in the
 * wal-index for readers.
 *
 * What is gathered, and when it goes out:
 *  - only appends: a frame's header written where the last write to the WAL
 *    ended, and the writes that follow it back to back.  Anything else (the
 *    WAL's header, a frame rewritten in place, the checksums SQLite writes
 *    again after such a rewrite) first writes out what is gathered, then
 *    goes to the file at once;
 *  - a commit frame is a frame header whose second field (the database's
 *    size after the commit) is not zero: the next write, its page, ends the
 *    gathering;
 *  - every other call on the WAL (a read, a sync, a truncation, its size, a
 *    file control) writes out first, and so does every call on the shared
 *    memory (the wal-index) of the database the WAL belongs to, before the
 *    commit is published or the write lock given back: frames a transaction
 *    spilled and then rolled back are written (past the WAL's last commit,
 *    where SQLite itself leaves them) while it still holds the lock, never
 *    later over another writer's.  Bytes still gathered when the WAL closes
 *    belong to no commit and are dropped.  A write that fails where SQLite
 *    takes no error (xShmBarrier) is logged and returned by the WAL's next
 *    call.
 *
 * A WAL is paired with its database's file of the same connection: SQLite
 * opens the WAL with a name in the same buffer as the database's
 * (sqlite3_filename_database() finds it), and the pair is used by one
 * thread at a time, as its connection is.
 */
#include "store_sqlite_vfs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "banned.h"

#define VFS_NAME "cmsd"
#define FRAME_HDR 24             /* a WAL frame's header (wal.c) */
#define WRITE_MAX 0x1ffff        /* bytes the unix VFS writes in one call at most
				    (seekAndWriteFd() masks the count with it) */
#define GATHER_MAX (120u << 10)  /* bytes gathered at most, then written: under
				    WRITE_MAX, so one call; 30 pages of 4 KiB,
				    twice a group of PUTs at the peak */

struct vfile {
	sqlite3_file base;
	sqlite3_file *real; /* the unix VFS's file, in the same allocation */
	bool wal;           /* opened as a WAL */
	const char *name;   /* a main database: the name it was opened with */
	struct vfile *pair; /* its WAL, or a WAL's database (NULL: none) */
	struct vfile *next; /* main databases open: `dbs` */
	/* a WAL's gathered bytes, for file offset `at` */
	unsigned char *buf;
	size_t len, cap;
	sqlite3_int64 at;
	sqlite3_int64 end;  /* where the last write to the WAL ended */
	bool commit;        /* the last gathered write is a commit frame's header */
	int err;            /* a write out that failed where no error is taken */
};

static sqlite3_vfs *real_vfs;

/* The main database files open, for a WAL to find its own. */
static struct {
	pthread_mutex_t lock;
	struct vfile *head;
} dbs = { PTHREAD_MUTEX_INITIALIZER, NULL };

/* Writes out what f gathered; SQLITE_OK, or the write's error. */
static int flush(struct vfile *f)
{
	int rc = SQLITE_OK;

	for (size_t done = 0, n; rc == SQLITE_OK && done < f->len; done += n) {
		n = f->len - done < WRITE_MAX ? f->len - done : WRITE_MAX;
		rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
					       f->at + (sqlite3_int64)done);
	}
	f->len = 0;
	f->commit = false;
	if (rc == SQLITE_OK && f->err) {
		rc = f->err;
		f->err = SQLITE_OK;
	}
	return rc;
}

/* Writes out what the WAL of database file db gathered, before its
 * shared memory is touched; the error, or SQLITE_OK. */
static int flush_pair(struct vfile *db)
{
	struct vfile *w = db->pair;

	return w && (w->len || w->err) ? flush(w) : SQLITE_OK;
}

/* Appends to what f gathered; false when memory for it cannot be had (the
 * write then goes to the file as it is). */
static bool gather(struct vfile *f, const void *p, int amt, sqlite3_int64 off)
{
	if (f->len + (size_t)amt > f->cap) {
		size_t cap = f->len + (size_t)amt > GATHER_MAX ? f->len + (size_t)amt : GATHER_MAX;
		unsigned char *b = realloc(f->buf, cap);

		if (!b)
			return false;
		f->buf = b;
		f->cap = cap;
	}
	if (!f->len)
		f->at = off;
	memcpy(f->buf + f->len, p, (size_t)amt);
	f->len += (size_t)amt;
	return true;
}

/* A frame header whose "database size after commit" field is set. */
static bool commit_header(const void *p, int amt)
{
	const unsigned char *h = p;

	return amt == FRAME_HDR && (h[4] | h[5] | h[6] | h[7]);
}

static int v_write(sqlite3_file *file, const void *p, int amt, sqlite3_int64 off)
{
	struct vfile *f = (struct vfile *)file;
	bool appended;
	int rc;

	if (!f->wal || !f->pair) /* no database to write it out before it is read */
		return f->real->pMethods->xWrite(f->real, p, amt, off);
	/* a frame's header where the WAL ends, or what follows the gathered
	 * bytes back to back */
	appended = f->len ? off == f->at + (sqlite3_int64)f->len
			  : amt == FRAME_HDR && off == f->end && f->end > 0;
	if (!appended) {
		if ((rc = flush(f)) != SQLITE_OK)
			return rc;
		rc = f->real->pMethods->xWrite(f->real, p, amt, off);
		if (rc == SQLITE_OK)
			f->end = off + amt;
		return rc;
	}
	if (f->err) /* a write out failed since: nothing more before it is said */
		return flush(f);
	if (!gather(f, p, amt, off)) {
		if ((rc = flush(f)) == SQLITE_OK &&
		    (rc = f->real->pMethods->xWrite(f->real, p, amt, off)) == SQLITE_OK)
			f->end = off + amt;
		return rc;
	}
	f->end = off + amt;
	if (f->commit || f->len >= GATHER_MAX)
		return flush(f); /* the commit frame's page: the commit whole */
	f->commit = commit_header(p, amt);
	return SQLITE_OK;
}

/* The calls that write out first on a WAL, then do what SQLite asked. */
#define WAL_FIRST(f)                                                           \
	do {                                                                   \
		int rc_;                                                       \
		if ((f)->wal && ((f)->len || (f)->err) &&                      \
		    (rc_ = flush(f)) != SQLITE_OK)                             \
			return rc_;                                            \
	} while (0)

static int v_close(sqlite3_file *file)
{
	struct vfile *f = (struct vfile *)file, **p;
	int rc;

	pthread_mutex_lock(&dbs.lock);
	if (f->pair)
		f->pair->pair = NULL;
	for (p = &dbs.head; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	pthread_mutex_unlock(&dbs.lock);
	rc = f->real->pMethods->xClose(f->real);
	free(f->buf); /* a WAL's bytes of no commit */
	f->buf = NULL;
	return rc;
}

static int v_read(sqlite3_file *file, void *p, int amt, sqlite3_int64 off)
{
	struct vfile *f = (struct vfile *)file;

	WAL_FIRST(f);
	return f->real->pMethods->xRead(f->real, p, amt, off);
}

static int v_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct vfile *f = (struct vfile *)file;

	WAL_FIRST(f);
	if (f->end > size)
		f->end = size;
	return f->real->pMethods->xTruncate(f->real, size);
}

static int v_sync(sqlite3_file *file, int flags)
{
	struct vfile *f = (struct vfile *)file;

	WAL_FIRST(f);
	return f->real->pMethods->xSync(f->real, flags);
}

static int v_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct vfile *f = (struct vfile *)file;

	WAL_FIRST(f);
	return f->real->pMethods->xFileSize(f->real, size);
}

static int v_lock(sqlite3_file *file, int lock)
{
	struct vfile *f = (struct vfile *)file;

	return f->real->pMethods->xLock(f->real, lock);
}

static int v_unlock(sqlite3_file *file, int lock)
{
	struct vfile *f = (struct vfile *)file;

	return f->real->pMethods->xUnlock(f->real, lock);
}

static int v_reserved(sqlite3_file *file, int *out)
{
	struct vfile *f = (struct vfile *)file;

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int v_control(sqlite3_file *file, int op, void *arg)
{
	struct vfile *f = (struct vfile *)file;

	WAL_FIRST(f);
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int v_sector(sqlite3_file *file)
{
	struct vfile *f = (struct vfile *)file;

	return f->real->pMethods->xSectorSize(f->real);
}

static int v_device(sqlite3_file *file)
{
	struct vfile *f = (struct vfile *)file;

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* Shared memory: the wal-index, reached through the database file.  Its
 * WAL's gathered frames go out before any of it is touched. */
static int v_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **p)
{
	struct vfile *f = (struct vfile *)file;
	int rc = flush_pair(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xShmMap(f->real, page, size, extend, p);
}

static int v_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct vfile *f = (struct vfile *)file;
	int rc = flush_pair(f);

	if (rc != SQLITE_OK) {
		if (!(flags & SQLITE_SHM_UNLOCK))
			return rc;
		/* a lock given back is given back whatever the write did; the
		 * WAL's next call says what it did */
		f->pair->err = rc;
	}
	return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void v_shm_barrier(sqlite3_file *file)
{
	struct vfile *f = (struct vfile *)file;
	int rc = flush_pair(f);

	if (rc != SQLITE_OK) {
		f->pair->err = rc; /* the WAL's next call says so */
		log_msgf("error", "sqlite: writing WAL frames failed (SQLite error %d)", rc);
	}
	f->real->pMethods->xShmBarrier(f->real);
}

static int v_shm_unmap(sqlite3_file *file, int del)
{
	struct vfile *f = (struct vfile *)file;

	flush_pair(f);
	return f->real->pMethods->xShmUnmap(f->real, del);
}

static int v_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **p)
{
	struct vfile *f = (struct vfile *)file;

	WAL_FIRST(f);
	return f->real->pMethods->xFetch(f->real, off, amt, p);
}

static int v_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	struct vfile *f = (struct vfile *)file;

	return f->real->pMethods->xUnfetch(f->real, off, p);
}

static const sqlite3_io_methods v_methods = {
	3,           v_close,     v_read,    v_write,       v_truncate,  v_sync,
	v_size,      v_lock,      v_unlock,  v_reserved,    v_control,   v_sector,
	v_device,    v_shm_map,   v_shm_lock, v_shm_barrier, v_shm_unmap, v_fetch,
	v_unfetch,
};

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
		  int *out_flags)
{
	struct vfile *f = (struct vfile *)file;
	int rc;

	(void)vfs;
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
	/* the shared-memory methods are needed whole (version 3): a VFS
	 * without them is not one this file speaks for */
	if (rc != SQLITE_OK || !f->real->pMethods || f->real->pMethods->iVersion < 3) {
		if (rc == SQLITE_OK && f->real->pMethods)
			f->real->pMethods->xClose(f->real);
		f->base.pMethods = NULL;
		return rc == SQLITE_OK ? SQLITE_CANTOPEN : rc;
	}
	f->wal = (flags & SQLITE_OPEN_WAL) != 0;
	f->base.pMethods = &v_methods;
	/* without power-safe overwrite SQLite pads a synced commit to a sector
	 * and may split its last frame: such a WAL is written as it comes */
	if (!name || !(flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) ||
	    (f->wal && !(f->real->pMethods->xDeviceCharacteristics(f->real) &
			 SQLITE_IOCAP_POWERSAFE_OVERWRITE)))
		return SQLITE_OK;
	pthread_mutex_lock(&dbs.lock);
	if (f->wal) {
		const char *db = sqlite3_filename_database(name);
		struct vfile *d;

		for (d = dbs.head; d && d->name != db; d = d->next)
			;
		if (d) {
			d->pair = f;
			f->pair = d;
		}
	} else {
		f->name = name;
		f->next = dbs.head;
		dbs.head = f;
	}
	pthread_mutex_unlock(&dbs.lock);
	return SQLITE_OK;
}

static sqlite3_vfs vfs;

static void install(void)
{
	real_vfs = sqlite3_vfs_find("unix");
	if (!real_vfs)
		return;
	vfs = *real_vfs;
	vfs.zName = VFS_NAME;
	vfs.szOsFile = (int)sizeof(struct vfile) + real_vfs->szOsFile;
	vfs.xOpen = v_open;
	vfs.pNext = NULL;
	if (sqlite3_vfs_register(&vfs, 1) != SQLITE_OK)
		real_vfs = NULL;
}

bool store_sqlite_vfs_install(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install);
	return real_vfs != NULL;
}
