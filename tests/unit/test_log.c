/*
 * test_log.c - structured logs (src/log.c): one JSON object per line on
 * stderr, whatever the message holds, with its fields typed as asked.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers.h"
#include "log.h"
#include "unit.h"

void suite_log(void);

/* The one line that fn wrote to stderr, parsed (caller decrefs), and its
 * text into *text when text is not NULL (caller frees).  NULL (a failed
 * check) unless fn wrote exactly one line holding one JSON object. */
static json_t *one_line(void (*fn)(void), char **text)
{
	struct capture cap;
	json_error_t jerr;
	json_t *o = NULL;
	char *out;
	size_t n;

	CHECK(capture_begin(&cap, 2) == 0);
	fn();
	out = capture_end(&cap);
	n = out ? strlen(out) : 0;
	CHECK(n > 0 && out[n - 1] == '\n' && count_lines(out) == 1);
	if (n > 0 && out[n - 1] == '\n' && count_lines(out) == 1) {
		o = json_loads(out, JSON_REJECT_DUPLICATES, &jerr);
		CHECK(json_is_object(o));
		if (!o)
			fprintf(stderr, "  not JSON (%s): %s", jerr.text, out);
	}
	if (text)
		*text = out;
	else
		free(out);
	return o;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "(missing)";
}

static void hello(void)
{
	log_msgf("info", "hello %d %s", 42, "world");
}

/* "ts" is the time now, as 2026-11-27T15:10:24.123Z. */
static void plain_message(void)
{
	struct tm tm;
	const char *ts, *end;
	time_t before = time(NULL), t;
	json_t *o = one_line(hello, NULL);

	if (!o)
		return;
	CHECK(json_object_size(o) == 3);
	CHECK(!strcmp(str(o, "level"), "info") && !strcmp(str(o, "msg"), "hello 42 world"));
	ts = str(o, "ts");
	memset(&tm, 0, sizeof(tm));
	end = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
	CHECK(strlen(ts) == 24 && end && end[0] == '.' && end[4] == 'Z');
	CHECK(end && end[1] >= '0' && end[1] <= '9' && end[3] >= '0' && end[3] <= '9');
	t = timegm(&tm);
	CHECK(t >= before && t <= time(NULL));
	json_decref(o);
}

static const char tricky[] = "quote \" backslash \\ newline \n tab \t bell \x07 e\xC3\xA9 end";

static void tricky_message(void)
{
	log_msgf("warn", "%s", tricky);
}

static void bad_utf8(void)
{
	log_fields("error", "cut \xC3 here \xFF", NULL, 0);
}

static void long_message(void)
{
	char big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_msgf("info", "%s", big);
}

static void escaping(void)
{
	json_t *o = one_line(tricky_message, NULL);

	CHECK(o && !strcmp(str(o, "msg"), tricky) && !strcmp(str(o, "level"), "warn"));
	json_decref(o);
	/* text that is not UTF-8 still makes a valid line */
	o = one_line(bad_utf8, NULL);
	CHECK(o && !strncmp(str(o, "msg"), "cut ", 4));
	json_decref(o);
	/* log_msgf cuts a long message, still one line */
	o = one_line(long_message, NULL);
	CHECK(o && strlen(str(o, "msg")) == 1023);
	json_decref(o);
}

static void with_fields(void)
{
	const struct log_field f[] = {
		{ "method", "GET", 0, 0 },      { "status", NULL, 200, 0 },
		{ "ms", NULL, 1.25, 0 },        { "tiny", NULL, 0.001, 0 },
		{ "neg", NULL, -2.5, 0 },       { "negsmall", NULL, -0.04, 0 },
		{ "big", NULL, 1e13, 0 },       { "odd", NULL, 1234.5678, 0 },
		{ "ok", NULL, 0, 1 },           { "cached", "ignored", 0, -1 },
		{ "path", "/a\"b", 0, 0 },      { "zero", NULL, 0, 0 },
	};
	struct capture cap;
	char *text;
	json_t *o;

	CHECK(capture_begin(&cap, 2) == 0);
	log_fields("info", "request", f, sizeof(f) / sizeof(f[0]));
	text = capture_end(&cap);
	o = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
	CHECK(o && json_object_size(o) == 3 + sizeof(f) / sizeof(f[0]));
	CHECK(!strcmp(str(o, "method"), "GET") && !strcmp(str(o, "path"), "/a\"b"));
	CHECK(json_is_true(json_object_get(o, "ok")) && json_is_false(json_object_get(o, "cached")));
	/* numbers as written: whole, thousandths by hand, the rest %.6g */
	CHECK(text && strstr(text, "\"status\":200,"));
	CHECK(text && strstr(text, "\"ms\":1.25,"));
	CHECK(text && strstr(text, "\"tiny\":0.001,"));
	CHECK(text && strstr(text, "\"neg\":-2.5,"));
	CHECK(text && strstr(text, "\"negsmall\":-0.04,"));
	CHECK(text && strstr(text, "\"big\":1e+13,"));
	CHECK(text && strstr(text, "\"odd\":1234.57,"));
	CHECK(text && strstr(text, "\"zero\":0}"));
	CHECK(json_real_value(json_object_get(o, "big")) == 1e13);
	json_decref(o);
	free(text);
}

static void lines_in_order(void)
{
	struct capture cap;
	char *text, *second;
	json_t *a, *b;

	CHECK(capture_begin(&cap, 2) == 0);
	log_msgf("info", "first");
	log_fields("error", "second", NULL, 0);
	text = capture_end(&cap);
	CHECK(text && count_lines(text) == 2);
	second = text ? strchr(text, '\n') : NULL;
	if (!second)
		goto out;
	*second++ = '\0';
	a = json_loads(text, 0, NULL);
	b = json_loads(second, 0, NULL);
	CHECK(a && !strcmp(str(a, "msg"), "first"));
	CHECK(b && !strcmp(str(b, "msg"), "second") && !strcmp(str(b, "level"), "error"));
	json_decref(a);
	json_decref(b);
out:
	free(text);
}

void suite_log(void)
{
	static const struct unit_test t[] = {
		{ "plain_message", plain_message }, { "escaping", escaping },
		{ "with_fields", with_fields }, { "lines_in_order", lines_in_order },
	};
	unit_run("log", t, sizeof(t) / sizeof(t[0]));
}
