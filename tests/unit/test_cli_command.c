/*
 * test_cli_command.c - cmsctl's command tables (src/cli/command.c), driven
 * with a table of their own: a word finds its row at every level, a group
 * goes on down, a command gets its options bound and its operands, usage
 * errors name the words so far, and --help is made from the rows.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "unit.h"

void suite_cli_command(void);

struct t_opts {
	int64_t id;
	const char *name;
};

static const struct option t_options[] = {
	{ "id", BIND_ID(struct t_opts, id), .arg = "ID", .required = true, .help = "the id" },
	{ "name", BIND_STR(struct t_opts, name), .arg = "TEXT", .help = "a name" },
	OPT_END,
};

/* What the last command run saw. */
static struct {
	const struct command *cmd, *group;
	const void *data;
	int64_t id;
	const char *name;
	size_t nargs;
	const char *arg0;
} seen;

static int record(struct cli *cli, const struct call *call)
{
	const struct t_opts *o = call->opts;

	(void)cli;
	seen.cmd = call->cmd;
	seen.group = call->group;
	seen.data = call->data;
	seen.id = o ? o->id : 0;
	seen.name = o ? o->name : NULL;
	seen.nargs = call->nargs;
	seen.arg0 = call->nargs ? call->args[0] : NULL;
	return 42;
}

static const char group_data[] = "group data";

/* The data's options come before the table's. */
static void allow_data(struct opts *o, const void *data)
{
	static const struct option extra[] = {
		{ "extra", BIND_STR(struct t_opts, name), .arg = "X", .help = "from the data" },
		OPT_END,
	};

	CHECK(data == group_data);
	opts_allow_table(o, extra);
}

static const struct command show = {
	.name = "show", .summary = "show one", .run = record, .options = t_options,
	.opts_size = sizeof(struct t_opts),
};
static const struct command dyn = {
	.name = "dyn", .summary = "options from data", .run = record, .allow = allow_data,
	.options = t_options, .opts_size = sizeof(struct t_opts),
};
static const struct command *const things[] = { &show, &dyn, NULL };
static const struct command thing = {
	.name = "thing", .summary = "things", .about = "Things of a test.", .subs = things,
	.data = group_data,
};
static const struct command echo = {
	.name = "echo", .summary = "its operands", .operands = "WORDS...", .run = record,
	.about = "Echo.",
};
static const struct command *const top[] = { &echo, &thing, NULL };
static const struct command root = { .name = "t", .about = "A test.", .subs = top };

/* Run the NULL-ended words from the root with stdout and stderr caught. */
static int dispatch(struct cli *cli, char **out, char **err, const char *const *words)
{
	char *argv[16], *buf[2] = { NULL, NULL };
	size_t len[2];
	int argc = 0, saved[2], i, rc;
	FILE *f[2];

	while (words[argc])
		argv[argc] = (char *)words[argc], argc++;
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		f[i] = tmpfile();
		saved[i] = dup(i + 1);
		dup2(fileno(f[i]), i + 1);
	}
	memset(&seen, 0, sizeof(seen));
	rc = cli_dispatch(cli, &root, argc, argv);
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		dup2(saved[i], i + 1);
		close(saved[i]);
		len[i] = (size_t)ftell(f[i]);
		buf[i] = calloc(1, len[i] + 1);
		rewind(f[i]);
		if (fread(buf[i], 1, len[i], f[i]) != len[i])
			buf[i][0] = '\0';
		fclose(f[i]);
	}
	*out = buf[0];
	*err = buf[1];
	return rc;
}

#define WORDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void runs_the_row_of_each_level(void)
{
	struct cli cli;
	char *out, *err;

	memset(&cli, 0, sizeof(cli));
	CHECK(dispatch(&cli, &out, &err, WORDS("thing", "show", "--id", "07", "--name=x")) == 42);
	CHECK(seen.cmd == &show && seen.group == &thing && seen.data == group_data);
	CHECK(seen.id == 7 && seen.name && !strcmp(seen.name, "x") && !seen.nargs);
	CHECK(!strcmp(cli.command, "thing show") && !*out && !*err);
	free(out), free(err);

	memset(&cli, 0, sizeof(cli));
	CHECK(dispatch(&cli, &out, &err, WORDS("echo", "a", "b")) == 42);
	CHECK(seen.cmd == &echo && seen.group == &root && seen.nargs == 2 &&
	      !strcmp(seen.arg0, "a"));
	free(out), free(err);

	CHECK(cli_find(top, "thing") == &thing && !cli_find(top, "things"));
	CHECK(cli_find(things, "dyn") == &dyn);
}

