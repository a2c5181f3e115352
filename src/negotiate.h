/*
 * negotiate.h - content negotiation: header values in, a verdict out.
 */
#ifndef CMSD_NEGOTIATE_H
#define CMSD_NEGOTIATE_H

#include <stdbool.h>

/* True when an Accept header value (NULL: absent) allows application/json. */
bool negotiate_accepts_json(const char *accept);
/* True when an Accept header value names media type `type` itself with a
 * q above 0 (a wildcard range does not count): a client that asks for
 * text/event-stream by name gets a stream. */
bool negotiate_names(const char *accept, const char *type);
/* True when a Content-Type value is application/json (charset utf-8 if any). */
bool negotiate_is_json(const char *ctype);

#endif
