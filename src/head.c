/*
 * head.c - the request head's rules that libmicrohttpd 0.9.75 does not keep
 * (head.h).  libmicrohttpd serves a request without Host, or with two, and
 * its lookup returns the first of two Authorization fields: a proxy in front
 * that reads the other one would judge another request than cmsd does.
 */
#include "head.h"

#include <string.h>
#include <strings.h>

#include "banned.h"

/* Whether v is a URI authority as Host carries it (RFC 9110 7.2: host and
 * optional port; a reg-name, an IPv4 address or an IP literal in
 * brackets), or empty (RFC 9112 3.2: a target without authority). */
static bool host_value_ok(const char *v)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789-._~%!$&'()*+,;=:[]";

	return strspn(v, allowed) == strlen(v);
}

void head_count(struct head_tally *t, const char *name, const char *value)
{
	t->fields++;
	t->bytes += strlen(name) + (value ? strlen(value) : 0) + 4;
	if (!strcasecmp(name, "Host")) {
		t->hosts++;
		if (!value || !host_value_ok(value))
			t->bad_host = true;
	} else if (!strcasecmp(name, "Authorization")) {
		t->authorizations++;
	}
}

int head_check(const struct head_tally *t, bool http11, struct error *err)
{
	if (t->fields > HEAD_MAX_FIELDS || t->bytes > HEAD_MAX_BYTES)
		return error_set(err, ERR_HEADERS_TOO_LARGE);
	if (t->hosts > 1)
		return error_invalid(err, "Host", "given more than once");
	if (!t->hosts && http11)
		return error_invalid(err, "Host", "required in an HTTP/1.1 request");
	if (t->bad_host)
		return error_invalid(err, "Host", "must be a host and an optional port");
	if (t->authorizations > 1)
		return error_invalid(err, "Authorization", "given more than once");
	return 0;
}
