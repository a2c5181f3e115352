/*
 * test_reply.c - reply.c: how a filled reply becomes the answer (status,
 * headers, body, the error envelope), how store failures become errors, and
 * that a reply resets to nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "reply.h"
#include "store.h"
#include "unit.h"
#include "xalloc.h"

void suite_reply(void);

#define RID "0123456789abcdef"

/* reply_finish(rp) into *a with the suite's request id. */
static void finish(struct reply *rp, struct answer *a)
{
	reply_finish(rp, RID, a);
}

/* Free a finished answer and the reply behind it. */
static void done(struct reply *rp, struct answer *a)
{
	free(a->body);
	a->body = NULL;
	reply_release(rp);
}

/* The headers every answer carries. */
static bool always(const struct answer *a)
{
	const char *nosniff = answer_header(a, "X-Content-Type-Options");
	const char *rid = answer_header(a, "X-Request-Id");

	return nosniff && !strcmp(nosniff, "nosniff") && rid && !strcmp(rid, RID);
}

static void json_answer(void)
{
	struct reply rp = REPLY_INIT;
	struct answer a;
	const char *h;

	CHECK(reply_json(&rp, 200, json_pack("{s:i}", "a", 1)) == RES_OK);
	finish(&rp, &a);
	CHECK(a.status == 200 && rp.status == 200);
	CHECK(a.len == 7 && a.body && !memcmp(a.body, "{\"a\":1}", 7));
	CHECK((h = answer_header(&a, "Content-Type")) && !strcmp(h, "application/json"));
	CHECK(always(&a));
	CHECK(!answer_header(&a, "Content-Security-Policy"));
	CHECK(!answer_header(&a, "X-Total-Count") && !answer_header(&a, "ETag"));
	CHECK(!answer_header(&a, "Retry-After") && !answer_header(&a, "Connection"));
	done(&rp, &a);

	/* a second body replaces the first (ASan sees the first freed) */
	reply_json(&rp, 200, json_string("old"));
	reply_json(&rp, 201, json_pack("[i]", 2));
	finish(&rp, &a);
	CHECK(a.status == 201 && a.len == 3 && !memcmp(a.body, "[2]", 3));
	done(&rp, &a);

	/* no body at all: no Content-Type */
	reply_json(&rp, 204, NULL);
	finish(&rp, &a);
	CHECK(a.status == 204 && !a.body && a.len == 0);
	CHECK(!answer_header(&a, "Content-Type") && always(&a));
	done(&rp, &a);
}

static void bytes_answer(void)
{
	struct reply rp = REPLY_INIT;
	struct answer a;
	const char *h;
	char *page = xstrdup("<p>hi</p>");

	CHECK(reply_text(&rp, 200, "text/html; charset=utf-8", page) == RES_OK);
	finish(&rp, &a);
	CHECK(a.status == 200 && a.body == page && a.len == 9); /* handed over, not copied */
	CHECK(rp.bytes == NULL);
	CHECK((h = answer_header(&a, "Content-Type")) && !strcmp(h, "text/html; charset=utf-8"));
	CHECK((h = answer_header(&a, "Content-Security-Policy")) &&
	      strstr(h, "frame-ancestors 'none'") && strstr(h, "default-src 'self'"));
	CHECK(always(&a));
	done(&rp, &a);

	/* bytes with NULs, of another type: no CSP */
	reply_bytes(&rp, 200, "application/octet-stream", xstrndup("a\0b", 3), 3);
	finish(&rp, &a);
	CHECK(a.len == 3 && !memcmp(a.body, "a\0b", 3));
	CHECK((h = answer_header(&a, "Content-Type")) && !strcmp(h, "application/octet-stream"));
	CHECK(!answer_header(&a, "Content-Security-Policy"));
	done(&rp, &a);

	/* empty bytes say no type, not even text/html's CSP */
	reply_bytes(&rp, 200, "text/html", xstrdup(""), 0);
	finish(&rp, &a);
	CHECK(a.status == 200 && a.len == 0);
	CHECK(!answer_header(&a, "Content-Type") && !answer_header(&a, "Content-Security-Policy"));
	CHECK(always(&a));
	done(&rp, &a);
}

/* A reply nobody filled is a server error, never an empty 0. */
static void never_set(void)
{
	struct reply rp = REPLY_INIT;
	struct answer a;
	json_t *b;

	finish(&rp, &a);
	CHECK(answer_is_error(&a, 500, "SYS-1000"));
	CHECK(rp.status == 500);
	CHECK(always(&a));
	b = answer_json(&a);
	CHECK(b && json_object_size(b) == 4); /* no details */
	CHECK(b && !strcmp(json_string_value(json_object_get(b, "status")),
			   "Internal Server Error"));
	json_decref(b);
	done(&rp, &a);
}

