/*
 * head.h - the rules of a request head (its header fields) that
 * libmicrohttpd 0.9.75 leaves to the application: Host exactly once in
 * HTTP/1.1 and at most once otherwise, with a valid value (RFC 9112 3.2);
 * fields that name one value given once only (Authorization); and cmsd's
 * own bounds on the head's size, answered 431 in the envelope of API.md §5
 * (libmicrohttpd answers a head over its buffer itself: see
 * docs/decisions.md).  Pure: http.c feeds it the fields.
 */
#ifndef CMSD_HEAD_H
#define CMSD_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

/* At most this many header fields, and this many bytes of them (each
 * counted as name, value and 4 bytes of ": " and CRLF). */
#define HEAD_MAX_FIELDS 100
#define HEAD_MAX_BYTES (16 * 1024)
/* libmicrohttpd's buffer per connection (MHD_OPTION_CONNECTION_MEMORY_LIMIT):
 * twice HEAD_MAX_BYTES, so that a head over cmsd's bounds but within this
 * reaches cmsd and gets its 431 envelope.  libmicrohttpd 0.9.75 zeroes the
 * whole buffer after every request (MHD_pool_reset), so its size is paid
 * on every request: 64 KiB cost a GET some 3% of cmsd's CPU. */
#define HEAD_BUFFER (32 * 1024)

/* The request head as counted so far. */
struct head_tally {
	unsigned hosts;          /* Host fields */
	bool bad_host;           /* a Host value that is no URI authority */
	unsigned authorizations; /* Authorization fields */
	size_t fields;
	size_t bytes;
};

#define HEAD_TALLY_INIT { 0, false, 0, 0, 0 }

/* Count one header field (name and value as libmicrohttpd gives them). */
void head_count(struct head_tally *t, const char *name, const char *value);
/* Whether the head counted in t may be served, for a request of HTTP/1.1
 * (http11) or an older version: 0, or -1 with err set (400 CONF-1002
 * naming the field, or 431 HTTP-1431). */
int head_check(const struct head_tally *t, bool http11, struct error *err);

#endif
