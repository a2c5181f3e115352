/*
 * json.h - parse and validate request bodies at the edge.
 *
 * Every function checks one field completely and, on failure, appends a
 * {"field","reason"} detail to the error and returns -1, so that a handler can
 * check all fields and report all problems in one answer.  Strings returned
 * are borrowed from the json_t they came from.
 */
#ifndef CMSD_JSON_H
#define CMSD_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

/* A list of distinct strings, in first-seen order, borrowed from a json_t. */
struct strlist {
	const char **v;
	size_t n;
};

#define STRLIST_INIT { NULL, 0 }
void strlist_release(struct strlist *l);

/* Parse `len` bytes as a JSON object (duplicate keys refused).  Caller owns
 * *out.  Fails with 400 saying where the text broke. */
int json_body_object(const char *body, size_t len, json_t **out,
		     struct error *e);

/* A positive 64-bit integer from text made only of digits ("0" and values
 * beyond INT64_MAX fail).  Returns 0 or -1. */
int parse_id(const char *s, int64_t *out);

/* obj[key] as a positive integer: a JSON integer or a string of digits. */
int json_get_id(json_t *obj, const char *key, int64_t *out, struct error *e);

/* obj[key] as a string of 1..max bytes.  When optional and absent, *out is
 * NULL and 0 is returned. */
int json_get_str(json_t *obj, const char *key, bool optional, size_t max,
		 const char **out, struct error *e);

/* obj[key] as an array of at most max_items non-empty strings of at most
 * max_len bytes each; repeats dropped. */
int json_get_strlist(json_t *obj, const char *key, size_t max_items,
		     size_t max_len, struct strlist *out, struct error *e);

/* Display names: 1..CMS_NAME_MAX bytes without control characters (C0,
 * DEL and C1: utf8_control). */
int json_get_name(json_t *obj, const char *key, bool optional,
		  const char **out, struct error *e);

/* A login: 1..CMS_USERID_MAX bytes of [A-Za-z0-9._@+-]. */
bool valid_user_id(const char *s);

struct strset;
/* A set of borrowed strings for fast membership tests. */
struct strset *strset_new(size_t expected);
/* Adds s; returns true when it was new. */
bool strset_add(struct strset *set, const char *s);
bool strset_has(const struct strset *set, const char *s);
void strset_free(struct strset *set);

/* Length of the valid UTF-8 character at s (NUL-terminated), or 0. */
size_t utf8_char(const unsigned char *s);
/* Whether the UTF-8 text at s starts with a control character: C0
 * (U+0000..U+001F), DEL (U+007F) or C1 (U+0080..U+009F, bytes C2 80..C2 9F). */
bool utf8_control(const unsigned char *s);

struct strbuf;
/* s as a JSON string, quoted and escaped as jansson's compact dump writes it
 * (so that text made here and text jansson makes are the same bytes), each
 * byte that starts no valid UTF-8 character written as U+FFFD. */
void json_quote(struct strbuf *sb, const char *s);
/* Appends the JSON array of names[i] for which pick[i], in order. */
void json_names(struct strbuf *sb, const char *const *names, const bool *pick, size_t n);
/* Unix milliseconds as RFC 3339 UTC with milliseconds: 2026-12-03T12:00:00.123Z. */
void json_time_ms(int64_t ms, char out[32]);

#endif
