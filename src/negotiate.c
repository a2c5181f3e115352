/*
 * negotiate.c - content negotiation of API.md §3: whether an Accept header
 * allows application/json (else 406) and whether a Content-Type is JSON in
 * UTF-8 (else 415).  Pure functions of header values: unit-tested and fuzzed.
 */
#include "negotiate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "banned.h"

/* Trim spaces and tabs around [*s, *e). */
static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

static bool token_is(const char *s, const char *e, const char *word)
{
	return (size_t)(e - s) == strlen(word) && !strncasecmp(s, word, (size_t)(e - s));
}

/* Value of parameter `name` in the ";"-list [s, e), unquoted, or false. */
static bool param(const char *s, const char *e, const char *name,
		  const char **vs, const char **ve)
{
	while (s < e) {
		const char *ps = s, *pe = memchr(s, ';', (size_t)(e - s)), *eq;

		pe = pe ? pe : e;
		s = pe < e ? pe + 1 : e;
		eq = memchr(ps, '=', (size_t)(pe - ps));
		if (!eq)
			continue;
		{
			const char *ns = ps, *ne = eq;

			trim(&ns, &ne);
			if (!token_is(ns, ne, name))
				continue;
		}
		*vs = eq + 1;
		*ve = pe;
		trim(vs, ve);
		if (*ve - *vs >= 2 && **vs == '"' && (*ve)[-1] == '"') {
			(*vs)++;
			(*ve)--;
		}
		return true;
	}
	return false;
}

/*
 * Walks the media ranges of an Accept value for media type `type`: whether
 * a range allows it with q > 0 (*allowed: the type itself, "major/x" or
 * "x/x"), names it exactly with q > 0 (*named), or names it exactly with
 * q = 0 (*refused), which refuses it whatever else allows it.
 */
static void scan(const char *accept, const char *type, bool *allowed, bool *named,
		 bool *refused)
{
	const char *s = accept, *slash = strchr(type, '/');
	char major[64];

	snprintf(major, sizeof(major), "%.*s/*", (int)(slash - type), type);
	*allowed = *named = *refused = false;
	while (*s) {
		const char *e = s + strcspn(s, ","), *te = s + strcspn(s, ",;");
		const char *ts = s, *vs, *ve;
		bool zero = false;

		trim(&ts, &te);
		if (param(te, e, "q", &vs, &ve)) {
			char q[8] = "";
			size_t n = (size_t)(ve - vs) < sizeof(q) - 1 ? (size_t)(ve - vs) : sizeof(q) - 1;

			memcpy(q, vs, n);
			q[n] = '\0';
			zero = strtod(q, NULL) <= 0.0;
		}
		if (token_is(ts, te, type)) {
			*refused |= zero;
			*named |= !zero;
		}
		if (!zero && (token_is(ts, te, type) || token_is(ts, te, major) ||
			      token_is(ts, te, "*/*")))
			*allowed = true;
		s = *e ? e + 1 : e;
	}
}

bool negotiate_accepts_json(const char *accept)
{
	bool allowed, named, refused;

	if (!accept || !*accept)
		return true;
	scan(accept, "application/json", &allowed, &named, &refused);
	return allowed && !refused;
}

bool negotiate_names(const char *accept, const char *type)
{
	bool allowed, named, refused;

	if (!accept)
		return false;
	scan(accept, type, &allowed, &named, &refused);
	return named && !refused;
}

bool negotiate_is_json(const char *ctype)
{
	const char *ts = ctype, *te, *e, *vs, *ve;

	if (!ctype)
		return false;
	te = ctype + strcspn(ctype, ";");
	e = ctype + strlen(ctype);
	trim(&ts, &te);
	if (!token_is(ts, te, "application/json"))
		return false;
	if (param(te, e, "charset", &vs, &ve))
		return token_is(vs, ve, "utf-8") || token_is(vs, ve, "utf8");
	return true;
}