/* The error of code `code` (with rp's other fields as the caller set them)
 * finished into *a; checks the envelope. */
static void finish_error(struct reply *rp, enum err_code code, unsigned status,
			 const char *str, struct answer *a)
{
	error_set(&rp->err, code);
	finish(rp, a);
	CHECK(answer_is_error(a, status, str));
	CHECK(rp->status == status);
	CHECK(always(a));
}

static void error_headers(void)
{
	struct reply rp = REPLY_INIT;
	struct answer a;
	const char *h;

	finish_error(&rp, ERR_AUTH, 401, "AUTH-1001", &a);
	CHECK((h = answer_header(&a, "WWW-Authenticate")) && !strcmp(h, "Basic realm=\"cms\""));
	CHECK(!answer_header(&a, "Allow") && !answer_header(&a, "Retry-After"));
	done(&rp, &a);

	reply_reset(&rp);
	snprintf(rp.allow, sizeof(rp.allow), "%s", "GET, PUT");
	finish_error(&rp, ERR_METHOD, 405, "HTTP-1405", &a);
	CHECK((h = answer_header(&a, "Allow")) && !strcmp(h, "GET, PUT"));
	CHECK(!answer_header(&a, "WWW-Authenticate"));
	done(&rp, &a);

	reply_reset(&rp);
	finish_error(&rp, ERR_TOO_LARGE, 413, "HTTP-1413", &a);
	CHECK((h = answer_header(&a, "Connection")) && !strcmp(h, "close"));
	done(&rp, &a);

	/* rp->close closes after any answer, a success too */
	reply_reset(&rp);
	rp.close = true;
	reply_json(&rp, 200, json_object());
	finish(&rp, &a);
	CHECK(a.status == 200 && (h = answer_header(&a, "Connection")) && !strcmp(h, "close"));
	done(&rp, &a);

	reply_reset(&rp);
	rp.retry_after = 42;
	finish_error(&rp, ERR_TOO_MANY, 429, "HTTP-1429", &a);
	CHECK((h = answer_header(&a, "Retry-After")) && !strcmp(h, "42"));
	done(&rp, &a);

	reply_reset(&rp);
	finish_error(&rp, ERR_UNAVAILABLE, 503, "SYS-1003", &a);
	CHECK((h = answer_header(&a, "Retry-After")) && !strcmp(h, "1"));
	CHECK(!answer_header(&a, "Connection"));
	done(&rp, &a);

	/* the other errors carry none of these */
	reply_reset(&rp);
	finish_error(&rp, ERR_FORBIDDEN, 403, "AUTH-1003", &a);
	CHECK(!answer_header(&a, "WWW-Authenticate") && !answer_header(&a, "Allow") &&
	      !answer_header(&a, "Retry-After") && !answer_header(&a, "Connection"));
	done(&rp, &a);
}

/* An error wins over a body the handler set before failing. */
static void error_over_body(void)
{
	struct reply rp = REPLY_INIT;
	struct answer a;

	reply_json(&rp, 200, json_pack("{s:b}", "partial", 1));
	error_missing(&rp.err, "lead", "7");
	finish(&rp, &a);
	CHECK(answer_is_error(&a, 404, "CONF-1001"));
	CHECK(a.body && !strstr(a.body, "partial"));
	done(&rp, &a);
}

static void total_and_etag(void)
{
	struct reply rp = REPLY_INIT;
	struct answer a;
	const char *h;

	rp.total = 7;
	snprintf(rp.etag, sizeof(rp.etag), "%s", "\"abc\"");
	reply_json(&rp, 200, json_array());
	finish(&rp, &a);
	CHECK((h = answer_header(&a, "X-Total-Count")) && !strcmp(h, "7"));
	CHECK((h = answer_header(&a, "ETag")) && !strcmp(h, "\"abc\""));
	done(&rp, &a);

	/* zero is a count; -1 (REPLY_INIT) is none */
	reply_reset(&rp);
	rp.total = 0;
	reply_json(&rp, 200, json_array());
	finish(&rp, &a);
	CHECK((h = answer_header(&a, "X-Total-Count")) && !strcmp(h, "0"));
	done(&rp, &a);
	reply_reset(&rp);
	reply_json(&rp, 200, json_array());
	finish(&rp, &a);
	CHECK(!answer_header(&a, "X-Total-Count") && !answer_header(&a, "ETag"));
	done(&rp, &a);

	/* an error sends no count, but a 412 keeps the current ETag */
	reply_reset(&rp);
	rp.total = 7;
	snprintf(rp.etag, sizeof(rp.etag), "%s", "\"now\"");
	finish_error(&rp, ERR_PRECONDITION, 412, "CONF-1006", &a);
	CHECK(!answer_header(&a, "X-Total-Count"));
	CHECK((h = answer_header(&a, "ETag")) && !strcmp(h, "\"now\""));
	done(&rp, &a);
}

