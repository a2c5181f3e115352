/*
 * csv.c - the CSV reader of the mapping import: what spreadsheets write
 * (quotes optional, CRLF line ends, stray spaces), and one record per line:
 * no field of the import can hold a newline.
 */
#include "csv.h"

#include <stdbool.h>
#include <stdlib.h>

#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

int csv_split(const char *line, size_t len, char ***fields, const char **err)
{
	struct strbuf f = STRBUF_INIT;
	const char *p = line, *end = line + len;
	char **v = NULL;
	int n = 0;

	*fields = NULL;
	if (end > p && end[-1] == '\r')
		end--;
	for (;;) {
		while (p < end && blank(*p))
			p++;
		strbuf_reset(&f);
		if (p < end && *p == '"') {
			for (p++;; p++) {
				if (p == end) {
					*err = "a quoted field has no closing quote";
					goto fail;
				}
				if (*p == '"') {
					if (p + 1 < end && p[1] == '"') {
						strbuf_addch(&f, '"');
						p++;
						continue;
					}
					p++;
					break;
				}
				strbuf_addch(&f, *p);
			}
			while (p < end && blank(*p))
				p++;
			if (p < end && *p != ',') {
				*err = "text after a closing quote";
				goto fail;
			}
		} else {
			const char *s = p, *e;

			while (p < end && *p != ',')
				p++;
			e = p;
			while (e > s && blank(e[-1]))
				e--;
			strbuf_add(&f, s, (size_t)(e - s));
		}
		v = xrealloc(v, (size_t)(n + 1) * sizeof(*v));
		v[n++] = strbuf_detach(&f);
		if (p == end)
			break;
		p++; /* the comma */
	}
	*fields = v;
	return n;
fail:
	strbuf_release(&f);
	csv_free(v, n);
	return -1;
}

void csv_free(char **fields, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(fields[i]);
	free(fields);
}
