/*
 * throttle.h - limits on failed password checks, per login name and per
 * client address, so that nobody can guess passwords at the speed of the
 * network.  In memory, per node: with N nodes behind a balancer an attacker
 * gets at most N times the limit.
 */
#ifndef CMSD_THROTTLE_H
#define CMSD_THROTTLE_H

#include <stdint.h>

/* Allow `per_user` failures per login name and `per_addr` per client address
 * within `window` seconds. */
void throttle_init(unsigned per_user, unsigned per_addr, unsigned window);

/* 0 when a password check for (user, addr) may go ahead; else the seconds
 * until it may (for Retry-After). */
unsigned throttle_wait(const char *user, const char *addr);
/* Count one failed check for user and addr. */
void throttle_fail(const char *user, const char *addr);
/* A successful check clears the user's failures (not the address's). */
void throttle_success(const char *user);

#endif
