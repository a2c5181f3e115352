/*
 * command.c - the one dispatcher of cmsctl's command tables.  Every level
 * (top-level commands, mapping's subcommands, a resource's actions) is a
 * NULL-ended table of struct command rows, looked up, run and described
 * by the same three functions here: a word finds its row; a group row
 * dispatches the next word; a command row gets its options parsed and bound
 * to its options struct, then runs.  --help is made from the same rows.
 *
 * Needs no network: the unit tests drive it with tables of their own.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

int cli_usage(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fputs("cmsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'cmsctl %s%s--help'.\n", cli->command, cli->command[0] ? " " : "");
	return EXIT_USAGE;
}

const struct command *cli_find(const struct command *const *table, const char *name)
{
	for (; *table; table++)
		if (!strcmp((*table)->name, name))
			return *table;
	return NULL;
}

/* The options cmd accepts: those made from data first, then its table. */
static void allow(struct opts *o, const struct command *cmd, const void *data)
{
	if (cmd->allow)
		cmd->allow(o, data);
	opts_allow_table(o, cmd->options);
}

/*
 * The help of cmd (a group or a command), made from its row: usage, about
 * (the group's when cmd has none), the group's commands, the options, notes.
 */
static void help(FILE *f, const struct cli *cli, const struct command *group,
		 const struct command *cmd, const struct opts *o)
{
	const char *about = cmd->about ? cmd->about : group ? group->about : NULL;
	const char *const words = cli->command, *sep = words[0] ? " " : "";
	const struct command *const *sub;
	struct strbuf syn = STRBUF_INIT;

	if (cmd->synopsis)
		strbuf_addf(&syn, " %s", cmd->synopsis);
	else if (cmd->subs)
		strbuf_addstr(&syn, " COMMAND [options]");
	else
		opts_synopsis(&syn, o);
	if (!cmd->synopsis && cmd->operands)
		strbuf_addf(&syn, " %s", cmd->operands);
	fprintf(f, "usage: cmsctl%s%s%s\n", sep, words, strbuf_str(&syn));
	if (about)
		fprintf(f, "\n%s\n", about);
	if (cmd->subs) {
		fprintf(f, "\nCommands:\n");
		for (sub = cmd->subs; *sub; sub++)
			fprintf(f, "  %-24s %s\n", (*sub)->name, (*sub)->summary);
	}
	if (o->n) {
		fprintf(f, "\nOptions:\n");
		opts_help(f, o);
	}
	if (cmd->notes)
		fprintf(f, "\n%s\n", cmd->notes);
	if (cmd->subs)
		fprintf(f, "\n'cmsctl %s%sCOMMAND --help' for more.\n", words, sep);
	strbuf_release(&syn);
}

/* "a, b or c": the words of a table, for a message. */
static void word_list(struct strbuf *sb, const struct command *const *table)
{
	for (; *table; table++)
		strbuf_addf(sb, "%s%s", (*table)->name,
			    !table[1] ? "" : !table[2] ? " or " : ", ");
}

/* A command row: its options parsed from argv[1..argc) and bound, then run. */
static int run(struct cli *cli, const struct command *group, const struct command *cmd,
	       int argc, char **argv)
{
	struct call call = { cmd, group, cmd->data ? cmd->data : group->data, NULL, NULL, 0 };
	struct opts o = OPTS_INIT;
	char err[256];
	int rc;

	allow(&o, cmd, call.data);
	if (cli->help) {
		help(stdout, cli, group, cmd, &o);
		rc = EXIT_OK;
		goto out;
	}
	call.opts = cmd->opts_size ? xcalloc(1, cmd->opts_size) : NULL;
	if (opts_parse(&o, argc - 1, argv + 1, false, err, sizeof(err))) {
		rc = cli_usage(cli, "%s", err);
		goto out;
	}
	if (o.npos && !cmd->operands) {
		rc = cli_usage(cli, "unexpected argument '%s'", o.pos[0]);
		goto out;
	}
	if (opts_bind(&o, call.opts, err, sizeof(err))) {
		rc = cli_usage(cli, "%s", err);
		goto out;
	}
	call.args = o.pos;
	call.nargs = o.npos;
	rc = cmd->run(cli, &call);
out:
	free(call.opts);
	opts_release(&o);
	return rc;
}

int cli_dispatch(struct cli *cli, const struct command *group, int argc, char **argv)
{
	struct opts o = OPTS_INIT;
	struct strbuf words = STRBUF_INIT;
	const struct command *cmd;
	int rc;

	if (!argc || argv[0][0] == '-') {
		allow(&o, group, group->data);
		help(cli->help ? stdout : stderr, cli, NULL, group, &o);
		opts_release(&o);
		return cli->help ? EXIT_OK : EXIT_USAGE;
	}
	cmd = cli_find(group->subs, argv[0]);
	if (!cmd) {
		word_list(&words, group->subs);
		rc = cli_usage(cli, "unknown %s%scommand '%s' (%s)", cli->command,
			       cli->command[0] ? " " : "", argv[0], words.buf);
		strbuf_release(&words);
		return rc;
	}
	strbuf_addf(&words, "%s%s%s", cli->command, cli->command[0] ? " " : "", cmd->name);
	snprintf(cli->command, sizeof(cli->command), "%s", words.buf);
	strbuf_release(&words);
	if (cmd->subs)
		return cli_dispatch(cli, cmd, argc - 1, argv + 1);
	return run(cli, group, cmd, argc, argv);
}
