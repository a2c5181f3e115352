/*
 * main.c - cmsctl, the command-line client of the CMS configuration API:
 * global options (anywhere on the line), the environment, the
 * configuration file, then one command of the table below.
 *
 * Exit codes: 0 success; 1 the API answered an error (or the output could
 * not be written); 2 usage error; 3 no answer (could not connect, TLS
 * failure, timeout).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

#define DEFAULT_TIMEOUT 30
#define TIMEOUT_MAX 86400 /* a day */

#define G(kind, field) BIND_##kind(struct cli, field)

static const struct option global_options[] = {
	{ "url", G(STR, url), .arg = "URL",
	  .help = "any URL of the installation (gateway, ecc, cms): derived" },
	{ "cms-url", G(STR, cms_url), .arg = "URL", .help = "the CMS base URL, used as given" },
	{ "user", G(STR, user), .arg = "USER", .help = "log in as USER (also CMS_USER)" },
	{ "password", G(STR, password), .arg = "PASSWORD",
	  .help = "USER's password (better: CMS_PASSWORD)" },
	{ "token", G(STR, token), .arg = "TOKEN",
	  .help = "a token from 'cmsctl login' (also CMS_TOKEN)" },
	{ "insecure", G(FLAG, insecure), .help = "accept a self-signed TLS certificate" },
	{ "json", G(FLAG, json), .help = "print the server's JSON as it came" },
	{ "print-curl", G(FLAG, print_curl),
	  .help = "print the equivalent curl command, send nothing" },
	{ "timeout", G(INT, timeout), .arg = "SECONDS", .min = 1, .max = TIMEOUT_MAX,
	  .unit = "seconds",
	  .help = "give up on a request after SECONDS (default " NUMSTR(DEFAULT_TIMEOUT) ")" },
	{ "help", G(FLAG, help), .help = "help on cmsctl or on a command" },
	OPT_END,
};

static const struct command *const commands[] = {
	&cmd_login, &cmd_logout, &cmd_mapping, &cmd_url,
	&cmd_cc, &cmd_user, &cmd_process, &cmd_lead, &cmd_campaign, &cmd_campaign_user,
	&cmd_campaign_lead,
	NULL,
};

/* The whole of cmsctl: its options are the global ones, parsed by main. */
static const struct command root = {
	.name = "cmsctl",
	.synopsis = "[global options] COMMAND [options]",
	.about = "Drive the CMS configuration API from a shell.  The options below may stand\n"
		 "anywhere on the line.",
	.notes = "Environment: CMS_URL, CMS_USER, CMS_PASSWORD, CMS_TOKEN; CMSCTL_CONFIG\n"
		 "(else ~/.config/cmsctl/config) names the configuration file.\n"
		 "Exit codes: 0 success, 1 the API answered an error, 2 usage error,\n"
		 "3 no answer (connection, TLS, timeout).",
	.options = global_options,
	.subs = commands,
};

/* Take the global options out of argv into cli; what is left goes to o->rest. */
static int global(struct cli *cli, struct opts *o, int argc, char **argv)
{
	char err[256];

	cli->timeout.v = DEFAULT_TIMEOUT;
	opts_allow_table(o, global_options);
	if (opts_parse(o, argc, argv, true, err, sizeof(err)) || opts_bind(o, cli, err, sizeof(err)))
		return cli_usage(cli, "%s", err);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct cli cli;
	struct opts o = OPTS_INIT;
	char err[CMSURL_ERR], **rest = NULL;
	int rc, n;

	memset(&cli, 0, sizeof(cli));
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "cmsctl: libcurl cannot start\n");
		return EXIT_NET;
	}
	rc = global(&cli, &o, argc - 1, argv + 1);
	if (rc)
		goto out;
	cmsurl_config_defaults(&cli.cfg);
	if (cmsurl_config_load(&cli.cfg, getenv("CMSCTL_CONFIG"), err, sizeof(err))) {
		rc = cli_usage(&cli, "%s", err);
		goto out;
	}

	/* rest: the command words and their arguments; "help X" means "X --help" */
	n = (int)o.nrest;
	rest = (char **)o.rest;
	if (n && !strcmp(rest[0], "help")) {
		cli.help = true;
		rest++, n--;
	}
	rc = cli_dispatch(&cli, &root, n, rest);
out:
	/* a full disk must not pass for success: `cmsctl login > token` */
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "cmsctl: cannot write the output: %s\n", strerror(errno));
		if (!rc)
			rc = EXIT_API;
	}
	client_free(cli.http);
	cmsurl_config_release(&cli.cfg);
	opts_release(&o);
	curl_global_cleanup();
	return rc;
}
