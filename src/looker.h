/*
 * looker.h - the caches' looks of concurrent requests, taken in one
 * statement (docs/decisions.md, "Looks shared under load").
 *
 * On PostgreSQL every request answered from memory still asks the store one
 * question, its look (store_look: the feed's head, the epoch, a lead's
 * version, and the lead's rows when the copy held of it is stale or
 * missing), and a worker waited for that round trip with every other
 * connection of its own unread.  Under load the workers hand such requests
 * to one thread with a connection of its own instead: it takes every look
 * waiting when it is free and asks for all of them in one statement
 * (store_look_many), whose snapshot is taken after each of them arrived, so
 * each is exactly as fresh as its own look would have been.  The request's
 * connection is suspended meanwhile and its worker serves others; resumed,
 * the request goes on with its look done.  A look alone (an idle node) is
 * still taken by its worker (looker_here), with no hand-off.
 */
#ifndef CMSD_LOOKER_H
#define CMSD_LOOKER_H

#include <stdbool.h>

#include "store.h"

/* Starts the thread on its own connection to `url` when that store takes
 * many looks in one statement (store_url_looks_many) and the cache is on;
 * otherwise does nothing.  Each look (the thread's, or a worker's own) is
 * then held delay_ms after its statement before its requests go on, as a
 * slow statement would be: 0 but in tests (--look-delay), which make a
 * request arrive while a look whose snapshot is older is still taken.
 * Returns 0, or -1 after logging why. */
int looker_start(const char *url, unsigned delay_ms);
/* Whether looks may be handed to the thread. */
bool looker_running(void);
/* Whether the calling worker should take its look itself (true; it
 * then calls looker_here_done() after it) rather than hand it over: nothing
 * is queued, no look is being taken, and the last one ended longer ago
 * than it took (a worker whose connections send back to back goes on
 * handing over, as writer_here decides for PUTs). */
bool looker_here(void);
void looker_here_done(void);
/* Queues lk; done(ctx) is called from the thread once lk is done, failed
 * (lk->failed), or left not done (the node is stopping: the request then
 * takes its own look). */
void looker_submit(struct store_look *lk, void (*done)(void *), void *ctx);
/* Calls done for every look queued and not yet taken, left not done (a
 * stop whose grace ran out: their connections must be resumed before the
 * daemon stops).  Safe when not started. */
void looker_abandon(void);
/* Answers what is queued, then stops the thread; safe when not started. */
void looker_stop(void);

#endif
