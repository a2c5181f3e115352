/*
 * cli.c - the context every command shares: which CMS (URL rules of
 * cmsurl.c applied to the options, the environment and the configuration
 * file, in that order), which credentials, and paginated lists.  Also
 * `cmsctl url`, which shows the URL decision.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

/* ---- which CMS ---- */

int cli_base_url(struct cli *cli, char **out)
{
	const char *env = getenv("CMS_URL"), *given, *from;
	char err[CMSURL_ERR];
	bool as_given = false;
	int bad;

	*out = NULL;
	if (cli->url && cli->cms_url)
		return cli_usage(cli, "give --url or --cms-url, not both");
	if (cli->cms_url) {
		given = cli->cms_url, from = "--cms-url", as_given = true;
	} else if (cli->url) {
		given = cli->url, from = "--url";
	} else if (env && *env) {
		given = env, from = "CMS_URL";
	} else if (cli->cfg.cms_url) {
		given = cli->cfg.cms_url, from = "cms-url in the configuration file", as_given = true;
	} else if (cli->cfg.url) {
		given = cli->cfg.url, from = "url in the configuration file";
	} else {
		return cli_usage(cli, "no CMS URL: give --url URL (or --cms-url URL), set CMS_URL, "
			"or put a line 'url URL' in the configuration file");
	}
	bad = as_given ? cmsurl_as_given(given, out, err, sizeof(err))
		       : cmsurl_derive(&cli->cfg, given, out, err, sizeof(err));
	if (bad) {
		/* the URL is shown without a password it may hold */
		char *shown = cmsurl_redact(given);

		cli_usage(cli, "invalid URL '%s' (%s): %s", shown, from, err);
		free(shown);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* `cmsctl url [URL]`: the base URL derived from URL, or the one of this run. */
static int url(struct cli *cli, const struct call *call)
{
	char *base = NULL, *shown, err[CMSURL_ERR];
	int rc = EXIT_OK;

	if (call->nargs > 1) {
		rc = cli_usage(cli, "url takes one URL");
	} else if (call->nargs == 1) {
		if (cmsurl_derive(&cli->cfg, call->args[0], &base, err, sizeof(err))) {
			shown = cmsurl_redact(call->args[0]);
			rc = cli_usage(cli, "invalid URL '%s': %s", shown, err);
			free(shown);
		}
	} else {
		rc = cli_base_url(cli, &base);
	}
	if (!rc)
		printf("%s\n", base);
	free(base);
	return rc;
}

const struct command cmd_url = {
	.name = "url",
	.summary = "print the CMS base URL derived from a URL",
	.operands = "[URL]",
	.about = "Print the CMS base URL derived from URL (API.md section 7): the first\n"
		 "host label becomes 'cms', the environment label goes through the\n"
		 "renaming table, the scheme becomes https; a local or numeric host is\n"
		 "kept.  Without URL: the base URL this run would use (--url, --cms-url,\n"
		 "CMS_URL or the configuration file).",
	.run = url,
};

/* ---- which credentials ---- */

static void base64(struct strbuf *sb, const unsigned char *p, size_t n)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		strbuf_addch(sb, abc[p[i] >> 2]);
		strbuf_addch(sb, abc[((p[i] & 3) << 4) | (p[i + 1] >> 4)]);
		strbuf_addch(sb, abc[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)]);
		strbuf_addch(sb, abc[p[i + 2] & 63]);
	}
	if (n - i == 1) {
		strbuf_addch(sb, abc[p[i] >> 2]);
		strbuf_addch(sb, abc[(p[i] & 3) << 4]);
		strbuf_addstr(sb, "==");
	} else if (n - i == 2) {
		strbuf_addch(sb, abc[p[i] >> 2]);
		strbuf_addch(sb, abc[((p[i] & 3) << 4) | (p[i + 1] >> 4)]);
		strbuf_addch(sb, abc[(p[i + 1] & 15) << 2]);
		strbuf_addch(sb, '=');
	}
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* Forget a secret before freeing it. */
static void wipe(struct strbuf *sb)
{
	if (sb->buf)
		memset(sb->buf, 0, sb->alloc);
	strbuf_release(sb);
}

int cli_password_login(struct cli *cli, const char **user, const char **password)
{
	*user = cli->user ? cli->user : env("CMS_USER");
	*password = cli->password ? cli->password : env("CMS_PASSWORD");
	if (*user && !**user)
		return cli_usage(cli, "--user is empty");
	if (!*user)
		return cli_usage(cli, "no user: give --user USER or set CMS_USER");
	if (!*password)
		return cli_usage(cli, "no password for %s: give --password PASSWORD or set "
			"CMS_PASSWORD", *user);
	return EXIT_OK;
}

