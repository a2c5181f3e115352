/*
 * log.c - writes one JSON object per line to stderr, whole lines at a time so
 * that lines of concurrent threads never interleave.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

/* Writes the line s (ending in '\n') with one write(2) where it can, so that
 * lines of concurrent threads (and processes sharing the file) never mix: a
 * pipe takes up to PIPE_BUF bytes at once, a file opened to append any. */
static void emit(const char *s, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(STDERR_FILENO, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* The time now, as the "ts" of a line. */
static void timestamp(char *ts, size_t size)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));
}

/* s as a JSON string: quoted, escaped, and each byte that starts no valid
 * UTF-8 character written as U+FFFD. */
static void add_string(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	strbuf_addch(sb, '"');
	while (*p) {
		if (*p == '"' || *p == '\\') {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, *p++);
		} else if (*p < 0x20) {
			strbuf_addf(sb, "\\u%04x", *p++);
		} else if (!(n = utf8_char(p))) {
			strbuf_addstr(sb, "\\ufffd");
			p++;
		} else {
			strbuf_add(sb, p, n);
			p += n;
		}
	}
	strbuf_addch(sb, '"');
}

void log_fields(const char *level, const char *msg, const struct log_field *f, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	char ts[96];
	size_t i;

	timestamp(ts, sizeof(ts));
	strbuf_addf(&sb, "{\"ts\":\"%s\",\"level\":", ts);
	add_string(&sb, level);
	strbuf_addstr(&sb, ",\"msg\":");
	add_string(&sb, msg);
	for (i = 0; i < n; i++) {
		strbuf_addf(&sb, ",\"%s\":", f[i].key);
		if (f[i].yes)
			strbuf_addstr(&sb, "true");
		else if (f[i].str)
			add_string(&sb, f[i].str);
		else
			strbuf_addf(&sb, "%.6g", f[i].num);
	}
	strbuf_addstr(&sb, "}\n");
	emit(sb.buf, sb.len);
	strbuf_release(&sb);
}

void log_event(const char *level, const char *msg, json_t *fields)
{
	char ts[96];
	json_t *o = json_object();
	char *line;

	timestamp(ts, sizeof(ts));
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string(level));
	json_object_set_new(o, "msg", json_string(msg));
	if (fields)
		json_object_update(o, fields);
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	if (line) {
		size_t n = strlen(line);

		line = xrealloc(line, n + 2);
		line[n] = '\n';
		emit(line, n + 1);
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