/* reply_store_error(rc) into a fresh reply: its result and error code. */
static int store_error(int rc, enum err_code want, struct reply *rp)
{
	int res;

	reply_reset(rp);
	res = reply_store_error(rp, rc, "campaign", 42);
	CHECK(rp->err.code == want);
	return res;
}

static void store_errors(void)
{
	struct reply rp = REPLY_INIT;
	struct answer a;

	CHECK(store_error(STORE_RETRY, ERR_UNAVAILABLE, &rp) == RES_RETRY);
	finish(&rp, &a); /* what goes out if no attempt is left */
	CHECK(answer_is_error(&a, 503, "SYS-1003"));
	done(&rp, &a);

	CHECK(store_error(STORE_NOT_FOUND, ERR_NOT_FOUND, &rp) == RES_FAIL);
	finish(&rp, &a);
	CHECK(answer_is_error(&a, 404, "CONF-1001"));
	{
		json_t *b = answer_json(&a);

		CHECK(envelope_detail(b, 0, "object", "campaign", "id", "42"));
		CHECK(json_array_size(json_object_get(b, "details")) == 1);
		json_decref(b);
	}
	done(&rp, &a);

	CHECK(store_error(STORE_EXISTS, ERR_EXISTS, &rp) == RES_FAIL);
	CHECK(error_status(rp.err.code) == 409 && !rp.err.details);
	CHECK(store_error(STORE_IN_USE, ERR_IN_USE, &rp) == RES_FAIL);
	CHECK(error_status(rp.err.code) == 409 &&
	      !strcmp(error_code_str(rp.err.code), "CONF-1005"));
	CHECK(store_error(STORE_UNAVAILABLE, ERR_UNAVAILABLE, &rp) == RES_FAIL);
	CHECK(error_status(rp.err.code) == 503);
	CHECK(store_error(STORE_ERROR, ERR_INTERNAL, &rp) == RES_FAIL);
	CHECK(error_status(rp.err.code) == 500);
	reply_release(&rp);
}

static void store_errors_str(void)
{
	struct reply rp = REPLY_INIT;
	struct answer a;
	json_t *b;

	CHECK(reply_store_error_str(&rp, STORE_NOT_FOUND, "campaignUser", "madhur1") == RES_FAIL);
	finish(&rp, &a);
	CHECK(answer_is_error(&a, 404, "CONF-1001"));
	b = answer_json(&a);
	CHECK(envelope_detail(b, 0, "object", "campaignUser", "id", "madhur1"));
	json_decref(b);
	done(&rp, &a);

	reply_reset(&rp);
	CHECK(reply_store_error_str(&rp, STORE_RETRY, "user", "x") == RES_RETRY);
	CHECK(rp.err.code == ERR_UNAVAILABLE && !rp.err.details);
	reply_reset(&rp);
	CHECK(reply_store_error_str(&rp, STORE_EXISTS, "user", "x") == RES_FAIL);
	CHECK(rp.err.code == ERR_EXISTS && !rp.err.details);
	reply_release(&rp);
}

static void reset_clears(void)
{
	struct reply rp = REPLY_INIT;
	const struct reply init = REPLY_INIT;

	reply_json(&rp, 201, json_object());
	rp.bytes = xstrdup("left over");
	rp.len = 9;
	rp.type = "text/plain";
	rp.total = 3;
	snprintf(rp.etag, sizeof(rp.etag), "%s", "\"e\"");
	error_missing(&rp.err, "lead", "1");
	rp.retry_after = 9;
	snprintf(rp.allow, sizeof(rp.allow), "%s", "GET");
	rp.close = true;
	reply_reset(&rp);
	CHECK(rp.status == 0 && !rp.json && !rp.bytes && rp.len == 0 && !rp.type);
	CHECK(rp.total == init.total && rp.total == -1);
	CHECK(!rp.etag[0] && !rp.allow[0] && rp.retry_after == 0 && !rp.close);
	CHECK(rp.err.code == ERR_NONE && !rp.err.details);
	reply_release(&rp);
	reply_release(&rp); /* twice is harmless */
}

void suite_reply(void)
{
	static const struct unit_test tests[] = {
		{ "json_answer", json_answer },
		{ "bytes_answer", bytes_answer },
		{ "never_set", never_set },
		{ "error_headers", error_headers },
		{ "error_over_body", error_over_body },
		{ "total_and_etag", total_and_etag },
		{ "store_errors", store_errors },
		{ "store_errors_str", store_errors_str },
		{ "reset_clears", reset_clears },
	};

	unit_run("reply", tests, sizeof(tests) / sizeof(tests[0]));
}
