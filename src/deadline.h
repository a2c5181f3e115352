/*
 * deadline.h - the whole of a request (headers and body) must arrive within
 * a limit (--timeout), or its connection is closed; when the connections
 * open near the capacity, the ones that have spent longest without a whole
 * request (slow or idle) are closed first, so that a newcomer finds room.
 * See deadline.c.
 */
#ifndef CMSD_DEADLINE_H
#define CMSD_DEADLINE_H

#include <stdint.h>

struct watch;

/* Start and stop the reaper thread: a request must arrive within `seconds`;
 * `capacity` connections may be open at once (--max-connections); above
 * three quarters of it the server is busy, and a connection then waits at
 * most `busy_ms` for its request (or next request). */
int deadline_start(unsigned seconds, unsigned capacity, unsigned busy_ms);
void deadline_stop(void);
/* A connection on socket fd opened: its first request's clock starts. */
struct watch *deadline_open(int fd);
/* The connection closed (NULL is fine). */
void deadline_close(struct watch *w);
/* Its request has arrived (or been refused): the clock stops. */
void deadline_arrived(struct watch *w);
/* Its answer is done: the next request's clock starts. */
void deadline_next(struct watch *w);

/* Counts since the start, for the metrics page. */
struct deadline_counts {
	uint64_t late;   /* cut: a request not whole within --timeout */
	uint64_t busy;   /* cut to make room: slow or idle while busy */
	unsigned open;   /* connections open now */
	unsigned high;   /* busy above this many open */
};
void deadline_counts(struct deadline_counts *out);

#endif
