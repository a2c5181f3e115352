/*
 * throttle.h - limits on failed password checks, per login name and per
 * client address, so that nobody can guess passwords at the speed of the
 * network.  In memory, per node: with N nodes behind a balancer an attacker
 * gets at most N times the limit.
 */
#ifndef CMSD_THROTTLE_H
#define CMSD_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

/* Allow `per_user` failures per (login name, client address), `per_addr` per
 * client address, and `per_user` per login name from addresses that have
 * failed themselves, within `window` seconds (throttle.c says why).  Starts
 * afresh with a new hash key. */
void throttle_init(unsigned per_user, unsigned per_addr, unsigned window);

/* 0 when a password check for (user, addr) may go ahead; else the seconds
 * until it may (for Retry-After).  A check that may go ahead is counted as a
 * failure at once, so that parallel guesses cannot all pass the test before
 * any of them is counted; throttle_end() says how it ended. */
unsigned throttle_begin(const char *user, const char *addr);

/* Whether addr, or its network (an IPv4 /24, an IPv6 /64), has a failure
 * (or a check under way) in its window: such an address waits in the
 * hashers' second lane (hasher.h).  Adds nothing to
 * the tables. */
bool throttle_addr_failed(const char *addr);

enum throttle_outcome {
	THROTTLE_FAILED, /* wrong password or no such user: stays counted */
	THROTTLE_OK,     /* clears the name's failures, refunds the address's */
	THROTTLE_VOID,   /* no check happened after all (the store failed) */
};
/* After each throttle_begin() that answered 0. */
void throttle_end(const char *user, const char *addr, enum throttle_outcome how);

#endif
