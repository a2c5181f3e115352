/*
 * deadline.h - the whole of a request (headers and body) must arrive within
 * a limit (--timeout), or its connection is closed.  See deadline.c.
 */
#ifndef CMSD_DEADLINE_H
#define CMSD_DEADLINE_H

struct watch;

/* Start and stop the reaper thread. */
int deadline_start(unsigned seconds);
void deadline_stop(void);
/* A connection on socket fd opened: its first request's clock starts. */
struct watch *deadline_open(int fd);
/* The connection closed (NULL is fine). */
void deadline_close(struct watch *w);
/* Its request has arrived (or been refused): the clock stops. */
void deadline_arrived(struct watch *w);
/* Its answer is done: the next request's clock starts. */
void deadline_next(struct watch *w);

#endif
