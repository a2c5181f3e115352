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

static const struct optspec global_options[] = {
	{ "url", OPT_VALUE, "URL", "any URL of the installation (gateway, ecc, cms): derived" },
	{ "cms-url", OPT_VALUE, "URL", "the CMS base URL, used as given" },
	{ "user", OPT_VALUE, "USER", "log in as USER (also CMS_USER)" },
	{ "password", OPT_VALUE, "PASSWORD", "USER's password (better: CMS_PASSWORD)" },
	{ "token", OPT_VALUE, "TOKEN", "a token from 'cmsctl login' (also CMS_TOKEN)" },
	{ "insecure", OPT_FLAG, NULL, "accept a self-signed TLS certificate" },
	{ "json", OPT_FLAG, NULL, "print the server's JSON as it came" },
	{ "print-curl", OPT_FLAG, NULL, "print the equivalent curl command, send nothing" },
	{ "timeout", OPT_VALUE, "SECONDS", "give up on a request after SECONDS (default 30)" },
	{ "help", OPT_FLAG, NULL, "help on cmsctl or on a command" },
	{ NULL, OPT_FLAG, NULL, NULL },
};

struct command {
	const char *name;
	cli_fn run;
	const char *summary;
};

static const struct command commands[] = {
	{ "login", cmd_login, "get a token for USER (print it: export CMS_TOKEN=$(cmsctl login))" },
	{ "logout", cmd_logout, "revoke the token in use" },
	{ "mapping", cmd_mapping, "lead-user mapping: set, get, import FILE.csv" },
	{ "url", cmd_url, "print the CMS base URL derived from a URL" },
};

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void help(FILE *f)
{
	struct opts o = OPTS_INIT;
	size_t i;

	fprintf(f, "usage: cmsctl [global options] COMMAND [options]\n\n"
		   "Drive the CMS configuration API from a shell.\n\n"
		   "Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-24s %s\n", commands[i].name, commands[i].summary);
	resource_summary(f);
	fprintf(f, "\nGlobal options (anywhere on the line):\n");
	opts_allow(&o, global_options);
	opts_help(f, &o);
	opts_release(&o);
	fprintf(f, "\nEnvironment: CMS_URL, CMS_USER, CMS_PASSWORD, CMS_TOKEN; CMSCTL_CONFIG\n"
		   "(else ~/.config/cmsctl/config) names the configuration file.\n"
		   "Exit codes: 0 success, 1 the API answered an error, 2 usage error,\n"
		   "3 no answer (connection, TLS, timeout).  'cmsctl COMMAND --help' for more.\n");
}

/* Take the global options out of argv into cli; what is left goes to rest. */
static int global(struct cli *cli, struct opts *o, int argc, char **argv)
{
	const char *t;
	char err[256];
	long long v = 0;

	opts_allow(o, global_options);
	if (opts_parse(o, argc, argv, true, err, sizeof(err)))
		return cli_usage(cli, "%s", err);
	cli->url = opts_get(o, "url");
	cli->cms_url = opts_get(o, "cms-url");
	cli->user = opts_get(o, "user");
	cli->password = opts_get(o, "password");
	cli->token = opts_get(o, "token");
	cli->insecure = opts_has(o, "insecure");
	cli->json = opts_has(o, "json");
	cli->print_curl = opts_has(o, "print-curl");
	cli->help = opts_has(o, "help");
	cli->timeout = DEFAULT_TIMEOUT;
	t = opts_get(o, "timeout");
	if (t) {
		char *end;

		v = strtoll(t, &end, 10);
		if (end == t || *end || v < 1 || v > 86400)
			return cli_usage(cli, "--timeout must be from 1 to 86400 seconds, not '%s'", t);
		cli->timeout = (long)v;
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct cli cli;
	struct opts o = OPTS_INIT;
	const struct command *cmd;
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

	/* rest: the command word and its arguments; "help X" means "X --help" */
	n = (int)o.nrest;
	rest = (char **)o.rest;
	if (n && !strcmp(rest[0], "help")) {
		cli.help = true;
		rest++, n--;
	}
	if (!n || !strcmp(rest[0], "--")) {
		help(cli.help ? stdout : stderr);
		rc = cli.help ? EXIT_OK : EXIT_USAGE;
		goto out;
	}
	snprintf(cli.command, sizeof(cli.command), "%s", rest[0]);
	cmd = find_command(rest[0]);
	if (cmd) {
		rc = cmd->run(&cli, n, rest);
	} else if (resource_known(rest[0])) {
		rc = cmd_resource(&cli, n, rest);
	} else {
		cli.command[0] = '\0';
		rc = cli_usage(&cli, "unknown command '%s'", rest[0]);
	}
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
