/*
 * cli.h - what every cmsctl command shares: the run's context (global
 * options, environment, configuration file), the way to a connected
 * client, usage errors, and the command functions main.c dispatches to.
 */
#ifndef CMSCTL_CLI_H
#define CMSCTL_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cms_limits.h"
#include "cmsurl.h"
#include "http_client.h"
#include "opts.h"

struct cli {
	const char *url;      /* --url (derived) */
	const char *cms_url;  /* --cms-url (as given) */
	const char *user;     /* --user (else CMS_USER) */
	const char *password; /* --password (else CMS_PASSWORD) */
	const char *token;    /* --token (else CMS_TOKEN) */
	bool basic;           /* requests carry the user and password */
	bool session;         /* they carry a token of cli_session_begin */
	bool insecure, json, print_curl, help;
	long timeout;         /* --timeout seconds */
	struct cmsurl_config cfg;
	struct client *http;  /* made by cli_connect; freed by main */
	char command[64];     /* "mapping set": for usage messages */
};

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

/* Print "cmsctl: <message>" and a hint to --help on stderr; EXIT_USAGE. */
int cli_usage(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse argv into o (its options already allowed); EXIT_USAGE on a mistake. */
int cli_parse(struct cli *cli, struct opts *o, int argc, char **argv);

/* A positive 64-bit id in decimal: 0, or -1 when s is not one. */
int cli_parse_id(const char *s, int64_t *out);

/*
 * The id option `name` of o: EXIT_OK with *out set (0 when absent and not
 * required), or EXIT_USAGE (missing when required, not a positive id).
 */
int cli_id_option(struct cli *cli, const struct opts *o, const char *name, bool required,
		  int64_t *out);

/*
 * GET a paginated list at path (which may already carry a query): one page
 * of `limit` from `offset` when limit is given, else every page.  *rows gets
 * the objects (NULL when printed); *single tells whether one page held them
 * all, so that its body (in *last) can be printed as it came.  Returns an
 * exit code; an API error is left in *last for the caller to report.
 */
int cli_get_list(struct cli *cli, struct client *c, const char *path, const char *limit,
		 const char *offset, json_t **rows, bool *single, struct response *last);

/* Prints the rows of a list for people. */
typedef void (*cli_print_fn)(const json_t *rows, const void *arg);

/*
 * Fetch the list at path (paged by o's --limit/--offset) and print it: with
 * --json the server's body as it came (one page) or the merged pages, else
 * through print(rows, arg).  An API error is reported.  Returns an exit code.
 */
int cli_show_list(struct cli *cli, struct client *c, const char *path, const struct opts *o,
		  cli_print_fn print, const void *arg);

/* ---- the commands; argv[0] is the command's own word ---- */

typedef int (*cli_fn)(struct cli *cli, int argc, char **argv);

int cmd_url(struct cli *cli, int argc, char **argv);
int cmd_login(struct cli *cli, int argc, char **argv);
int cmd_logout(struct cli *cli, int argc, char **argv);
int cmd_mapping(struct cli *cli, int argc, char **argv);
int cmd_resource(struct cli *cli, int argc, char **argv);

/* `mapping import`, with its options parsed (cmd_import.c). */
int mapping_import(struct cli *cli, struct opts *o);

/* The set-up resources (cmd_resources.c): whether name is one, and one
 * help line for each. */
bool resource_known(const char *name);
void resource_summary(FILE *f);

#endif
