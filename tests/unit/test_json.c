/*
 * test_json.c - body parsing and field validation (src/json.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "strbuf.h"
#include "unit.h"

void suite_json(void);

static json_t *parse(const char *text)
{
	return json_loads(text, 0, NULL);
}

static void body_object(void)
{
	struct error e = ERROR_INIT;
	json_t *o = NULL;

	CHECK(json_body_object("{\"a\":1}", 7, &o, &e) == 0 && json_is_object(o));
	json_decref(o);
	CHECK(json_body_object("", 0, &o, &e) == -1 && e.code == ERR_INVALID && !o);
	error_clear(&e);
	CHECK(json_body_object("[1]", 3, &o, &e) == -1 && e.code == ERR_INVALID);
	error_clear(&e);
	CHECK(json_body_object("{\"a\":1,\"a\":2}", 13, &o, &e) == -1);
	error_clear(&e);
	CHECK(json_body_object("{\"a\":", 5, &o, &e) == -1);
	CHECK(json_array_size(e.details) == 1);
	CHECK(strstr(json_string_value(json_object_get(json_array_get(e.details, 0), "reason")),
		     "line 1") != NULL);
	error_clear(&e);
	CHECK(json_body_object("{\"a\":\"\xff\"}", 9, &o, &e) == -1); /* bad UTF-8 */
	CHECK(json_string_value(json_object_get(json_array_get(e.details, 0), "reason")) != NULL);
	error_clear(&e);
	/* found by fuzz/body: jansson's message quotes the input, and the
	 * 40-byte cut fell inside an 'e acute'; the reason must survive */
	CHECK(json_body_object("{\"a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 18,
			       &o, &e) == -1);
	CHECK(json_string_value(json_object_get(json_array_get(e.details, 0), "reason")) != NULL);
	error_clear(&e);
}

static void ids(void)
{
	int64_t v = 0;
	struct error e = ERROR_INIT;
	json_t *o = parse("{\"a\":2,\"b\":\"17\",\"c\":0,\"d\":-1,\"e\":1.5,\"f\":\"x\",\"g\":true,"
			  "\"h\":null,\"i\":\"\",\"j\":\"9223372036854775807\",\"k\":\"9223372036854775808\","
			  "\"l\":\" 2\",\"m\":\"-3\"}");

	CHECK(parse_id("1", &v) == 0 && v == 1);
	CHECK(parse_id("0", &v) == -1);
	CHECK(parse_id("", &v) == -1);
	CHECK(parse_id("12a", &v) == -1);
	CHECK(parse_id("99999999999999999999", &v) == -1);
	CHECK(json_get_id(o, "a", &v, &e) == 0 && v == 2);
	CHECK(json_get_id(o, "b", &v, &e) == 0 && v == 17);
	CHECK(json_get_id(o, "j", &v, &e) == 0 && v == INT64_MAX);
	CHECK(e.code == ERR_NONE);
	CHECK(json_get_id(o, "c", &v, &e) == -1);
	CHECK(json_get_id(o, "d", &v, &e) == -1);
	CHECK(json_get_id(o, "e", &v, &e) == -1);
	CHECK(json_get_id(o, "f", &v, &e) == -1);
	CHECK(json_get_id(o, "g", &v, &e) == -1);
	CHECK(json_get_id(o, "h", &v, &e) == -1);
	CHECK(json_get_id(o, "i", &v, &e) == -1);
	CHECK(json_get_id(o, "k", &v, &e) == -1);
	CHECK(json_get_id(o, "l", &v, &e) == -1);
	CHECK(json_get_id(o, "m", &v, &e) == -1);
	CHECK(json_get_id(o, "missing", &v, &e) == -1);
	CHECK(e.code == ERR_INVALID && json_array_size(e.details) == 11);
	error_clear(&e);
	json_decref(o);
}

