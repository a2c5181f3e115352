/*
 * cmd_session.c - `cmsctl login` (POST basicauth: a user and password
 * traded for a token) and `cmsctl logout` (DELETE basicauth: the token
 * revoked).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "banned.h"

static const struct optspec login_options[] = {
	{ "context", OPT_VALUE, "CONTEXT", "System or ContactCenter (default: the account's)" },
	{ "context-id", OPT_VALUE, "ID", "the contact center, with --context ContactCenter" },
	{ "expires", OPT_VALUE, "TIME", "RFC 3339 expiry, at most 365 days away (default 24 h)" },
	{ NULL, OPT_FLAG, NULL, NULL },
};

int cmd_login(struct cli *cli, int argc, char **argv)
{
	struct opts o = OPTS_INIT;
	struct response r = RESPONSE_INIT;
	struct client *c;
	const char *user, *pw, *token;
	json_t *body = NULL;
	int64_t ctx_id = 0;
	int rc;

	opts_allow(&o, login_options);
	if (cli->help) {
		printf("usage: cmsctl login [--context CONTEXT] [--context-id ID] [--expires TIME]\n\n"
		       "Trade --user and --password (or CMS_USER and CMS_PASSWORD) for a token and\n"
		       "print it, so that later commands need no password:\n\n"
		       "  export CMS_TOKEN=$(cmsctl login)\n\n"
		       "With --json, print the whole answer (token, expiry, role).\n\nOptions:\n");
		opts_help(stdout, &o);
		rc = EXIT_OK;
		goto out;
	}
	rc = cli_parse(cli, &o, argc - 1, argv + 1);
	if (!rc && o.npos)
		rc = cli_usage(cli, "unexpected argument '%s'", o.pos[0]);
	if (!rc)
		rc = cli_id_option(cli, &o, "context-id", false, &ctx_id);
	if (!rc)
		rc = cli_password_login(cli, &user, &pw);
	if (!rc)
		rc = cli_connect(cli, AUTH_NONE, &c);
	if (rc)
		goto out;
	body = json_pack("{s:s, s:s}", "username", user, "password", pw);
	if (opts_get(&o, "context"))
		json_object_set_new(body, "context", json_string(opts_get(&o, "context")));
	if (ctx_id)
		json_object_set_new(body, "contextId", json_integer(ctx_id));
	if (opts_get(&o, "expires"))
		json_object_set_new(body, "dateExpiry", json_string(opts_get(&o, "expires")));
	rc = client_request(c, "POST", "/basicauth", body, &r);
	if (rc) {
		response_report(&r, cli->json);
		goto out;
	}
	if (r.printed)
		goto out;
	token = json_string_value(json_object_get(r.json, "authToken"));
	if (cli->json)
		output_raw(stdout, &r.body);
	else if (token)
		printf("%s\n", token);
	else {
		fprintf(stderr, "cmsctl: the answer has no authToken\n");
		rc = EXIT_API;
	}
out:
	json_decref(body);
	response_release(&r);
	opts_release(&o);
	return rc;
}

int cmd_logout(struct cli *cli, int argc, char **argv)
{
	struct opts o = OPTS_INIT;
	struct response r = RESPONSE_INIT;
	struct client *c;
	int rc;

	if (cli->help) {
		printf("usage: cmsctl logout\n\n"
		       "Revoke the token given with --token or CMS_TOKEN.\n");
		return EXIT_OK;
	}
	rc = cli_parse(cli, &o, argc - 1, argv + 1);
	if (!rc && o.npos)
		rc = cli_usage(cli, "unexpected argument '%s'", o.pos[0]);
	if (!rc)
		rc = cli_connect(cli, AUTH_REQUIRED, &c);
	if (rc)
		goto out;
	rc = client_request(c, "DELETE", "/basicauth", NULL, &r);
	if (rc)
		response_report(&r, cli->json);
	else if (!r.printed && !cli->json)
		printf("token revoked\n");
out:
	response_release(&r);
	opts_release(&o);
	return rc;
}
