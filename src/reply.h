/*
 * reply.h - what a handler answers, and the one place that turns it into the
 * status, headers and bytes that go out (every answer and every error
 * envelope of API.md §5 is written by reply.c).
 *
 * A handler fills a `struct reply` and returns an `enum result`; it never
 * sets a flag for another layer to read later.  reply.c knows nothing of
 * libmicrohttpd: http.c copies a finished `struct answer` onto the wire.
 */
#ifndef CMSD_REPLY_H
#define CMSD_REPLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

struct store;
struct strbuf;

/*
 * The rest of a body that is made while it is sent (a long list: API.md §3
 * promises no unbounded read into memory).  The glue calls more() each time
 * it has sent all it holds: it appends the next piece to out (a bounded
 * number of bytes, and at least one byte unless it is done), reading what it
 * needs from s in a read transaction of its own that it ends before it
 * returns, and sets *done after the last piece.  It answers STORE_OK or a
 * store failure (enum store_rc): the status and headers have left by then,
 * so the glue can only log it and end the connection.  free() frees it.
 */
struct reply_source {
	int (*more)(struct reply_source *src, struct store *s, struct strbuf *out, bool *done);
	void (*free)(struct reply_source *src);
};

/* What a handler (or a parse step) returns to the pipeline. */
enum result {
	RES_OK = 0,       /* answer as filled; commit */
	RES_FAIL = -1,    /* answer the error in reply.err; roll back */
	RES_RETRY = -2,   /* the store asked: roll back and run the handler again */
	RES_ROLLBACK = 1, /* answer as filled, but roll back (a dry run) */
};

struct reply {
	unsigned status;         /* 0 until an answer is set */
	json_t *json;            /* a JSON body, or ... */
	char *bytes;             /* ... bytes of `type` (owned) */
	size_t len;
	const char *type;        /* Content-Type of bytes (static) */
	int64_t total;           /* X-Total-Count when >= 0 */
	char etag[40];           /* ETag, quotes included; "" for none */
	struct error err;        /* set: the answer is this error's envelope */
	unsigned retry_after;    /* seconds, sent with a 429 or 503 */
	char allow[64];          /* Allow header of a 405 */
	bool close;              /* close the connection after the answer */
	bool cacheable;          /* the same bytes for every caller (the embedded
				    files): no Cache-Control: no-store */
	int statements;          /* tests only (--faults): store statements run,
				    sent as X-Cmsd-Statements; -1: not counted */
	int64_t cursor;          /* X-Change-Cursor when >= 0 */
	/* Instead of an answer now, the change feed (changes.c): a reader
	 * (struct feed_sub *, owned) that the glue streams as Server-Sent
	 * Events (follow_until 0), or waits with until follow_until
	 * (mono_ms() time, clock.h) before it runs the request again. */
	struct feed_sub *follow;
	int64_t follow_until;
	/* The rest of the body after bytes, made as it is sent (owned). */
	struct reply_source *source;
};

#define REPLY_INIT                                                             \
	{ .total = -1, .err = ERROR_INIT, .cursor = -1, .statements = -1 }

/* Forget any answer and error (before a handler runs again). */
void reply_reset(struct reply *rp);
/* Free what rp holds. */
void reply_release(struct reply *rp);

/* Answer status with a JSON body (stolen; NULL: no body).  RES_OK. */
int reply_json(struct reply *rp, unsigned status, json_t *body);
/* Answer status with NUL-terminated text of Content-Type `type` (stolen). */
int reply_text(struct reply *rp, unsigned status, const char *type, char *text);
/* The same for len bytes of any kind (stolen; NULs allowed). */
int reply_bytes(struct reply *rp, unsigned status, const char *type, char *data,
		size_t len);

/* Answer status with a body of Content-Type `type` that starts with len
 * bytes of `start` (stolen) and goes on with what src makes (stolen). */
int reply_stream(struct reply *rp, unsigned status, const char *type, char *start, size_t len,
		 struct reply_source *src);

/* A store failure `rc` as the answer: NOT_FOUND names object/id, RETRY
 * answers RES_RETRY (503 if no attempt is left), anything else RES_FAIL.
 * Counts the failure in the metrics. */
int reply_store_error(struct reply *rp, int rc, const char *object, int64_t id);
/* The same for an object named by a string id (a userId). */
int reply_store_error_str(struct reply *rp, int rc, const char *object, const char *id);

/* One response header. */
struct header {
	const char *name;
	const char *value;
};

/* An answer ready for the wire.  body is malloc'd (the caller takes it);
 * header values point into rp or into this struct. */
struct answer {
	unsigned status;
	char *body;
	size_t len;
	struct header headers[16];
	size_t nheaders;
	char total[24], retry_after[16], statements[16], cursor[17]; /* header values */
};

/* Turn rp into the answer: its JSON or bytes, or the error envelope (an
 * answer never set is 500), with every header the contract asks for.
 * request_id goes out as X-Request-Id.  rp->status is set to the status
 * sent. */
void reply_finish(struct reply *rp, const char *request_id, struct answer *out);

#endif
