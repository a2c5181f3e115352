/*
 * hasher.h - password checks (argon2id) off the HTTP workers, bounded
 * (issue 14; docs/reliability.md §5).
 *
 * A login (routes with RF_HASH) is run whole by one of `threads` hasher
 * threads, each with a store connection of its own, while the worker that
 * read it goes on serving other connections; the login's connection is
 * suspended until its answer is ready.  At most `queue` logins wait for a
 * hasher in each of two lanes (addresses without failed logins first);
 * beyond that a login is answered 503 with Retry-After at once,
 * having cost no hash.  So anonymous password checks take at most `threads`
 * cores, and token requests are never queued behind them.
 *
 * Password checks of a Basic header happen while the request is admitted,
 * on the worker; auth_bound_header_checks() bounds those (auth.h).
 */
#ifndef CMSD_HASHER_H
#define CMSD_HASHER_H

#include <stdbool.h>

#include "request.h"

/* Starts `threads` hasher threads on connections of their own to `url`,
 * with room for `queue` waiting logins.  Returns 0, or -1 after logging
 * why. */
int hasher_start(const char *url, unsigned threads, unsigned queue);
/* Whether logins go to the hashers. */
bool hasher_running(void);
/* The queues of logins waiting, the first taken first. */
enum hasher_lane {
	HASHER_CLEAN,  /* from an address without a failed login in the window */
	HASHER_FAILED, /* from one with (throttle_addr_failed()) */
	HASHER_LANES
};
/* Takes a place in lane's queue: false when it is full (answer 503 now). */
bool hasher_reserve(enum hasher_lane lane);
/* Queues rq (admitted, its body arrived) on the place reserved in lane;
 * done(ctx) is called from a hasher thread once rp holds its answer. */
void hasher_submit(enum hasher_lane lane, struct request *rq, struct reply *rp,
		   void (*done)(void *), void *ctx);
/* Answers 503 to every login queued and not yet running; safe when not
 * started. */
void hasher_abandon(void);
/* Answers what is queued, then stops the threads; safe when not started. */
void hasher_stop(void);

#endif
