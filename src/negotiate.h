/*
 * negotiate.h - content negotiation: header values in, a verdict out.
 */
#ifndef CMSD_NEGOTIATE_H
#define CMSD_NEGOTIATE_H

#include <stdbool.h>

/* True when an Accept header value (NULL: absent) allows application/json. */
bool negotiate_accepts_json(const char *accept);
/* True when a Content-Type value is application/json (charset utf-8 if any). */
bool negotiate_is_json(const char *ctype);

#endif