static void strlists(void)
{
	struct error e = ERROR_INIT;
	struct strlist l = STRLIST_INIT;
	json_t *o = parse("{\"a\":[\"x\",\"y\",\"x\",\"z\",\"y\"],\"b\":[],\"c\":[\"\"],\"d\":[1],"
			  "\"e\":\"x\",\"f\":[\"aaaaaaaaa\"]}");

	CHECK(json_get_strlist(o, "a", 10, 8, &l, &e) == 0);
	CHECK(l.n == 3 && !strcmp(l.v[0], "x") && !strcmp(l.v[1], "y") && !strcmp(l.v[2], "z"));
	strlist_release(&l);
	CHECK(json_get_strlist(o, "b", 10, 8, &l, &e) == 0 && l.n == 0);
	strlist_release(&l);
	CHECK(json_get_strlist(o, "a", 4, 8, &l, &e) == -1); /* 5 elements > 4 */
	CHECK(json_get_strlist(o, "c", 10, 8, &l, &e) == -1);
	CHECK(json_get_strlist(o, "d", 10, 8, &l, &e) == -1);
	CHECK(json_get_strlist(o, "e", 10, 8, &l, &e) == -1);
	CHECK(json_get_strlist(o, "f", 10, 8, &l, &e) == -1);
	CHECK(json_get_strlist(o, "none", 10, 8, &l, &e) == -1);
	CHECK(l.n == 0 && l.v == NULL);
	CHECK(json_array_size(e.details) == 6);
	error_clear(&e);
	json_decref(o);
}

static void big_set(void)
{
	struct strset *s = strset_new(0);
	char (*keys)[16] = malloc(20000 * 16);
	int i, fresh = 0;

	for (i = 0; i < 20000; i++) {
		snprintf(keys[i], 16, "u%d", i % 10000);
		fresh += strset_add(s, keys[i]);
	}
	CHECK(fresh == 10000);
	CHECK(strset_has(s, "u9999") && !strset_has(s, "u10000"));
	strset_free(s);
	free(keys);
}

/* Ids that all share one slot under the old unkeyed hash (FNV-1a, low 12
 * bits): the keyed set holds and finds them like any others. */
static void colliding_keys(void)
{
	struct strset *s = strset_new(300);
	char (*keys)[16] = malloc(300 * 16);
	int n = 0, i, fresh = 0;
	unsigned long k;

	for (k = 0; n < 300; k++) {
		uint64_t h = 1469598103934665603ULL;
		const char *c;

		snprintf(keys[n], 16, "c%lu", k);
		for (c = keys[n]; *c; c++)
			h = (h ^ (unsigned char)*c) * 1099511628211ULL;
		if ((h & 0xfff) == 0x234)
			n++;
	}
	for (i = 0; i < 2 * n; i++)
		fresh += strset_add(s, keys[i % n]);
	CHECK(fresh == n);
	for (i = 0; i < n; i++)
		CHECK(strset_has(s, keys[i]));
	CHECK(!strset_has(s, "c") && !strset_has(s, ""));
	strset_free(s);
	free(keys);
}

