/*
 * json.c - validation of request bodies, field by field, and a small string
 * set used to drop repeats in user id lists.
 */
#include "json.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

struct strset {
	const char **slot; /* open addressing, NULL = empty */
	size_t cap;        /* a power of two */
	size_t used;       /* slots taken, kept at most half of cap */
};

/*
 * SipHash-2-4 (crypto_shorthash) under a key drawn once per process: the ids
 * come from clients, and with an unkeyed hash (FNV-1a, before issue 14) a
 * client could send thousands of ids chosen to share one slot and make each
 * insert probe all the others (13x the CPU of random ids at 7,000).
 */
static unsigned char set_key[crypto_shorthash_KEYBYTES];
static pthread_once_t set_key_once = PTHREAD_ONCE_INIT;

static void set_key_init(void)
{
	randombytes_buf(set_key, sizeof(set_key));
}

static uint64_t hash_str(const char *s)
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, (const unsigned char *)s, strlen(s), set_key);
	return h;
}

struct strset *strset_new(size_t expected)
{
	struct strset *set = xmalloc(sizeof(*set));

	pthread_once(&set_key_once, set_key_init);
	set->cap = 16;
	while (set->cap < expected * 2)
		set->cap *= 2;
	set->slot = xcalloc(set->cap, sizeof(*set->slot));
	set->used = 0;
	return set;
}

/* The slot holding s, or the empty slot where it would go.  The set is never
 * more than half full, so the probe ends. */
static const char **find(const struct strset *set, const char *s)
{
	size_t i = hash_str(s) & (set->cap - 1);

	while (set->slot[i] && strcmp(set->slot[i], s))
		i = (i + 1) & (set->cap - 1);
	return &set->slot[i];
}

bool strset_add(struct strset *set, const char *s)
{
	const char **p = find(set, s);
	size_t i;

	if (*p)
		return false;
	*p = s;
	if (++set->used * 2 > set->cap) {
		struct strset bigger = { xcalloc(set->cap * 2, sizeof(char *)),
					 set->cap * 2, set->used };

		for (i = 0; i < set->cap; i++)
			if (set->slot[i])
				*find(&bigger, set->slot[i]) = set->slot[i];
		free(set->slot);
		*set = bigger;
	}
	return true;
}

bool strset_has(const struct strset *set, const char *s)
{
	return *find(set, s) != NULL;
}

void strset_free(struct strset *set)
{
	if (!set)
		return;
	free(set->slot);
	free(set);
}

void strlist_release(struct strlist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

size_t utf8_char(const unsigned char *s)
{
	size_t n, i;
	unsigned char lo = 0x80, hi = 0xBF;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xE0)
		lo = 0xA0; /* no overlong forms */
	else if (s[0] == 0xED)
		hi = 0x9F; /* no surrogates */
	else if (s[0] == 0xF0)
		lo = 0x90;
	else if (s[0] == 0xF4)
		hi = 0x8F; /* nothing past U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

bool utf8_control(const unsigned char *s)
{
	return s[0] < 0x20 || s[0] == 0x7f || (s[0] == 0xC2 && s[1] >= 0x80 && s[1] <= 0x9F);
}

void json_quote(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s, *run = p;
	size_t n;

	strbuf_addch(sb, '"');
	for (;;) {
		const char *esc = NULL;
		char u[7];

		/* plain bytes are copied a run at a time */
		while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			strbuf_add(sb, run, (size_t)(p - run));
		if (!*p)
			break;
		switch (*p) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default: break;
		}
		if (esc) {
			strbuf_addstr(sb, esc);
			p++;
		} else if (*p < 0x20) {
			memcpy(u, "\\u00", 4);
			u[4] = hex[*p >> 4];
			u[5] = hex[*p & 15];
			u[6] = '\0';
			strbuf_addstr(sb, u);
			p++;
		} else if ((n = utf8_char(p))) {
			strbuf_add(sb, p, n);
			p += n;
		} else {
			strbuf_addstr(sb, "\\ufffd");
			p++;
		}
		run = p;
	}
	strbuf_addch(sb, '"');
}

/* Make s valid UTF-8 in place: each byte that starts no valid character
 * becomes '?'.  A cut through a character leaves its start invalid, too. */
static void utf8_repair(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n;

	while (*p) {
		n = utf8_char(p);
		if (!n) {
			*p = '?';
			n = 1;
		}
		p += n;
	}
}

