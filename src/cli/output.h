/*
 * output.h - what cmsctl prints on stdout: aligned tables and key/value
 * blocks for people, the server's JSON as it came for --json.
 */
#ifndef CMSCTL_OUTPUT_H
#define CMSCTL_OUTPUT_H

#include <jansson.h>
#include <stdio.h>

#include "strbuf.h"

/* A value as one table cell: strings as they are, arrays joined by ",",
 * null or missing "-", anything else compact JSON.  Caller frees. */
char *output_cell(const json_t *v);

/* An aligned table of the objects of rows, one column per key of keys
 * (NULL-terminated), with the keys as its header. */
void output_table(FILE *f, const json_t *rows, const char *const *keys);

/* "key  value" lines for one object: keys (NULL-terminated) in that order,
 * or every key of obj when keys is NULL. */
void output_object(FILE *f, const json_t *obj, const char *const *keys);

/* A body as it came, ending with a newline (nothing when empty). */
void output_raw(FILE *f, const struct strbuf *body);

/*
 * s (n bytes) appended to sb with each control character (and DEL) written
 * as \xNN, so that text from a file or a server cannot move the terminal's
 * cursor or split a report line.  Other bytes (UTF-8) are kept.
 */
void output_escape(struct strbuf *sb, const char *s, size_t n);

/* s written to f through output_escape. */
void output_puts(FILE *f, const char *s);

/* v as compact JSON with a newline. */
void output_json(FILE *f, const json_t *v);

#endif