/*
 * "Bearer <token>" into sb.  White space around the token is dropped: a
 * token read from a file often ends in "\r" or "\n", which would otherwise
 * make a header the server refuses (401, with no clue why).  A control
 * character inside it is a usage error, named without the token.
 */
static int bearer(struct cli *cli, const char *token, const char *from, struct strbuf *sb)
{
	size_t n, i;

	while (isspace((unsigned char)*token))
		token++;
	n = strlen(token);
	while (n && isspace((unsigned char)token[n - 1]))
		n--;
	if (!n)
		return cli_usage(cli, "%s is empty", from);
	for (i = 0; i < n; i++)
		if ((unsigned char)token[i] < 0x20 || token[i] == 0x7f)
			return cli_usage(cli, "%s holds a control character: not a token", from);
	strbuf_addf(sb, "Bearer %.*s", (int)n, token);
	return EXIT_OK;
}

/*
 * The Authorization value into sb: the command line's --token or --user
 * first, then CMS_TOKEN, then CMS_USER with CMS_PASSWORD.
 */
static int auth_value(struct cli *cli, struct strbuf *sb)
{
	const char *user = NULL, *pw = NULL;
	struct strbuf pair = STRBUF_INIT;
	int rc;

	if (cli->token && cli->user)
		return cli_usage(cli, "give --token or --user, not both");
	if (cli->token)
		return bearer(cli, cli->token, "--token", sb);
	if (!cli->user && env("CMS_TOKEN"))
		return bearer(cli, env("CMS_TOKEN"), "CMS_TOKEN", sb);
	if (!cli->user && !env("CMS_USER"))
		return cli_usage(cli, "no credentials: give --token TOKEN, or --user USER and "
			"--password PASSWORD (or set CMS_TOKEN, or CMS_USER and CMS_PASSWORD)");
	rc = cli_password_login(cli, &user, &pw);
	if (rc)
		return rc;
	if (strchr(user, ':'))
		return cli_usage(cli, "a user id cannot contain ':'");
	strbuf_addf(&pair, "%s:%s", user, pw);
	strbuf_addstr(sb, "Basic ");
	base64(sb, (const unsigned char *)pair.buf, pair.len);
	wipe(&pair);
	cli->basic = true;
	return EXIT_OK;
}

int cli_connect(struct cli *cli, enum auth_need need, struct client **out)
{
	struct client_config cc;
	struct strbuf auth = STRBUF_INIT;
	char *base = NULL;
	int rc;

	*out = NULL;
	if (cli->http) {
		*out = cli->http;
		return EXIT_OK;
	}
	rc = cli_base_url(cli, &base);
	if (!rc && need == AUTH_REQUIRED)
		rc = auth_value(cli, &auth);
	if (rc)
		goto out;
	cc.base = base;
	cc.auth = auth.buf;
	cc.insecure = cli->insecure;
	cc.print_curl = cli->print_curl;
	cc.timeout = (long)cli->timeout.v;
	cli->http = client_new(&cc);
	if (!cli->http) {
		fprintf(stderr, "cmsctl: libcurl cannot start\n");
		rc = EXIT_NET;
		goto out;
	}
	*out = cli->http;
out:
	wipe(&auth);
	free(base);
	return rc;
}

/* ---- a token for a long run ---- */

int cli_session_begin(struct cli *cli, struct client *c)
{
	struct response r = RESPONSE_INIT;
	struct strbuf auth = STRBUF_INIT;
	const char *user, *pw, *token;
	json_t *body = NULL;
	int rc = EXIT_OK;

	if (!cli->basic || client_printing(c))
		return EXIT_OK;
	rc = cli_password_login(cli, &user, &pw);
	if (rc)
		return rc;
	body = json_pack("{s:s, s:s}", "username", user, "password", pw);
	client_set_auth(c, NULL);
	rc = client_request(c, "POST", "/basicauth", body, &r);
	token = json_string_value(json_object_get(r.json, "authToken"));
	if (!rc && !token) {
		snprintf(r.error, sizeof(r.error), "the login answer has no authToken");
		rc = EXIT_API;
	}
	if (rc) {
		fprintf(stderr, "cmsctl: cannot log in as %s\n", user);
		response_report(&r, false);
		cli_report_advice(cli, &r);
		goto out;
	}
	strbuf_addf(&auth, "Bearer %s", token);
	client_set_auth(c, auth.buf);
	cli->session = true;
out:
	if (body) {
		json_object_set_new(body, "password", json_string(""));
		json_decref(body);
	}
	wipe(&auth);
	if (r.body.buf)
		memset(r.body.buf, 0, r.body.len);
	response_release(&r);
	return rc;
}

