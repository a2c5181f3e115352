/*
 * reply.c - every answer of cmsd leaves through reply_finish(): the handler's
 * JSON or bytes, or the error envelope of errors.c, with the headers of the
 * contract (X-Request-Id always; ETag, X-Total-Count, Allow,
 * WWW-Authenticate, Retry-After and Connection: close when they apply), and
 * Cache-Control: no-store on everything but the embedded files.
 */
#include "reply.h"

#include "feed.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "store.h"
#include "banned.h"

void reply_reset(struct reply *rp)
{
	reply_release(rp);
	*rp = (struct reply)REPLY_INIT;
}

void reply_release(struct reply *rp)
{
	error_clear(&rp->err);
	json_decref(rp->json);
	rp->json = NULL;
	free(rp->bytes);
	rp->bytes = NULL;
	feed_sub_free(rp->follow);
	rp->follow = NULL;
	if (rp->source)
		rp->source->free(rp->source);
	rp->source = NULL;
}

int reply_json(struct reply *rp, unsigned status, json_t *body)
{
	json_decref(rp->json);
	rp->status = status;
	rp->json = body;
	return RES_OK;
}

int reply_text(struct reply *rp, unsigned status, const char *type, char *text)
{
	return reply_bytes(rp, status, type, text, text ? strlen(text) : 0);
}

int reply_bytes(struct reply *rp, unsigned status, const char *type, char *data,
		size_t len)
{
	free(rp->bytes);
	rp->status = status;
	rp->bytes = data;
	rp->len = len;
	rp->type = type;
	return RES_OK;
}

int reply_stream(struct reply *rp, unsigned status, const char *type, char *start, size_t len,
		 struct reply_source *src)
{
	reply_bytes(rp, status, type, start, len);
	if (rp->source)
		rp->source->free(rp->source);
	rp->source = src;
	return RES_OK;
}

int reply_store_error(struct reply *rp, int rc, const char *object, int64_t id)
{
	if (rc == STORE_OK)
		return RES_OK;
	metrics_store_error(rc);
	if (rc == STORE_RETRY) {
		error_set(&rp->err, ERR_UNAVAILABLE); /* the answer if no attempt is left */
		return RES_RETRY;
	}
	error_from_store(&rp->err, rc, object, id);
	return RES_FAIL;
}

int reply_store_error_str(struct reply *rp, int rc, const char *object, const char *id)
{
	if (rc == STORE_NOT_FOUND)
		return error_missing(&rp->err, object, id);
	return reply_store_error(rp, rc, object, 0);
}

static void add(struct answer *a, const char *name, const char *value)
{
	if (a->nheaders < sizeof(a->headers) / sizeof(a->headers[0]))
		a->headers[a->nheaders++] = (struct header){ name, value };
}

void reply_finish(struct reply *rp, const char *request_id, struct answer *a)
{
	json_t *body = NULL;
	const char *type = NULL;
	enum err_code code;

	memset(a, 0, sizeof(*a));
	if (rp->err.code || !rp->status) {
		if (!rp->err.code)
			rp->err.code = ERR_INTERNAL;
		a->status = error_status(rp->err.code);
		body = error_body(&rp->err);
	} else {
		a->status = rp->status;
		body = json_incref(rp->json);
	}
	code = rp->err.code;
	rp->status = a->status;
	if (body) {
		a->body = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
		a->len = a->body ? strlen(a->body) : 0;
		type = "application/json";
		json_decref(body);
	} else if (rp->bytes) {
		a->body = rp->bytes;
		a->len = rp->len;
		rp->bytes = NULL;
		if (rp->type && (a->len || rp->source))
			type = rp->type;
	} else if (rp->follow) { /* a stream: the glue writes its body */
		type = "text/event-stream";
	}
	if (type)
		add(a, "Content-Type", type);
	add(a, "X-Content-Type-Options", "nosniff");
	if (rp->etag[0])
		add(a, "ETag", rp->etag);
	/* the console's page: its own scripts only, never in a frame */
	if (!body && type && !strncmp(type, "text/html", 9))
		add(a, "Content-Security-Policy",
		    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
	add(a, "X-Request-Id", request_id);
	/* every answer but the embedded files depends on who asks, and may carry
	 * a token: no cache on the way may keep it (RFC 9111 5.2.2.5) */
	if (!rp->cacheable || code)
		add(a, "Cache-Control", "no-store");
	if (rp->follow && !code) /* nothing between may keep it back */
		add(a, "X-Accel-Buffering", "no");
	if (rp->cursor >= 0 && !code) {
		feed_cursor_text(rp->cursor, a->cursor);
		add(a, "X-Change-Cursor", a->cursor);
	}
	if (rp->total >= 0 && !code) {
		snprintf(a->total, sizeof(a->total), "%" PRId64, rp->total);
		add(a, "X-Total-Count", a->total);
	}
	if (code == ERR_AUTH)
		add(a, "WWW-Authenticate", "Basic realm=\"cms\"");
	if (code == ERR_METHOD)
		add(a, "Allow", rp->allow);
	if (code == ERR_TOO_LARGE || rp->close)
		add(a, "Connection", "close");
	if (rp->statements >= 0) {
		snprintf(a->statements, sizeof(a->statements), "%d", rp->statements);
		add(a, "X-Cmsd-Statements", a->statements);
	}
	/* 429, or 503 (the store is away or busy): a client should come back soon */
	if (code == ERR_TOO_MANY || code == ERR_UNAVAILABLE) {
		snprintf(a->retry_after, sizeof(a->retry_after), "%u",
			 rp->retry_after ? rp->retry_after : 1);
		add(a, "Retry-After", a->retry_after);
	}
}
