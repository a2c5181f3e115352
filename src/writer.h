/*
 * writer.h - mapping PUTs committed in groups (docs/decisions.md, "Answers
 * from memory, writes in groups").
 *
 * One thread with a store connection of its own runs the requests of
 * RF_GROUP routes that the HTTP workers hand it: every request waiting when
 * it is free goes into one write transaction, so that one that fails (before
 * it writes, as a PUT that fails does) is answered alone and the others
 * commit (writer.c says when the group runs again, each alone); each is
 * answered only after the commit (durable as --db says).  The workers go on
 * serving other connections meanwhile; a request's connection is suspended
 * until its answer is ready.  On SQLite, where writers queue for one lock
 * anyway, this replaces two workers waiting on each other with one writer
 * that never waits, and spreads the cost of a commit over the group.  On
 * PostgreSQL the group's writes go in one statement (a call of
 * cmsd_mapping_put_group, migration 8) instead: the group
 * pays one round trip, one commit, one lock of the feed's head and one
 * notification where each PUT paid its own.
 */
#ifndef CMSD_WRITER_H
#define CMSD_WRITER_H

#include <stdbool.h>

#include "request.h"

/* Starts the thread on its own connection to `url`, to commit up to `group`
 * requests at once, unless group is 0.  While PUTs arrive closer together
 * than half of `wait_us` (microseconds; 0: never), a group waits for more,
 * at most wait_us after its first one arrived and no longer than twice the
 * mean gap after the last.  Returns 0, or -1 after logging why. */
int writer_start(const char *url, unsigned group, unsigned wait_us);
/* Whether requests go to the writer. */
bool writer_running(void);
/* Queues rq (admitted, parsed) whose answer goes to rp; done(ctx) is called
 * from the writer thread once rp holds it. */
void writer_submit(struct request *rq, struct reply *rp, void (*done)(void *), void *ctx);
/* Runs rq at once on the calling worker, as a group of its own, when no
 * group is running, none is queued and the last group was one request (no
 * hand-off to the thread, no suspended connection: a PUT alone is answered
 * as quickly as without groups; under a load that makes groups, the
 * thread keeps them whole); returns true once rp holds its answer, or false, having done
 * nothing, when it must be queued (writer_submit).  Only while running. */
bool writer_here(struct request *rq, struct reply *rp);
/* Answers 503 to every request queued and not yet running (a stop whose
 * grace ran out: their connections must be resumed before the daemon
 * stops); the group running finishes.  Safe when not started. */
void writer_abandon(void);
/* Answers what is queued, then stops the thread; safe when not started. */
void writer_stop(void);

#endif
