/*
 * cli.h - what every cmsctl command shares: the run's context (global
 * options, environment, configuration file), the command tables and their
 * one dispatcher, the way to a connected client, usage errors, and lists.
 */
#ifndef CMSCTL_CLI_H
#define CMSCTL_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cmsurl.h"
#include "http_client.h"
#include "cms_limits.h"
#include "opts.h"

struct cli {
	/* the global options, bound by main.c's table (options anywhere on the line) */
	const char *url;      /* --url (derived) */
	const char *cms_url;  /* --cms-url (as given) */
	const char *user;     /* --user (else CMS_USER) */
	const char *password; /* --password (else CMS_PASSWORD) */
	const char *token;    /* --token (else CMS_TOKEN) */
	bool insecure, json, print_curl, help, version;
	struct opt_int timeout; /* --timeout seconds (.v holds the default) */

	bool basic;           /* requests carry the user and password */
	bool session;         /* they carry a token of cli_session_begin */
	struct cmsurl_config cfg;
	struct client *http;  /* made by cli_connect; freed by main */
	json_t *places;       /* explain.c: campaign id -> [cc, process], or false
				 when not found; NULL until needed; freed by main */
	char command[64];     /* "mapping set": the words of the command, for messages */
};

/* ---- the command tables (command.c) ---- */

struct call;

/*
 * One row of a command table.  Every level has this shape: the top-level
 * commands, mapping's subcommands, each resource's actions.  A row is a
 * group (subs) or a command (run).  Its help is made from the row.
 */
struct command {
	const char *name;     /* the word on the command line */
	const char *summary;  /* its line in the group's help */
	const char *about;    /* paragraphs of its --help (NULL: the group's) */
	const char *notes;    /* printed after the options in --help */
	const char *synopsis; /* after "cmsctl WORDS" in help; NULL: made from the options */
	const char *operands; /* NULL: no positional arguments; else them in the synopsis */

	/* a command: its options fill a struct of opts_size bytes, zeroed (a
	 * command with option rows must have one) */
	int (*run)(struct cli *cli, const struct call *call);
	const struct option *options;  /* ended by OPT_END */
	/* options that depend on the group's data (a resource's ids), before options */
	void (*allow)(struct opts *o, const void *data);
	size_t opts_size;

	/* a group */
	const struct command *const *subs; /* ended by NULL */

	const void *data;     /* what the rows below need (a resource) */
};

/* What a command's function gets. */
struct call {
	const struct command *cmd;   /* the row run */
	const struct command *group; /* the group it was found in */
	const void *data;            /* cmd's data, else its group's */
	void *opts;                  /* the options, bound to cmd's struct (NULL: none) */
	const char *const *args;     /* positional arguments (when cmd has operands) */
	size_t nargs;
};

/*
 * Find argv[0] in group's table and go on down: a group dispatches the next
 * word, a command parses and binds its options and runs.  With cli->help, or
 * when the word is missing, the help made from the table is printed instead
 * (on stderr and EXIT_USAGE when it is missing and --help was not given).
 * Returns the command's exit code.
 */
int cli_dispatch(struct cli *cli, const struct command *group, int argc, char **argv);

/* The row of table named name, or NULL. */
const struct command *cli_find(const struct command *const *table, const char *name);

