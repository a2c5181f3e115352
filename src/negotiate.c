/*
 * negotiate.c - content negotiation of API.md §3: whether an Accept header
 * allows application/json (else 406) and whether a Content-Type is JSON in
 * UTF-8 (else 415).  Pure functions of header values: unit-tested and fuzzed.
 */
#include "negotiate.h"

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

bool negotiate_accepts_json(const char *accept)
{
	const char *s = accept;
	bool any = false, refused = false;

	if (!accept || !*accept)
		return true;
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
		/* An explicit "application/json;q=0" refuses JSON whatever else. */
		if (token_is(ts, te, "application/json"))
			refused |= zero;
		if (!zero && (token_is(ts, te, "application/json") ||
			      token_is(ts, te, "application/*") || token_is(ts, te, "*/*")))
			any = true;
		s = *e ? e + 1 : e;
	}
	return any && !refused;
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
