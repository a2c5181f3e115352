/*
 * log.c - writes one JSON object per line to stderr, whole lines at a time so
 * that lines of concurrent threads never interleave.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
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

/*
 * The time now as the "ts" of a line, written into ts[TS_LEN + 1].  The date
 * and time of day are formatted once a second per thread; the milliseconds
 * by hand, so that the line of every request costs no printf.
 */
#define TS_LEN 24 /* 2026-11-27T15:10:24.123Z */

static void timestamp(char ts[TS_LEN + 1])
{
	static _Thread_local char cached[TS_LEN + 1];
	static _Thread_local time_t cached_sec = -1;
	struct timeval tv;
	long ms;

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != cached_sec) {
		struct tm tm;

		if (!gmtime_r(&tv.tv_sec, &tm) ||
		    strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S.000Z", &tm) != TS_LEN)
			memcpy(cached, "0000-00-00T00:00:00.000Z", sizeof(cached));
		cached_sec = tv.tv_sec;
	}
	memcpy(ts, cached, sizeof(cached));
	ms = (long)(tv.tv_usec / 1000);
	ts[TS_LEN - 4] = (char)('0' + ms / 100);
	ts[TS_LEN - 3] = (char)('0' + ms / 10 % 10);
	ts[TS_LEN - 2] = (char)('0' + ms % 10);
}

/* A number of a line: whole numbers and thousandths (the "ms" of every
 * request) by hand, anything else as %.6g. */
static void add_number(struct strbuf *sb, double v)
{
	double milli = v * 1000;
	char buf[32];

	if (v < 1e12 && v > -1e12 && milli == (double)(int64_t)milli) {
		int64_t m = (int64_t)milli, frac = m % 1000;

		if (m < 0 && frac) {
			strbuf_addch(sb, '-');
			m = -m;
			frac = -frac;
		}
		strbuf_addint(sb, m / 1000);
		if (frac) {
			buf[0] = '.';
			buf[1] = (char)('0' + frac / 100);
			buf[2] = (char)('0' + frac / 10 % 10);
			buf[3] = (char)('0' + frac % 10);
			strbuf_add(sb, buf, frac % 100 ? (frac % 10 ? 4 : 3) : 2);
		}
		return;
	}
	snprintf(buf, sizeof(buf), "%.6g", v);
	strbuf_addstr(sb, buf);
}

void log_fields(const char *level, const char *msg, const struct log_field *f, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	char ts[TS_LEN + 1];
	size_t i;

	timestamp(ts);
	strbuf_grow(&sb, 256);
	strbuf_addstr(&sb, "{\"ts\":\"");
	strbuf_add(&sb, ts, TS_LEN);
	strbuf_addstr(&sb, "\",\"level\":");
	json_quote(&sb, level);
	strbuf_addstr(&sb, ",\"msg\":");
	json_quote(&sb, msg);
	for (i = 0; i < n; i++) {
		strbuf_addstr(&sb, ",\"");
		strbuf_addstr(&sb, f[i].key);
		strbuf_addstr(&sb, "\":");
		if (f[i].yes)
			strbuf_addstr(&sb, f[i].yes > 0 ? "true" : "false");
		else if (f[i].str)
			json_quote(&sb, f[i].str);
		else
			add_number(&sb, f[i].num);
	}
	strbuf_addstr(&sb, "}\n");
	emit(sb.buf, sb.len);
	strbuf_release(&sb);
}

void log_msgf(const char *level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_fields(level, buf, NULL, 0);
}
