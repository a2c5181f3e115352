/*
 * strbuf.h - a growable, always NUL-terminated byte buffer (after git's
 * strbuf).  Memory comes from the xmalloc family: growing never fails.
 */
#ifndef CMSD_STRBUF_H
#define CMSD_STRBUF_H

#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *buf;    /* NUL-terminated once anything was added; else NULL */
	size_t len;   /* bytes before the NUL */
	size_t alloc; /* bytes allocated */
};

#define STRBUF_INIT { NULL, 0, 0 }

void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t n);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
/* v in decimal, without printf (request paths write many numbers). */
void strbuf_addint(struct strbuf *sb, int64_t v);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Empty the buffer, keeping its memory. */
void strbuf_reset(struct strbuf *sb);
/* The contents ("" when empty), borrowed until the next change. */
const char *strbuf_str(const struct strbuf *sb);
/* Hand the contents over (never NULL; caller frees) and reset sb. */
char *strbuf_detach(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);

/* Format a message into the caller's fixed buffer err (errlen bytes, cut to
 * fit); returns -1, so that parsers can `return strbuf_errf(...)`. */
int strbuf_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
