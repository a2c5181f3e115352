/*
 * output.c - tables and key/value blocks for people, JSON for programs.
 *
 * Columns are padded by characters, not bytes (names may be UTF-8), and
 * separated by two spaces; the last column is not padded.
 */
#include "output.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

/* Characters of UTF-8 text s (continuation bytes do not count). */
static size_t width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static void pad(FILE *f, size_t n)
{
	while (n--)
		fputc(' ', f);
}

char *output_cell(const json_t *v)
{
	struct strbuf sb = STRBUF_INIT;
	char *text;
	size_t i;

	if (!v || json_is_null(v))
		return xstrdup("-");
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++) {
			char *item = output_cell(json_array_get(v, i));

			if (i)
				strbuf_addch(&sb, ',');
			strbuf_addstr(&sb, item);
			free(item);
		}
		return strbuf_detach(&sb);
	}
	text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	return text ? text : xstrdup("?");
}

void output_table(FILE *f, const json_t *rows, const char *const *keys)
{
	size_t ncol = 0, nrow = json_array_size(rows), r, c;
	size_t *w;
	char **cells;

	while (keys[ncol])
		ncol++;
	w = xcalloc(ncol, sizeof(*w));
	cells = xcalloc(nrow * ncol + 1, sizeof(*cells));
	for (c = 0; c < ncol; c++)
		w[c] = width(keys[c]);
	for (r = 0; r < nrow; r++)
		for (c = 0; c < ncol; c++) {
			char *cell = output_cell(json_object_get(json_array_get(rows, r), keys[c]));
			size_t cw;

			if (!cell[0]) {
				/* an empty list: a blank cell would shift the eye */
				free(cell);
				cell = xstrdup("-");
			}
			cw = width(cell);
			cells[r * ncol + c] = cell;
			if (cw > w[c])
				w[c] = cw;
		}
	for (r = 0; r <= nrow; r++) {
		for (c = 0; c < ncol; c++) {
			const char *s = r ? cells[(r - 1) * ncol + c] : keys[c];

			fputs(s, f);
			if (c + 1 < ncol)
				pad(f, w[c] - width(s) + 2);
		}
		fputc('\n', f);
	}
	for (r = 0; r < nrow * ncol; r++)
		free(cells[r]);
	free(cells);
	free(w);
}

void output_object(FILE *f, const json_t *obj, const char *const *keys)
{
	const char **all = NULL;
	const char *key;
	json_t *v;
	size_t n = 0, i, w = 0;

	if (!keys) {
		all = xcalloc(json_object_size(obj) + 1, sizeof(*all));
		json_object_foreach((json_t *)obj, key, v)
			all[n++] = key;
		keys = all;
	}
	for (i = 0; keys[i]; i++)
		if (width(keys[i]) > w)
			w = width(keys[i]);
	for (i = 0; keys[i]; i++) {
		char *cell = output_cell(json_object_get(obj, keys[i]));

		fputs(keys[i], f);
		pad(f, w - width(keys[i]) + 2);
		fprintf(f, "%s\n", cell);
		free(cell);
	}
	free(all);
}

void output_raw(FILE *f, const struct strbuf *body)
{
	if (!body->len)
		return;
	fwrite(body->buf, 1, body->len, f);
	if (body->buf[body->len - 1] != '\n')
		fputc('\n', f);
}

void output_escape(struct strbuf *sb, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			strbuf_addf(sb, "\\x%02X", c);
		else
			strbuf_addch(sb, c);
	}
}

void output_puts(FILE *f, const char *s)
{
	struct strbuf sb = STRBUF_INIT;

	output_escape(&sb, s, strlen(s));
	fputs(strbuf_str(&sb), f);
	strbuf_release(&sb);
}

void output_json(FILE *f, const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (text)
		fprintf(f, "%s\n", text);
	free(text);
}
