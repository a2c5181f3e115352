/*
 * log.h - structured logs: one JSON object per line on stderr.
 *
 * Nothing secret is ever passed here: no passwords, tokens, hashes or
 * Authorization headers.
 *
 * Between log_start() and log_stop() lines are buffered in memory and written
 * by one thread of the log's own (log.c says how, and what happens when stderr
 * cannot keep up); before and after, each line is written at once.
 */
#ifndef CMSD_LOG_H
#define CMSD_LOG_H

#include <stddef.h>

/* One field of log_fields(): the literal true (yes > 0) or false (yes < 0),
 * else a string (str != NULL), else a number. */
struct log_field {
	const char *key; /* plain ASCII */
	const char *str;
	double num;
	int yes;
};

/* Log `msg` at `level` ("info", "warn", "error") with the extra fields
 * f[0..n) (f may be NULL when n is 0), written without building any JSON
 * object: the line of every request is made here.  A line at "error" is
 * written at once (by the log's thread, when it runs). */
void log_fields(const char *level, const char *msg, const struct log_field *f, size_t n);
/* printf-style convenience without extra fields. */
void log_msgf(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* How the buffered log behaves; cmsd runs with LOG_OPTIONS_DEFAULT. */
struct log_options {
	size_t cap;       /* bytes of lines waiting to be written, at most */
	size_t threshold; /* past this many bytes waiting, they are written at once */
	int interval_ms;  /* else at most this long after the first of them */
	int block_ms;     /* a line that finds `cap` reached waits this long, then is dropped */
	int exit_ms;      /* log_flush() and log_stop() wait this long for stderr */
};
#define LOG_OPTIONS_DEFAULT { 1 << 20, 64 << 10, 50, 100, 5000 }

/* Start buffering: lines go to memory and the log's thread writes them (opt
 * NULL: the defaults).  Also writes what is buffered on a fatal signal
 * (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) before the process dies, and at
 * exit().  Returns 0, or -1 (already started, or no thread: lines are then
 * written at once, as before). */
int log_start(const struct log_options *opt);
/* Write every line logged so far before returning.  Returns 0, or -1 when
 * stderr took none of them within exit_ms (they stay buffered). */
int log_flush(void);
/* Write every line still buffered and stop the thread; later lines are
 * written at once.  Waits at most exit_ms for a stderr that takes nothing,
 * then gives those lines up.  Does nothing when not started. */
void log_stop(void);

#endif
