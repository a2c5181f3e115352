/*
 * log.c - writes one JSON object per line to stderr, whole lines at a time so
 * that lines of concurrent threads never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include "banned.h"

void log_event(const char *level, const char *msg, json_t *fields)
{
	struct timeval tv;
	struct tm tm;
	char ts[96];
	json_t *o = json_object();
	char *line;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string(level));
	json_object_set_new(o, "msg", json_string(msg));
	if (fields)
		json_object_update(o, fields);
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	if (line) {
		/* one fprintf per line: stdio locks the stream for the call */
		fprintf(stderr, "%s\n", line);
		free(line);
	}
	json_decref(o);
}

void log_msgf(const char *level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_event(level, buf, NULL);
}
