/*
 * errors.h - the error catalog of API.md §5, as data.
 *
 * Handlers never format error JSON: they set a `struct error` (a code from the
 * catalog plus optional details) and http.c writes the envelope once, through
 * error_body().
 */
#ifndef CMSD_ERRORS_H
#define CMSD_ERRORS_H

#include <jansson.h>
#include <stdint.h>

enum err_code {
	ERR_NONE = 0,
	ERR_INVALID,        /* 400 CONF-1002 */
	ERR_BOTH,           /* 400 CONF-1003 */
	ERR_AUTH,           /* 401 AUTH-1001 */
	ERR_FORBIDDEN,      /* 403 AUTH-1003 */
	ERR_NOT_FOUND,      /* 404 CONF-1001 */
	ERR_NO_ENDPOINT,    /* 404 HTTP-1404 */
	ERR_METHOD,         /* 405 HTTP-1405 */
	ERR_NOT_ACCEPTABLE, /* 406 HTTP-1406 */
	ERR_EXISTS,         /* 409 CONF-1004 */
	ERR_IN_USE,         /* 409 CONF-1005 */
	ERR_TOO_LARGE,      /* 413 HTTP-1413 */
	ERR_MEDIA,          /* 415 HTTP-1415 */
	ERR_TOO_MANY,       /* 429 HTTP-1429 */
	ERR_INTERNAL,       /* 500 SYS-1000 */
	ERR_UNAVAILABLE,    /* 503 SYS-1003 */
	ERR_GONE,           /* 410 CONF-1007 */
	ERR_PRECONDITION,   /* 412 CONF-1006 */
	ERR_HEADERS_TOO_LARGE, /* 431 HTTP-1431 */
	ERR__COUNT
};

struct error {
	enum err_code code;
	json_t *details; /* array or NULL; owned by the struct */
};

#define ERROR_INIT { ERR_NONE, NULL }

/* The HTTP status of a code. */
unsigned error_status(enum err_code code);
/* The catalog's errorCode string ("CONF-1001") of a code. */
const char *error_code_str(enum err_code code);
/* The envelope of §5 for e; caller owns the result. */
json_t *error_body(const struct error *e);

/* Set e to code (keeping details gathered so far); returns -1 so that
 * handlers can write `return error_set(...)`. */
int error_set(struct error *e, enum err_code code);
/* Append {"field": field, "reason": reason} and set ERR_INVALID; returns -1. */
int error_invalid(struct error *e, const char *field, const char *reason);
/* Append {"object": object, "id": id} and set ERR_NOT_FOUND; returns -1. */
int error_missing(struct error *e, const char *object, const char *id);
/* Same, for an integer id (written as a string). */
int error_missing_id(struct error *e, const char *object, int64_t id);
/* Map a store result to an error (NOT_FOUND names `object`/`id`); returns
 * -1, or 0 for STORE_OK. */
int error_from_store(struct error *e, int rc, const char *object, int64_t id);
void error_clear(struct error *e);

#endif