void cli_session_end(struct cli *cli, struct client *c)
{
	struct response r = RESPONSE_INIT;

	if (!cli->session)
		return;
	if (client_request(c, "DELETE", "/basicauth", NULL, &r))
		fprintf(stderr, "cmsctl: warning: could not revoke the import's token\n");
	cli->session = false;
	response_release(&r);
}

/* ---- what to do about a failure ---- */

bool cli_advice(const struct cli *cli, const struct response *r, struct strbuf *sb)
{
	const char *base = cli->http ? client_base(cli->http) : "the CMS";
	const char *user = cli->user ? cli->user : env("CMS_USER");

	if (r->outcome != OUTCOME_AUTH)
		return false;
	if (!strcmp(cli->command, "login") || (cli->basic && !cli->session)) {
		strbuf_addf(sb, "%s refused the user and password: check them (--user and "
			    "--password, or CMS_USER and CMS_PASSWORD)", base);
		return true;
	}
	strbuf_addf(sb, "%s refused the token (expired or revoked?): log in again with "
		    "'export CMS_TOKEN=$(cmsctl --cms-url %s login --user %s)' and run the "
		    "command again", base, base, user ? user : "USER");
	return true;
}

void cli_report_advice(const struct cli *cli, const struct response *r)
{
	struct strbuf sb = STRBUF_INIT;

	if (cli_advice(cli, r, &sb)) {
		fputs("cmsctl: ", stderr);
		output_puts(stderr, sb.buf);
		fputc('\n', stderr);
	}
	strbuf_release(&sb);
}

void cli_report(const struct cli *cli, const struct response *r)
{
	response_report(r, cli->json);
	cli_report_advice(cli, r);
}

/* ---- another try ---- */

void cli_retry_pause(const char *what, const struct response *r, long ms,
		     const volatile sig_atomic_t *stop)
{
	struct timespec ts;
	char *why = response_reason(r);

	fprintf(stderr, "cmsctl: %s: ", what);
	output_puts(stderr, why);
	fprintf(stderr, "; trying again in %.1f s\n", (double)ms / 1000);
	free(why);
	if (stop && *stop)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	/* a signal cuts the sleep short: go on sleeping unless it asks to stop */
	while (nanosleep(&ts, &ts) && errno == EINTR)
		if (stop && *stop)
			break;
}

/* ---- lists ---- */

int cli_get_list(struct client *c, const char *path, const struct page *page, json_t **rows,
		 bool *single, struct response *last, struct strbuf *cursor)
{
	struct strbuf url = STRBUF_INIT;
	json_t *all = NULL;
	int64_t lim = page->limit.given ? page->limit.v : CMS_PAGE_MAX, off = page->offset.v;
	char sep = strchr(path, '?') ? '&' : '?';
	size_t pages = 0, n;
	int rc = EXIT_OK;

	*rows = NULL;
	*single = true;
	all = json_array();
	for (;;) {
		strbuf_reset(&url);
		strbuf_addf(&url, "%s%climit=%lld&offset=%lld", path, sep, (long long)lim,
			    (long long)off);
		rc = client_request(c, "GET", url.buf, NULL, last);
		if (rc || last->printed)
			goto out;
		if (!json_is_array(last->json)) {
			snprintf(last->error, sizeof(last->error), "the answer is not a JSON list");
			rc = EXIT_API;
			goto out;
		}
		if (!pages++ && cursor && response_header(last, CLI_CURSOR_HEADER))
			strbuf_addstr(cursor, response_header(last, CLI_CURSOR_HEADER));
		n = json_array_size(last->json);
		json_array_extend(all, last->json);
		if (page->limit.given || n < (size_t)lim || !n ||
		    (last->total >= 0 && off + (int64_t)n >= last->total))
			break;
		off += (int64_t)n;
	}
	*single = pages == 1;
	*rows = all;
	all = NULL;
out:
	json_decref(all);
	strbuf_release(&url);
	return rc;
}

void cli_print_cursor(const char *cursor)
{
	if (!cursor || !*cursor)
		return;
	fputs("cursor: ", stderr);
	output_puts(stderr, cursor);
	fputc('\n', stderr);
}

int cli_show_list(struct cli *cli, struct client *c, const char *path, const struct page *page,
		  cli_print_fn print, const void *arg)
{
	struct response r = RESPONSE_INIT;
	struct strbuf cursor = STRBUF_INIT;
	json_t *rows = NULL;
	bool single;
	int rc;

	rc = cli_get_list(c, path, page, &rows, &single, &r, &cursor);
	if (rc)
		cli_report(cli, &r);
	else if (rows && cli->json && single)
		output_raw(stdout, &r.body);
	else if (rows && cli->json)
		output_json(stdout, rows);
	else if (rows)
		print(rows, arg);
	if (rows)
		cli_print_cursor(cursor.buf);
	strbuf_release(&cursor);
	json_decref(rows);
	response_release(&r);
	return rc;
}