int json_body_object(const char *body, size_t len, json_t **out,
		     struct error *e)
{
	json_error_t jerr;
	char where[96];
	json_t *v;

	*out = NULL;
	if (!len)
		return error_invalid(e, "body", "a JSON object is required");
	v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		snprintf(where, sizeof(where), "malformed JSON at line %d, column %d: %.40s",
			 jerr.line, jerr.column, jerr.text);
		/* jansson quotes the input near the error: it may be cut inside a
		 * character, or not be UTF-8 at all, and details must be */
		utf8_repair(where);
		return error_invalid(e, "body", where);
	}
	if (!json_is_object(v)) {
		json_decref(v);
		return error_invalid(e, "body", "must be a JSON object");
	}
	*out = v;
	return 0;
}

int parse_id(const char *s, int64_t *out)
{
	int64_t v = 0;
	const char *p = s;

	if (!*p)
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v <= 0)
		return -1;
	*out = v;
	return 0;
}

int json_get_id(json_t *obj, const char *key, int64_t *out, struct error *e)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return error_invalid(e, key, "is required");
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && json_string_length(v) < 20 &&
	    strlen(json_string_value(v)) == json_string_length(v) &&
	    !parse_id(json_string_value(v), out))
		return 0;
	return error_invalid(e, key, "must be a positive integer");
}

/* A string without NUL inside, of 1..max bytes. */
static const char *bounded_string(json_t *v, size_t max)
{
	size_t len;

	if (!json_is_string(v))
		return NULL;
	len = json_string_length(v);
	if (!len || len > max || strlen(json_string_value(v)) != len)
		return NULL;
	return json_string_value(v);
}

int json_get_str(json_t *obj, const char *key, bool optional, size_t max,
		 const char **out, struct error *e)
{
	json_t *v = json_object_get(obj, key);
	char reason[64];

	*out = NULL;
	if (!v) {
		if (optional)
			return 0;
		return error_invalid(e, key, "is required");
	}
	*out = bounded_string(v, max);
	if (*out)
		return 0;
	snprintf(reason, sizeof(reason), "must be a string of 1 to %zu bytes", max);
	return error_invalid(e, key, reason);
}

int json_get_name(json_t *obj, const char *key, bool optional,
		  const char **out, struct error *e)
{
	const unsigned char *p;

	if (json_get_str(obj, key, optional, CMS_NAME_MAX, out, e))
		return -1;
	for (p = (const unsigned char *)*out; p && *p; p++)
		if (utf8_control(p))
			return error_invalid(e, key, "must not contain control characters");
	return 0;
}

int json_get_strlist(json_t *obj, const char *key, size_t max_items,
		     size_t max_len, struct strlist *out, struct error *e)
{
	json_t *arr = json_object_get(obj, key), *v;
	struct strset *seen = NULL;
	char reason[96];
	size_t i;
	int rc = -1;

	out->v = NULL;
	out->n = 0;
	if (!arr) {
		error_invalid(e, key, "is required");
		goto out;
	}
	if (!json_is_array(arr)) {
		error_invalid(e, key, "must be an array of user ids");
		goto out;
	}
	if (json_array_size(arr) > max_items) {
		snprintf(reason, sizeof(reason), "must have at most %zu elements", max_items);
		error_invalid(e, key, reason);
		goto out;
	}
	out->v = xmalloc(sizeof(*out->v) * (json_array_size(arr) + 1));
	seen = strset_new(json_array_size(arr));
	json_array_foreach(arr, i, v) {
		const char *s = bounded_string(v, max_len);

		if (!s) {
			snprintf(reason, sizeof(reason),
				 "element %zu must be a string of 1 to %zu bytes", i, max_len);
			error_invalid(e, key, reason);
			goto out;
		}
		if (strset_add(seen, s))
			out->v[out->n++] = s;
	}
	rc = 0;
out:
	strset_free(seen);
	if (rc)
		strlist_release(out);
	return rc;
}

void json_names(struct strbuf *sb, const char *const *names, const bool *pick, size_t n)
{
	size_t i;
	bool first = true;

	strbuf_addch(sb, '[');
	for (i = 0; i < n; i++) {
		if (!pick[i])
			continue;
		if (!first)
			strbuf_addch(sb, ',');
		json_quote(sb, names[i]);
		first = false;
	}
	strbuf_addch(sb, ']');
}

bool valid_user_id(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > CMS_USERID_MAX)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._@+-") == n;
}

void json_time_ms(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[24];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%s.%03dZ", buf, (int)(ms % 1000));
}
