/*
 * outcome.h - what the end of one request means for cmsctl, in one table
 * (outcome.c): the outcome of an HTTP status or of a libcurl error code,
 * and for each outcome its exit code, whether the same request may well
 * succeed if sent again, whether a bulk command (an import) must stop
 * rather than fail every later row the same way, and what to tell the user.
 */
#ifndef CMSCTL_OUTCOME_H
#define CMSCTL_OUTCOME_H

#include <stdbool.h>

/* Exit codes of cmsctl (docs/cmsctl.md, man/cmsctl.1.scd). */
enum exit_code {
	EXIT_OK = 0,    /* success */
	EXIT_API = 1,   /* the API answered an error (or rows of an import failed) */
	EXIT_USAGE = 2, /* bad command line, URL, configuration or input file */
	EXIT_NET = 3,   /* no answer: could not connect, TLS failure, timeout */
	EXIT_AUTH = 4,  /* the credentials were refused (401): log in again */
};

enum outcome {
	OUTCOME_OK,          /* a 2xx answer (or a request only printed) */
	OUTCOME_REFUSED,     /* the API refused this request: 400, 404, 409... about it */
	OUTCOME_BUSY,        /* the server could not take it just then: 429, 502-504 */
	OUTCOME_DENIED,      /* 403: the caller may not do this, whatever the row */
	OUTCOME_AUTH,        /* 401: the credentials were refused (expired, revoked, wrong) */
	OUTCOME_CUT,         /* sent, but the answer was cut off or late: reset, timeout */
	OUTCOME_UNREACHABLE, /* no exchange at all: refused, unknown host, TLS failure */
	OUTCOME_COUNT
};

struct outcome_info {
	const char *name;  /* in --json reports: "auth", "unreachable"... */
	int exit_code;     /* enum exit_code */
	bool transient;    /* the same request may well succeed later */
	bool stops_bulk;   /* a bulk command stops: every later request would fail alike */
	const char *resume; /* when a stopped bulk command may be run again */
};

/* The row of outcome o (borrowed, static). */
const struct outcome_info *outcome_info(enum outcome o);

/* The outcome of an HTTP answer of status (2xx: OUTCOME_OK). */
enum outcome outcome_of_status(long status);

/* The outcome of libcurl's error code cc (a CURLcode, not CURLE_OK) of a
 * request that got no complete answer. */
enum outcome outcome_of_curl(int cc);

#endif
