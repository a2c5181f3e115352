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

struct login_opts {
	const char *context;
	int64_t context_id;
	const char *expires;
};

#define L(kind, field) BIND_##kind(struct login_opts, field)

static const struct option login_options[] = {
	{ "context", L(STR, context), .arg = "CONTEXT",
	  .help = "System or ContactCenter (default: the account's)" },
	{ "context-id", L(ID, context_id), .arg = "ID",
	  .help = "the contact center, with --context ContactCenter" },
	{ "expires", L(STR, expires), .arg = "TIME",
	  .help = "RFC 3339 expiry, at most 365 days away (default 24 h)" },
	OPT_END,
};

static int login(struct cli *cli, const struct call *call)
{
	const struct login_opts *o = call->opts;
	struct response r = RESPONSE_INIT;
	struct client *c;
	const char *user, *pw, *token;
	json_t *body = NULL;
	int rc;

	rc = cli_password_login(cli, &user, &pw);
	if (!rc)
		rc = cli_connect(cli, AUTH_NONE, &c);
	if (rc)
		goto out;
	body = json_pack("{s:s, s:s}", "username", user, "password", pw);
	if (o->context)
		json_object_set_new(body, "context", json_string(o->context));
	if (o->context_id)
		json_object_set_new(body, "contextId", json_integer(o->context_id));
	if (o->expires)
		json_object_set_new(body, "dateExpiry", json_string(o->expires));
	rc = client_request(c, "POST", "/basicauth", body, &r);
	if (rc) {
		cli_report(cli, &r);
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
	return rc;
}

const struct command cmd_login = {
	.name = "login",
	.summary = "get a token for USER (print it: export CMS_TOKEN=$(cmsctl login))",
	.about = "Trade --user and --password (or CMS_USER and CMS_PASSWORD) for a token and\n"
		 "print it, so that later commands need no password:\n\n"
		 "  export CMS_TOKEN=$(cmsctl login)\n\n"
		 "With --json, print the whole answer (token, expiry, role).",
	.run = login,
	.options = login_options,
	.opts_size = sizeof(struct login_opts),
};

static int logout(struct cli *cli, const struct call *call)
{
	struct response r = RESPONSE_INIT;
	struct client *c;
	int rc;

	(void)call;
	rc = cli_connect(cli, AUTH_REQUIRED, &c);
	if (rc)
		return rc;
	rc = client_request(c, "DELETE", "/basicauth", NULL, &r);
	if (rc)
		cli_report(cli, &r);
	else if (!r.printed && !cli->json)
		printf("token revoked\n");
	response_release(&r);
	return rc;
}

const struct command cmd_logout = {
	.name = "logout",
	.summary = "revoke the token in use",
	.about = "Revoke the token given with --token or CMS_TOKEN.",
	.run = logout,
};
