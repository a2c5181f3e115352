/*
 * log.h - structured logs: one JSON object per line on stderr.
 *
 * Nothing secret is ever passed here: no passwords, tokens, hashes or
 * Authorization headers.
 */
#ifndef CMSD_LOG_H
#define CMSD_LOG_H

#include <jansson.h>

/* Log `msg` at `level` ("info", "warn", "error") with optional extra fields
 * (`fields` may be NULL; it is borrowed, not stolen). */
void log_event(const char *level, const char *msg, json_t *fields);
/* One field of log_fields(): a string (str != NULL), else a number, or the
 * literal true when `yes`. */
struct log_field {
	const char *key; /* plain ASCII */
	const char *str;
	double num;
	int yes;
};

/* As log_event, from fields given as a table: no JSON objects built, for the
 * one line of every request. */
void log_fields(const char *level, const char *msg, const struct log_field *f, size_t n);
/* printf-style convenience without extra fields. */
void log_msgf(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