/* Print "cmsctl: <message>" and a hint to --help on stderr; EXIT_USAGE. */
int cli_usage(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

enum auth_need {
	AUTH_NONE,     /* send no Authorization (login) */
	AUTH_REQUIRED, /* a token, or a user and password, must be known */
};

/*
 * The CMS base URL of this run: --cms-url, --url, CMS_URL, then the
 * configuration file's cms-url and url lines.  *out is new (caller frees).
 * Returns EXIT_OK, or EXIT_USAGE after saying why on stderr.
 */
int cli_base_url(struct cli *cli, char **out);

/* The client of this run, made on first use.  Returns EXIT_OK or
 * EXIT_USAGE (no URL, bad URL, missing credentials; said on stderr). */
int cli_connect(struct cli *cli, enum auth_need need, struct client **out);

/* The user and password of this run, or EXIT_USAGE when either is missing. */
int cli_password_login(struct cli *cli, const char **user, const char **password);

/*
 * For a long run on a user and password: trade them for a token once
 * (POST basicauth), so that the server checks a password once, not per
 * request.  cli_session_end revokes it.  Both do nothing when a token was
 * given or requests are only printed.  Returns EXIT_OK or the exit code of
 * the failed login (reported on stderr).
 */
int cli_session_begin(struct cli *cli, struct client *c);
void cli_session_end(struct cli *cli, struct client *c);

/*
 * Say on stderr why a request failed and that it is sent again ("cmsctl:
 * WHAT: <reason>; trying again in 1.5 s"), then wait ms milliseconds, or
 * less once *stop (when not NULL; set by a signal handler) is set.
 */
void cli_retry_pause(const char *what, const struct response *r, long ms,
		     const volatile sig_atomic_t *stop);

/*
 * What the user can do about the failure r, appended to sb as one sentence
 * (nothing when cmsctl has no advice): for a 401, log in again with the
 * command that does it against this run's CMS, or check the user and
 * password when those were refused.  Returns whether it added any.
 */
bool cli_advice(const struct cli *cli, const struct response *r, struct strbuf *sb);

/* The advice of cli_advice as a line "cmsctl: ..." on stderr, if any. */
void cli_report_advice(const struct cli *cli, const struct response *r);

/* response_report (with --json's body on stdout), then cli_report_advice. */
void cli_report(const struct cli *cli, const struct response *r);

/* One page of a list: --limit and --offset (bound by CLI_PAGE_OPTIONS). */
struct page {
	struct opt_int limit;  /* not given: every page */
	struct opt_int offset;
};

/* The rows of --limit and --offset for field f (a struct page) of struct
 * T; what names the items in the help ("leads"). */
#define CLI_PAGE_OPTIONS(T, f, what)                                                     \
	{ "limit", BIND_INT(T, f.limit), .arg = "N", .min = 1, .max = CMS_PAGE_MAX,      \
	  .help = "one page of N " what " (1-" NUMSTR(CMS_PAGE_MAX) "); default: all pages" }, \
	{ "offset", BIND_INT(T, f.offset), .arg = "N", .min = 0, .max = OPT_NO_MAX,       \
	  .help = "skip the first N " what }

/*
 * GET a paginated list at path (which may already carry a query): the one
 * page page asks for, else every page.  *rows gets the objects (NULL when
 * printed); *single tells whether one page held them all, so that its body
 * (in *last) can be printed as it came.  When cursor is not NULL it gets the
 * first page's X-Change-Cursor (empty when none came): the earliest feed
 * position of the pages, so that following the feed from it misses nothing
 * of a snapshot read over several pages.  Returns an exit code; an API error
 * is left in *last for the caller to report.
 */
int cli_get_list(struct client *c, const char *path, const struct page *page, json_t **rows,
		 bool *single, struct response *last, struct strbuf *cursor);

/* The header field of a snapshot's feed position (docs/feed.md). */
#define CLI_CURSOR_HEADER "x-change-cursor"

/* "cursor: C" on stderr, where `mapping watch --after C` follows a snapshot
 * from; nothing when cursor is NULL or empty.  stdout stays the data's. */
void cli_print_cursor(const char *cursor);

/* Prints the rows of a list for people. */
typedef void (*cli_print_fn)(const json_t *rows, const void *arg);

/*
 * Fetch the list at path (paged as page says) and print it: with --json the
 * server's body as it came (one page) or the merged pages, else through
 * print(rows, arg); then its X-Change-Cursor, if any, with cli_print_cursor.
 * An API error is reported.  Returns an exit code.
 */
int cli_show_list(struct cli *cli, struct client *c, const char *path, const struct page *page,
		  cli_print_fn print, const void *arg);

/* ---- the command tables' rows ---- */

/* top level (cli.c, cmd_session.c, cmd_mapping.c) */
extern const struct command cmd_url, cmd_login, cmd_logout, cmd_mapping;

/* the set-up resources, each a group of create|list|show|delete (cmd_resources.c) */
extern const struct command cmd_cc, cmd_user, cmd_process, cmd_lead, cmd_campaign,
	cmd_campaign_user, cmd_campaign_lead;

/* `mapping import` (cmd_import.c) */
int mapping_import(struct cli *cli, const struct call *call);

/* `mapping watch` (cmd_watch.c) */
extern const struct command cmd_mapping_watch;

#endif