static void names_and_logins(void)
{
	struct error e = ERROR_INIT;
	const char *v;
	json_t *o = parse("{\"a\":\"Sales\",\"b\":\"bad\\nname\",\"c\":\"\",\"d\":5}");

	CHECK(json_get_name(o, "a", false, &v, &e) == 0 && !strcmp(v, "Sales"));
	CHECK(json_get_name(o, "b", false, &v, &e) == -1);
	CHECK(json_get_name(o, "c", false, &v, &e) == -1);
	CHECK(json_get_name(o, "d", false, &v, &e) == -1);
	CHECK(json_get_name(o, "x", true, &v, &e) == 0 && v == NULL);
	error_clear(&e);
	json_decref(o);
	/* C1 controls (U+0080..U+009F) are control characters too; U+00A0
	 * and U+00A9 next to them are not */
	o = parse("{\"nel\":\"a\\u0085b\",\"csi\":\"\\u009b31m\",\"pad\":\"x\\u0080\","
		  "\"nbsp\":\"a\\u00a0b\",\"copy\":\"\\u00a9 Acme\",\"del\":\"a\\u007f\"}");
	CHECK(json_get_name(o, "nel", false, &v, &e) == -1 && e.code == ERR_INVALID);
	CHECK(json_get_name(o, "csi", false, &v, &e) == -1);
	CHECK(json_get_name(o, "pad", false, &v, &e) == -1);
	CHECK(json_get_name(o, "del", false, &v, &e) == -1);
	error_clear(&e);
	CHECK(json_get_name(o, "nbsp", false, &v, &e) == 0 && e.code == ERR_NONE);
	CHECK(json_get_name(o, "copy", false, &v, &e) == 0 && e.code == ERR_NONE);
	CHECK(utf8_control((const unsigned char *)"\xc2\x9f") &&
	      !utf8_control((const unsigned char *)"\xc2\xa0") &&
	      !utf8_control((const unsigned char *)"\xc3\x85"));
	CHECK(valid_user_id("anav_agent") && valid_user_id("a.b-c@d+e"));
	CHECK(!valid_user_id("") && !valid_user_id("a/b") && !valid_user_id("a b") &&
	      !valid_user_id("é"));
	json_decref(o);
}

/* json_quote() writes what jansson's compact dump writes, byte for byte:
 * the mapping answers and their ETags are made with it. */
static void quoting_matches_jansson(void)
{
	static const char *const cases[] = {
		"", "anav_agent", "a\"b\\c/d", "tab\there\nnew\rline\bback\fform",
		"\x01\x02\x1f\x7f end", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		"\xe2\x80\xa8 line separator", "<script>&'",
	};
	size_t i;
	char c[2] = { 0, 0 };

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]) + 31; i++) {
		const char *s = cases[0];
		struct strbuf sb = STRBUF_INIT;
		json_t *j;
		char *want;

		if (i < sizeof(cases) / sizeof(cases[0])) {
			s = cases[i];
		} else { /* every control character alone */
			c[0] = (char)(i - sizeof(cases) / sizeof(cases[0]) + 1);
			s = c;
		}
		j = json_string(s);
		want = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
		json_quote(&sb, s);
		CHECK(want && !strcmp(strbuf_str(&sb), want));
		if (want && strcmp(strbuf_str(&sb), want))
			fprintf(stderr, "  json_quote: %s, jansson: %s\n", strbuf_str(&sb), want);
		free(want);
		json_decref(j);
		strbuf_release(&sb);
	}
}

/* Bytes that start no valid UTF-8 character become U+FFFD, each once. */
static void quoting_repairs_utf8(void)
{
	struct strbuf sb = STRBUF_INIT;

	json_quote(&sb, "a\xff\xc3(b\xed\xa0\x80");
	CHECK(!strcmp(strbuf_str(&sb), "\"a\\ufffd\\ufffd(b\\ufffd\\ufffd\\ufffd\""));
	strbuf_release(&sb);
}

static void integers(void)
{
	static const int64_t v[] = { 0, 7, -7, 10, 1234567890123, INT64_MAX, INT64_MIN };
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct strbuf sb = STRBUF_INIT;
		char want[32];

		snprintf(want, sizeof(want), "%" PRId64, v[i]);
		strbuf_addstr(&sb, "x");
		strbuf_addint(&sb, v[i]);
		CHECK(!strcmp(strbuf_str(&sb) + 1, want) && sb.len == strlen(want) + 1);
		strbuf_release(&sb);
	}
}

void suite_json(void)
{
	static const struct unit_test t[] = {
		{ "body_object", body_object }, { "ids", ids }, { "strlists", strlists },
		{ "big_set", big_set },
		{ "colliding_keys", colliding_keys }, { "names_and_logins", names_and_logins },
		{ "quoting_matches_jansson", quoting_matches_jansson },
		{ "quoting_repairs_utf8", quoting_repairs_utf8 }, { "integers", integers },
	};
	unit_run("json", t, sizeof(t) / sizeof(t[0]));
}
