/*
 * test_cli_opts.c - cmsctl's option tables (src/cli/opts.c): each kind of
 * row parsed and bound to its field, the checks a row declares (required,
 * not empty, range), the messages of mistakes and their order (the table's,
 * not the command line's), positional arguments, unknown options kept for
 * the global pass, and the synopsis and help made from the rows.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opts.h"
#include "unit.h"

void suite_cli_opts(void);

struct t_opts {
	bool verbose;
	const char *name;
	int64_t id;
	struct opt_int count;
	struct opt_int any;
	struct opt_bool on;
	struct opt_list users;
	const char *item;
};

#define T(kind, field) BIND_##kind(struct t_opts, field)

static const struct option rows[] = {
	{ "verbose", T(FLAG, verbose), .help = "say more" },
	{ "name", T(STR, name), .arg = "TEXT", .help = "a name" },
	{ "id", T(ID, id), .arg = "ID", .required = true, .help = "the thing" },
	{ "count", T(INT, count), .arg = "N", .min = 1, .max = 50, .unit = "rows" },
	{ "any", T(INT, any), .arg = "N" },
	{ "on", T(BOOL, on), .arg = "BOOL" },
	{ "users", T(LIST, users), .arg = "USERS" },
	{ "item", T(STR, item), .arg = "TEXT", .nonempty = true },
	OPT_END,
};

/*
 * Parse and bind the NULL-ended words into *out; returns 0, or -1 with the
 * message in err.  The struct opts is left in *o for the caller to release.
 */
static int bind_words(struct opts *o, struct t_opts *out, char *err, size_t errlen,
		      const char *const *words)
{
	char *argv[32];
	int argc = 0;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	while (words[argc])
		argv[argc] = (char *)words[argc], argc++;
	opts_allow_table(o, rows);
	if (opts_parse(o, argc, argv, false, err, errlen))
		return -1;
	return opts_bind(o, out, err, errlen);
}

/* Whether the words fail with exactly the message want. */
static bool fails_with(const char *want, const char *const *words)
{
	struct opts o = OPTS_INIT;
	struct t_opts v;
	char err[256];
	bool ok = bind_words(&o, &v, err, sizeof(err), words) == -1 && !strcmp(err, want);

	if (!ok)
		fprintf(stderr, "  wanted '%s', got '%s'\n", want, err);
	opts_release(&o);
	return ok;
}

#define WORDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void every_kind_bound(void)
{
	struct opts o = OPTS_INIT;
	struct t_opts v;
	char err[256];

	CHECK(!bind_words(&o, &v, err, sizeof(err),
			  WORDS("--verbose", "--name=ann", "--id", "007", "--count", "50", "--any",
				"-3", "--on", "No", "--users", " a, ,b ", "--users=c", "pos1",
				"--item", "x y", "pos2")));
	CHECK(v.verbose);
	CHECK(v.name && !strcmp(v.name, "ann"));
	CHECK(v.id == 7);
	CHECK(v.count.given && v.count.v == 50);
	CHECK(v.any.given && v.any.v == -3);
	CHECK(v.on.given && !v.on.v);
	CHECK(v.users.n == 3 && !strcmp(v.users.v[0], "a") && !strcmp(v.users.v[1], "b") &&
	      !strcmp(v.users.v[2], "c"));
	CHECK(v.item && !strcmp(v.item, "x y"));
	CHECK(o.npos == 2 && !strcmp(o.pos[0], "pos1") && !strcmp(o.pos[1], "pos2"));
	opts_release(&o);
}

static void absent_fields_keep_their_value(void)
{
	struct opts o = OPTS_INIT;
	struct t_opts v;
	char err[256];

	CHECK(!bind_words(&o, &v, err, sizeof(err), WORDS("--id", "1")));
	CHECK(!v.verbose && !v.name && !v.count.given && !v.any.given && !v.on.given);
	CHECK(!v.users.n && !v.item);
	opts_release(&o);

	/* an empty value of a nonempty row is as if it were not given */
	memset(&o, 0, sizeof(o));
	CHECK(!bind_words(&o, &v, err, sizeof(err), WORDS("--id", "1", "--item", "")));
	CHECK(!v.item);
	opts_release(&o);

	/* a default set before binding stays when the option is not given */
	memset(&o, 0, sizeof(o));
	memset(&v, 0, sizeof(v));
	v.count.v = 30;
	opts_allow_table(&o, rows);
	CHECK(!opts_parse(&o, 0, NULL, false, err, sizeof(err)));
	CHECK(opts_bind(&o, &v, err, sizeof(err)) == -1); /* --id is required */
	CHECK(v.count.v == 30 && !v.count.given);
	opts_release(&o);
}

