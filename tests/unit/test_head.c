/*
 * test_head.c - the request head's rules (src/head.c): Host once (and
 * required in HTTP/1.1) with a valid value, Authorization at most once,
 * and cmsd's own bounds on the head, answered 431.
 */
#include <stdio.h>
#include <string.h>

#include "head.h"
#include "unit.h"

void suite_head(void);

/* The outcome of head_check() on the fields of `pairs` (name, value, ...,
 * NULL): its error code, ERR_NONE when it may be served. */
static enum err_code verdict(bool http11, const char *const *pairs)
{
	struct head_tally t = HEAD_TALLY_INIT;
	struct error e = ERROR_INIT;
	enum err_code code;

	for (; pairs[0]; pairs += 2)
		head_count(&t, pairs[0], pairs[1]);
	CHECK((head_check(&t, http11, &e) == 0) == (e.code == ERR_NONE));
	code = e.code;
	error_clear(&e);
	return code;
}

static void host_and_authorization(void)
{
	static const char *const one[] = { "Host", "cms.example.com:8443", NULL };
	static const char *const none[] = { "Accept", "*/*", NULL };
	static const char *const two[] = { "host", "a", "Host", "a", NULL };
	static const char *const v6[] = { "Host", "[::1]:8080", NULL };
	static const char *const empty[] = { "Host", "", NULL };
	static const char *const spaced[] = { "Host", "a b", NULL };
	static const char *const slash[] = { "Host", "a/b", NULL };
	static const char *const auth2[] = { "Host", "a", "Authorization", "Basic eA==",
					     "authorization", "Bearer x", NULL };
	static const char *const auth1[] = { "Host", "a", "Authorization", "Basic eA==", NULL };

	CHECK(verdict(true, one) == ERR_NONE);
	CHECK(verdict(true, none) == ERR_INVALID);  /* HTTP/1.1 needs Host */
	CHECK(verdict(false, none) == ERR_NONE);    /* HTTP/1.0 may leave it out */
	CHECK(verdict(true, two) == ERR_INVALID);
	CHECK(verdict(false, two) == ERR_INVALID);  /* twice: in any version */
	CHECK(verdict(true, v6) == ERR_NONE);
	CHECK(verdict(true, empty) == ERR_NONE);    /* RFC 9112 3.2 allows it */
	CHECK(verdict(true, spaced) == ERR_INVALID);
	CHECK(verdict(true, slash) == ERR_INVALID);
	CHECK(verdict(true, auth2) == ERR_INVALID);
	CHECK(verdict(true, auth1) == ERR_NONE);
}

static void bounds(void)
{
	static char big[HEAD_MAX_BYTES + 1];
	static char names[HEAD_MAX_FIELDS + 1][16];
	const char *pairs[2 * (HEAD_MAX_FIELDS + 2) + 1];
	size_t i, n = 0;

	pairs[n++] = "Host";
	pairs[n++] = "a";
	for (i = 0; i < HEAD_MAX_FIELDS - 1; i++) {
		snprintf(names[i], sizeof(names[i]), "X-H%zu", i);
		pairs[n++] = names[i];
		pairs[n++] = "v";
	}
	pairs[n] = NULL;
	CHECK(verdict(true, pairs) == ERR_NONE); /* exactly the limit */
	pairs[n++] = "X-One-More";
	pairs[n++] = "v";
	pairs[n] = NULL;
	CHECK(verdict(true, pairs) == ERR_HEADERS_TOO_LARGE);
	memset(big, 'a', sizeof(big) - 1);
	pairs[2] = "X-Big";
	pairs[3] = big + 20; /* with "Host: a", "X-Big: " and CRLFs: just under */
	pairs[4] = NULL;
	CHECK(verdict(true, pairs) == ERR_NONE);
	pairs[3] = big;
	CHECK(verdict(true, pairs) == ERR_HEADERS_TOO_LARGE);
}

void suite_head(void)
{
	static const struct unit_test t[] = {
		{ "host_and_authorization", host_and_authorization },
		{ "bounds", bounds },
	};

	unit_run("head", t, sizeof(t) / sizeof(t[0]));
}
