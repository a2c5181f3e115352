/*
 * router.c - libFuzzer harness: a request line's method and target, routed.
 *
 * The input is "METHOD TARGET" (the first space splits them; no space: the
 * whole input is the target and the method is GET).  The target takes the
 * way libmicrohttpd and http.c give it to the router: the query is cut at
 * '?', MHD_http_unescape() percent-decodes the rest, clean_path() drops
 * trailing slashes and re-encodes bytes that are not printable UTF-8, and
 * router_match() looks it up.  clean_path() is static in src/http.c and its
 * only caller, request_new(), needs a live libmicrohttpd connection, so this
 * file includes src/http.c to reach it (as the unit tests may, STYLE.md
 * habit 11); build-fuzz/libcmsd-fuzz.a then supplies everything but http.o.
 *
 * Properties checked besides "no crash, no leak, no UB":
 *  - clean_path() gives printable UTF-8 (it goes into JSON logs) without a
 *    trailing '/', and applying it again changes nothing;
 *  - a match returns a row of the method asked for, whose pattern has as
 *    many id segments as the path ids hold values (each > 0, or -1 with
 *    bad_object and bad_id naming it), and whose "{str}" segment, if any,
 *    is a non-empty tail of the path without '/' ("{rest}": with);
 *  - no match is 404 HTTP-1404 with an empty Allow, or 405 HTTP-1405 whose
 *    Allow lists methods that each do match the path, never the one asked;
 *  - the error envelope of the answer serialises.
 */
#include "../src/http.c"

#include "fuzz.h"

/* Segments of pattern that are ids: "{...}" other than the text segments
 * "{str}" (one segment) and "{rest}" (the rest of the path). */
static int id_segments(const char *pattern, bool *has_str, bool *has_rest)
{
	const char *p = pattern;
	int n = 0;

	*has_str = *has_rest = false;
	while ((p = strstr(p, "/{")) != NULL) {
		if (!strncmp(p, "/{str}", 6))
			*has_str = true;
		else if (!strncmp(p, "/{rest}", 7))
			*has_rest = true;
		else
			n++;
		p += 2;
	}
	return n;
}

/* One routing: what router_match() was given and what it filled. */
struct routed {
	const char *method;
	char *path;
	struct path_ids ids;
	char bad_object[24], bad_id[32], allow[64];
	struct error err;
};

/* A fresh routing of (method, path); the caller clears r->err. */
static const struct route *route(struct routed *r, const char *method, char *path)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->path = path;
	return router_match(method, path, &r->ids, r->bad_object, r->bad_id, r->allow, &r->err);
}

static void check_match(const struct routed *r, const struct route *rt)
{
	const int64_t ids[] = { r->ids.cc, r->ids.process, r->ids.campaign, r->ids.lead,
				r->ids.campaign_lead };
	const char *text = r->ids.user ? r->ids.user : r->ids.rest;
	bool has_str, has_rest, bad = false;
	int nid = id_segments(rt->pattern, &has_str, &has_rest), set = 0;
	size_t i;

	/* HEAD is served by the path's GET row */
	FUZZ_CHECK(!strcmp(rt->method, strcmp(r->method, "HEAD") ? r->method : "GET"));
	FUZZ_CHECK(rt->endpoint != NULL && rt->endpoint->run != NULL && rt->name != NULL);
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if (!ids[i])
			continue;
		set++;
		FUZZ_CHECK(ids[i] > 0 || ids[i] == -1);
		bad |= ids[i] == -1;
	}
	FUZZ_CHECK(set == nid);
	FUZZ_CHECK(bad == (r->bad_object[0] != '\0'));
	if (bad) {
		FUZZ_CHECK(memchr(r->bad_object, '\0', sizeof(r->bad_object)) != NULL);
		FUZZ_CHECK(memchr(r->bad_id, '\0', sizeof(r->bad_id)) != NULL);
		FUZZ_CHECK(r->bad_id[0] && strspn(r->bad_id, "0123456789") == strlen(r->bad_id));
	}
	if (rt->flags & IN_CC)
		FUZZ_CHECK(r->ids.cc != 0);
	FUZZ_CHECK(has_str == (r->ids.user != NULL) && has_rest == (r->ids.rest != NULL));
	if (text) {
		FUZZ_CHECK(text > r->path && text < r->path + strlen(r->path));
		FUZZ_CHECK(text[-1] == '/' && (has_rest || !strchr(text, '/')));
	}
}

/* Every method in a 405's Allow matches the path (HEAD through the GET
 * row); the one asked does not. */
static void check_allow(const struct routed *r)
{
	char allow[sizeof(r->allow)], *m, *next;
	struct routed again;
	const struct route *rt;

	memcpy(allow, r->allow, sizeof(allow));
	FUZZ_CHECK(memchr(allow, '\0', sizeof(allow)) != NULL);
	for (m = allow; m; m = next) {
		next = strstr(m, ", ");
		if (next) {
			*next = '\0';
			next += 2;
		}
		FUZZ_CHECK(*m && strcmp(m, r->method));
		rt = route(&again, m, r->path);
		/* HEAD is served by the path's GET row (RFC 9110 9.3.2) */
		FUZZ_CHECK(rt != NULL && !strcmp(rt->method, strcmp(m, "HEAD") ? m : "GET"));
		error_clear(&again.err);
	}
}

static void check_envelope(struct error *e)
{
	json_t *b = error_body(e);
	char *text = json_dumps(b, JSON_COMPACT);

	FUZZ_CHECK(text != NULL);
	free(text);
	json_decref(b);
}

/* clean_path(s): printable UTF-8, no trailing '/', a fixed point. */
static void check_clean(const char *url, const char *path)
{
	size_t n = strlen(path), i = 0, k;
	char *again;

	while (i < n) {
		k = printable_char((const unsigned char *)path + i);
		FUZZ_CHECK(k > 0);
		i += k;
	}
	FUZZ_CHECK(n <= 1 || path[n - 1] != '/');
	FUZZ_CHECK(n <= strlen(url) * 3);
	again = clean_path(path);
	FUZZ_CHECK(!strcmp(again, path));
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_cstr(data, size), *sp = strchr(in, ' '), *target, *method, *path;
	struct routed r;
	const struct route *rt;

	if (sp) {
		*sp = '\0';
		method = in;
		target = sp + 1;
	} else {
		method = "GET";
		target = in;
	}
	target[strcspn(target, "?")] = '\0'; /* the query is not the path */
	MHD_http_unescape(target);
	path = clean_path(target);
	check_clean(target, path);

	rt = route(&r, method, path);
	if (rt) {
		check_match(&r, rt);
		FUZZ_CHECK(r.err.code == ERR_NONE);
		if (r.bad_object[0])
			error_missing(&r.err, r.bad_object, r.bad_id);
	} else if (r.err.code == ERR_METHOD) {
		FUZZ_CHECK(r.allow[0] != '\0');
		check_allow(&r);
	} else {
		FUZZ_CHECK(r.err.code == ERR_NO_ENDPOINT && r.allow[0] == '\0');
	}
	check_envelope(&r.err);
	error_clear(&r.err);
	free(path);
	free(in);
	return 0;
}
