/*
 * log.h - structured logs: one JSON object per line on stderr.
 *
 * Nothing secret is ever passed here: no passwords, tokens, hashes or
 * Authorization headers.
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
 * object: the line of every request is made here. */
void log_fields(const char *level, const char *msg, const struct log_field *f, size_t n);
/* printf-style convenience without extra fields. */
void log_msgf(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
