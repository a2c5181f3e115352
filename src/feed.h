/*
 * feed.h - the change feed of API.md §8 as this node follows it (feed.c):
 * the newest events held in memory, read once from the store in cursor
 * order, and the requests that wait for them (long-polls and Server-Sent
 * Events streams).
 *
 * The store is the record (store_feed_*): every change of the mapping
 * appends its events in its own transaction, with cursors in commit order
 * on either backend.  One thread per process follows it: woken by this
 * process's commits (feed_commit_done()), by other nodes' (PostgreSQL's
 * LISTEN/NOTIFY) and once a second regardless, it reads what is new,
 * appends it to memory and wakes every waiter an event is for.  A reader
 * whose cursor is older than memory reads the store itself.
 */
#ifndef CMSD_FEED_H
#define CMSD_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cms_limits.h"
#include "store.h"
#include "strbuf.h"

/* Which events a reader gets. */
struct feed_filter {
	int64_t cc;                     /* contact center; 0: every one */
	int64_t campaign, lead;         /* 0: any */
	char user[CMS_USERID_MAX + 1];  /* "": any; else events naming it */
	char self[CMS_USERID_MAX + 1];  /* an Agent's scope: the same, always */
};

enum feed_rc {
	FEED_OK = 0,
	FEED_GONE,  /* the cursor is older than the retention window, or ahead
		       of the feed: 410 CONF-1007 */
	FEED_STORE, /* the store failed: see *store_rc */
};

/* Start following the store at `db` (a connection of its own), keeping
 * events `retention` seconds.  0, or -1 after logging why. */
int feed_start(const char *db, int64_t retention);
/* Wake every waiter for good: polls answer, streams end (SIGTERM).  The
 * thread stops; memory stays until feed_release(). */
void feed_stop(void);
bool feed_stopping(void);
void feed_release(void);
/* A transaction of this process on s has committed: the events it
 * appended go into memory as it wrote them (store_own_events), their leads
 * dropped from the cache and their waiters woken, when they follow
 * memory's head with no gap; otherwise the commit is counted and the
 * thread reads them now.  Call it after every commit, before answering the
 * request(s) that made it. */
void feed_commit_done(struct store *s);
/* Whether every event this process committed and did not hand over (see
 * feed_commit_done) has been
 * read by the feed, and so has dropped what the cache held of its lead
 * (cache_drop_older): then a lead the cache holds was not changed by this
 * process since, only perhaps by another node, very lately. */
bool feed_has_own_commits(void);

/* A cursor as the API writes it: 16 lowercase hex digits. */
void feed_cursor_text(int64_t cursor, char out[17]);
/* "0" or 16 hex digits into *out; -1 for anything else. */
int feed_cursor_parse(const char *text, int64_t *out);

/* One reader's place in the feed. */
struct feed_sub;
/* A reader of the events of `f` after cursor `after` (0: the oldest kept). */
struct feed_sub *feed_sub_new(const struct feed_filter *f, int64_t after);
void feed_sub_free(struct feed_sub *sub);
/* Where the reader is: resume from here. */
int64_t feed_sub_cursor(const struct feed_sub *sub);

/*
 * Appends to `out` the reader's next events, at most `limit`, and none more
 * once `out` holds 1 MiB (a page bounded by bytes: an event may name
 * thousands of users), and moves its cursor past everything it looked at (with a filter, possibly past the last
 * event written).  Each event is its JSON object, separated by commas, or
 * with `sse` an SSE block ("id: ...\nevent: change\ndata: {...}\n\n").
 * `fresh`: first read what the store committed since (so that a request sees
 * every change acknowledged before it).  Events older than memory come from
 * store s.  *n: events written; *at_end: the reader has seen every event
 * known.  FEED_STORE sets *store_rc.
 */
int feed_sub_read(struct feed_sub *sub, struct store *s, bool fresh, size_t limit, bool sse,
		  struct strbuf *out, size_t *n, bool *at_end, int *store_rc);

/*
 * Wait for the reader's next event, until `until` (mono_ms() time, clock.h) or
 * feed_stop(): then wake(ctx) is called once, from another thread.  arm(ctx)
 * runs before any wake can (libmicrohttpd's suspend).  Returns false, having
 * called neither, when there is something to read already or the feed is
 * stopping: read again now.
 */
bool feed_sub_wait(struct feed_sub *sub, int64_t until, void (*arm)(void *),
		   void (*wake)(void *), void *ctx);

#endif
