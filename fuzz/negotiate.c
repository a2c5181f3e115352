/*
 * negotiate.c - libFuzzer harness: content negotiation, the Accept and
 * Content-Type values as http.c's admit() hands them to
 * negotiate_accepts_json() and negotiate_is_json().
 *
 * The input is one header value (a C string).  Both parsers get it.
 *
 * Properties checked besides "no crash, no leak, no UB":
 *  - media types and parameter names are case-insensitive: the value in
 *    upper case and in lower case gets the same answer;
 *  - negotiate_is_json() says yes only to a value whose type, spaces and tabs
 *    trimmed, is application/json;
 *  - an Accept value that names "*" + "/" + "*" alone, without parameters, is
 *    always accepted; one that says nothing (empty) is too.
 */
#include <ctype.h>
#include <stdbool.h>
#include <strings.h>

#include "negotiate.h"
#include "fuzz.h"

static char *cased(const char *s, int (*to)(int))
{
	size_t n = strlen(s), i;
	char *d = malloc(n + 1);

	FUZZ_CHECK(d != NULL);
	for (i = 0; i <= n; i++)
		d[i] = (char)to((unsigned char)s[i]);
	return d;
}

/* The type of a Content-Type value: before ';', spaces and tabs trimmed. */
static bool type_is_json(const char *v)
{
	const char *s = v, *e = v + strcspn(v, ";");

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return e - s == 16 && !strncasecmp(s, "application/json", 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = fuzz_cstr(data, size), *up = cased(v, toupper), *low = cased(v, tolower);
	bool accepts = negotiate_accepts_json(v), is_json = negotiate_is_json(v);

	FUZZ_CHECK(negotiate_accepts_json(up) == accepts && negotiate_accepts_json(low) == accepts);
	FUZZ_CHECK(negotiate_is_json(up) == is_json && negotiate_is_json(low) == is_json);
	if (is_json)
		FUZZ_CHECK(type_is_json(v));
	if (!*v || !strcmp(v, "*/*"))
		FUZZ_CHECK(accepts);
	free(v);
	free(up);
	free(low);
	return 0;
}