static void usage_errors(void)
{
	struct cli cli;
	char *out, *err;

	memset(&cli, 0, sizeof(cli));
	CHECK(dispatch(&cli, &out, &err, WORDS("nope")) == EXIT_USAGE);
	CHECK(!strcmp(err, "cmsctl: unknown command 'nope' (echo or thing)\n"
			   "Try 'cmsctl --help'.\n") && !seen.cmd);
	free(out), free(err);

	memset(&cli, 0, sizeof(cli));
	CHECK(dispatch(&cli, &out, &err, WORDS("thing", "frob")) == EXIT_USAGE);
	CHECK(!strcmp(err, "cmsctl: unknown thing command 'frob' (show or dyn)\n"
			   "Try 'cmsctl thing --help'.\n"));
	free(out), free(err);

	memset(&cli, 0, sizeof(cli));
	CHECK(dispatch(&cli, &out, &err, WORDS("thing", "show")) == EXIT_USAGE);
	CHECK(!strcmp(err, "cmsctl: --id ID is required\nTry 'cmsctl thing show --help'.\n"));
	free(out), free(err);

	memset(&cli, 0, sizeof(cli));
	CHECK(dispatch(&cli, &out, &err, WORDS("thing", "show", "--id", "1", "x")) == EXIT_USAGE);
	CHECK(!strcmp(err, "cmsctl: unexpected argument 'x'\nTry 'cmsctl thing show --help'.\n"));
	CHECK(!seen.cmd);
	free(out), free(err);

	/* a missing word: the group's help, on stderr */
	memset(&cli, 0, sizeof(cli));
	CHECK(dispatch(&cli, &out, &err, WORDS("thing")) == EXIT_USAGE);
	CHECK(!*out && strstr(err, "usage: cmsctl thing COMMAND [options]\n"));
	free(out), free(err);
}

static void help_from_the_rows(void)
{
	struct cli cli;
	char *out, *err;

	memset(&cli, 0, sizeof(cli));
	cli.help = true;
	CHECK(dispatch(&cli, &out, &err, WORDS("thing")) == EXIT_OK);
	CHECK(!strcmp(out, "usage: cmsctl thing COMMAND [options]\n\n"
			   "Things of a test.\n\n"
			   "Commands:\n"
			   "  show                     show one\n"
			   "  dyn                      options from data\n\n"
			   "'cmsctl thing COMMAND --help' for more.\n"));
	free(out), free(err);

	memset(&cli, 0, sizeof(cli));
	cli.help = true;
	CHECK(dispatch(&cli, &out, &err, WORDS("thing", "dyn", "--bogus")) == EXIT_OK);
	CHECK(!strcmp(out, "usage: cmsctl thing dyn [--extra X] --id ID [--name TEXT]\n\n"
			   "Things of a test.\n\n"
			   "Options:\n"
			   "  --extra X                from the data\n"
			   "  --id ID                  the id\n"
			   "  --name TEXT              a name\n"));
	CHECK(!seen.cmd);
	free(out), free(err);

	memset(&cli, 0, sizeof(cli));
	cli.help = true;
	CHECK(dispatch(&cli, &out, &err, WORDS("echo")) == EXIT_OK);
	CHECK(!strcmp(out, "usage: cmsctl echo WORDS...\n\nEcho.\n"));
	free(out), free(err);
}

void suite_cli_command(void)
{
	static const struct unit_test t[] = {
		{ "runs_the_row_of_each_level", runs_the_row_of_each_level },
		{ "usage_errors", usage_errors },
		{ "help_from_the_rows", help_from_the_rows },
	};
	unit_run("cli_command", t, sizeof(t) / sizeof(t[0]));
}
