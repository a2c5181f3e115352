/*
 * linger.h - a lingering close, as nginx's lingering_close: a connection
 * answered before its request had been read whole is not closed at once
 * (a close with unread bytes sends a reset, which can destroy the answer
 * before the client reads it, and a client still writing its body gets
 * EPIPE instead of the answer).  See linger.c.
 */
#ifndef CMSD_LINGER_H
#define CMSD_LINGER_H

#include <stddef.h>

/* The bounds of one lingering socket: after its answer, cmsd reads and
 * throws away what the client still sends for at most LINGER_MS in all,
 * at most LINGER_IDLE_MS of silence, and at most the byte bound given to
 * linger_start(); at most LINGER_MAX sockets linger at once (beyond, a
 * socket is closed at once, as before). */
#define LINGER_MAX 128
#define LINGER_MS 10000
#define LINGER_IDLE_MS 2000
/* The byte bound is 4 x --body-limit, and at least this. */
#define LINGER_MIN_BYTES (4u << 20)

/* Start the thread that reads lingering sockets, discarding at most
 * max_bytes per socket.  Returns 0, or -1 (logged). */
int linger_start(size_t max_bytes);
/* Close every lingering socket and stop the thread. */
void linger_stop(void);
/* cmsd answered the request on socket fd before reading all of it. */
void linger_mark(int fd);
/* libmicrohttpd is about to close socket fd, its answer sent: linger on a
 * copy of it when it was marked, or when bytes the client sent lie unread. */
void linger_closing(int fd);
/* How many sockets have lingered since the start (for tests and logs). */
unsigned long linger_count(void);

#endif
