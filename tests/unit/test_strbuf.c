/*
 * test_strbuf.c - the growable buffer (src/strbuf.c): always NUL-terminated,
 * growing in steps, numbers without printf, handing its memory over.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "unit.h"

void suite_strbuf(void);

/* Whether sb holds exactly the n bytes s, NUL-terminated, within its memory. */
static int holds(const struct strbuf *sb, const char *s, size_t n)
{
	return sb->buf && sb->len == n && sb->alloc > n && !memcmp(sb->buf, s, n) && sb->buf[n] == '\0';
}

static void empty(void)
{
	struct strbuf sb = STRBUF_INIT;
	char *s;

	CHECK(sb.buf == NULL && sb.len == 0 && sb.alloc == 0);
	CHECK(!strcmp(strbuf_str(&sb), ""));
	strbuf_reset(&sb); /* nothing to reset: no crash, still nothing */
	CHECK(sb.buf == NULL);
	s = strbuf_detach(&sb);
	CHECK(s != NULL && !strcmp(s, ""));
	free(s);
	strbuf_release(&sb);
	CHECK(sb.buf == NULL && sb.len == 0 && sb.alloc == 0);
	strbuf_add(&sb, "", 0); /* adding nothing still makes a string */
	CHECK(holds(&sb, "", 0));
	strbuf_release(&sb);
}

static void adding(void)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "ab");
	CHECK(holds(&sb, "ab", 2) && sb.alloc >= 64);
	strbuf_addch(&sb, 'c');
	strbuf_addch(&sb, 0xE9); /* a byte, whatever its sign */
	CHECK(holds(&sb, "abc\xE9", 4));
	strbuf_add(&sb, "x\0y", 3); /* NULs inside are kept */
	CHECK(holds(&sb, "abc\xE9x\0y", 7));
	CHECK(strbuf_str(&sb) == sb.buf);
	strbuf_release(&sb);
}

/* Growth keeps what was there, doubles, and leaves room for the NUL. */
static void growing(void)
{
	struct strbuf sb = STRBUF_INIT;
	char big[1000];
	size_t i, alloc;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	strbuf_grow(&sb, 10);
	CHECK(sb.buf && sb.alloc == 64 && sb.len == 0 && sb.buf[0] == '\0');
	strbuf_add(&sb, big, 63);
	CHECK(sb.alloc == 64 && holds(&sb, big, 63));
	strbuf_addch(&sb, big[63]);
	CHECK(sb.alloc == 128 && holds(&sb, big, 64));
	strbuf_add(&sb, big + 64, sizeof(big) - 64);
	CHECK(holds(&sb, big, sizeof(big)) && sb.alloc >= sizeof(big) + 1);
	alloc = sb.alloc;
	strbuf_grow(&sb, 0);
	CHECK(sb.alloc == alloc);
	strbuf_grow(&sb, alloc); /* more than double: exactly what is asked */
	CHECK(sb.alloc == sizeof(big) + alloc + 1 && holds(&sb, big, sizeof(big)));
	strbuf_release(&sb);
}

static void integers(void)
{
	static const struct {
		int64_t v;
		const char *text;
	} cases[] = {
		{ 0, "0" }, { 7, "7" }, { -1, "-1" }, { 10, "10" }, { -100, "-100" },
		{ 1234567890123, "1234567890123" },
		{ INT64_MAX, "9223372036854775807" },
		{ INT64_MIN, "-9223372036854775808" },
	};
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strbuf_reset(&sb);
		strbuf_addint(&sb, cases[i].v);
		CHECK(holds(&sb, cases[i].text, strlen(cases[i].text)));
	}
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "id=");
	strbuf_addint(&sb, 42);
	CHECK(!strcmp(sb.buf, "id=42"));
	strbuf_release(&sb);
}

static void formatted(void)
{
	struct strbuf sb = STRBUF_INIT;
	char want[400];
	size_t i;

	strbuf_addf(&sb, "%s-%d", "a", 5);
	CHECK(holds(&sb, "a-5", 3));
	/* longer than the room there is: formatted a second time */
	for (i = 0; i < 300; i++)
		want[i] = 'x';
	want[300] = '\0';
	strbuf_addf(&sb, "[%s]", want);
	CHECK(sb.len == 305 && !strncmp(sb.buf, "a-5[x", 5) && !strcmp(sb.buf + 303, "x]"));
	strbuf_addf(&sb, "%s", "");
	CHECK(sb.len == 305 && sb.buf[305] == '\0');
	strbuf_release(&sb);
}

static void reset_detach_release(void)
{
	struct strbuf sb = STRBUF_INIT;
	size_t alloc;
	char *s;

	strbuf_addstr(&sb, "hello");
	alloc = sb.alloc;
	strbuf_reset(&sb);
	CHECK(sb.len == 0 && sb.alloc == alloc && sb.buf && sb.buf[0] == '\0');
	CHECK(!strcmp(strbuf_str(&sb), ""));
	strbuf_addstr(&sb, "world");
	s = strbuf_detach(&sb);
	CHECK(!strcmp(s, "world"));
	CHECK(sb.buf == NULL && sb.len == 0 && sb.alloc == 0);
	free(s);
	strbuf_addstr(&sb, "again"); /* usable after detach */
	CHECK(holds(&sb, "again", 5));
	strbuf_release(&sb);
	CHECK(sb.buf == NULL && sb.len == 0 && sb.alloc == 0);
}

static void errf(void)
{
	char err[8];

	memset(err, 'z', sizeof(err));
	CHECK(strbuf_errf(err, sizeof(err), "bad %s", "x") == -1);
	CHECK(!strcmp(err, "bad x"));
	CHECK(strbuf_errf(err, sizeof(err), "too long: %d", 123456) == -1);
	CHECK(!strcmp(err, "too lon")); /* cut to fit, terminated */
	CHECK(strbuf_errf(NULL, 0, "nowhere") == -1);
}

void suite_strbuf(void)
{
	static const struct unit_test t[] = {
		{ "empty", empty }, { "adding", adding }, { "growing", growing },
		{ "integers", integers }, { "formatted", formatted },
		{ "reset_detach_release", reset_detach_release }, { "errf", errf },
	};
	unit_run("strbuf", t, sizeof(t) / sizeof(t[0]));
}