static void mistakes(void)
{
	CHECK(fails_with("--id ID is required", WORDS("--name", "x")));
	CHECK(fails_with("--id must be a positive integer, not '0'", WORDS("--id", "0")));
	CHECK(fails_with("--id must be a positive integer, not '-1'", WORDS("--id=-1")));
	CHECK(fails_with("--id must be a positive integer, not '99999999999999999999'",
			 WORDS("--id", "99999999999999999999")));
	CHECK(fails_with("--count must be from 1 to 50 rows, not '51'",
			 WORDS("--id", "1", "--count", "51")));
	CHECK(fails_with("--count must be from 1 to 50 rows, not '2x'",
			 WORDS("--id", "1", "--count", "2x")));
	CHECK(fails_with("--any must be an integer, not ''", WORDS("--id", "1", "--any=")));
	CHECK(fails_with("--on must be true or false, not 'maybe'",
			 WORDS("--id", "1", "--on", "maybe")));
	CHECK(fails_with("--name given twice", WORDS("--name", "a", "--name", "b")));
	CHECK(fails_with("--verbose takes no value", WORDS("--verbose=yes")));
	CHECK(fails_with("--name needs a value (TEXT)", WORDS("--id", "1", "--name")));
	CHECK(fails_with("unknown option '--bogus'", WORDS("--bogus")));
	CHECK(fails_with("unknown option '-x'", WORDS("-x")));
	/* the first mistake in the table's order, whatever the line's */
	CHECK(fails_with("--id must be a positive integer, not 'b'",
			 WORDS("--count", "0", "--id", "b")));
}

static void required_list(void)
{
	static const struct option list_rows[] = {
		{ "users", T(LIST, users), .arg = "USERS", .required = true },
		OPT_END,
	};
	struct opts o = OPTS_INIT;
	struct t_opts v;
	char err[256], *argv[] = { "--users", " , " };

	memset(&v, 0, sizeof(v));
	opts_allow_table(&o, list_rows);
	CHECK(!opts_parse(&o, 2, argv, false, err, sizeof(err)));
	CHECK(opts_bind(&o, &v, err, sizeof(err)) == -1);
	CHECK(!strcmp(err, "--users USERS is required"));
	opts_release(&o);
}

static void positional_and_rest(void)
{
	static const struct option g[] = {
		{ "json", .kind = OPT_FLAG, .at = 0 },
		OPT_END,
	};
	struct opts o = OPTS_INIT;
	char err[64], *a1[] = { "a", "--", "--id", "-x" };
	char *a2[] = { "cc", "--json", "list", "--limit", "5", "-x", "--", "--json" };

	opts_allow_table(&o, rows);
	CHECK(!opts_parse(&o, 4, a1, false, err, sizeof(err)));
	CHECK(o.npos == 3 && !strcmp(o.pos[1], "--id") && !strcmp(o.pos[2], "-x"));
	opts_release(&o);

	/* the global pass keeps what it does not know, in order, and "--" with it */
	opts_allow_table(&o, g);
	CHECK(!opts_parse(&o, 8, a2, true, err, sizeof(err)));
	CHECK(o.v[0].n == 1 && o.npos == 0 && o.nrest == 7);
	CHECK(!strcmp(o.rest[0], "cc") && !strcmp(o.rest[1], "list") &&
	      !strcmp(o.rest[4], "-x") && !strcmp(o.rest[5], "--") && !strcmp(o.rest[6], "--json"));
	opts_release(&o);
}

static void a_name_allowed_once(void)
{
	static const struct option again = { "name", T(STR, item), .arg = "OTHER" };
	struct opts o = OPTS_INIT;

	opts_allow_table(&o, rows);
	opts_allow(&o, &again);
	CHECK(o.n == 8 && o.v[1].row == &rows[1]);
	opts_release(&o);
}

static void ids(void)
{
	int64_t v = 0;

	CHECK(!opts_parse_id("9223372036854775807", &v) && v == INT64_MAX);
	CHECK(opts_parse_id("9223372036854775808", &v));
	CHECK(opts_parse_id("+1", &v) && opts_parse_id(" 1", &v) && opts_parse_id("", &v));
	CHECK(!opts_parse_id("0010", &v) && v == 10);
}

static void synopsis_and_help(void)
{
	struct opts o = OPTS_INIT;
	struct strbuf sb = STRBUF_INIT;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	opts_allow_table(&o, rows);
	opts_synopsis(&sb, &o);
	CHECK(!strcmp(sb.buf, " [--verbose] [--name TEXT] --id ID [--count N] [--any N] "
			      "[--on BOOL] [--users USERS] [--item TEXT]"));
	opts_help(f, &o);
	fclose(f);
	/* rows without help have no line */
	CHECK(!strcmp(text, "  --verbose                say more\n"
			    "  --name TEXT              a name\n"
			    "  --id ID                  the thing\n"));
	free(text);
	strbuf_release(&sb);
	opts_release(&o);
}

void suite_cli_opts(void)
{
	static const struct unit_test t[] = {
		{ "every_kind_bound", every_kind_bound },
		{ "absent_fields_keep_their_value", absent_fields_keep_their_value },
		{ "mistakes", mistakes },
		{ "required_list", required_list },
		{ "positional_and_rest", positional_and_rest },
		{ "a_name_allowed_once", a_name_allowed_once },
		{ "ids", ids },
		{ "synopsis_and_help", synopsis_and_help },
	};
	unit_run("cli_opts", t, sizeof(t) / sizeof(t[0]));
}
