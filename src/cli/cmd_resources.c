/*
 * cmd_resources.c - `cmsctl RESOURCE create|list|show|delete` for the
 * set-up resources of API.md §4, all through one generic code path driven
 * by the table below: where a resource lives (a path template whose {x}
 * parts are the id options it needs), which option names one item, what
 * create sends, and which columns a list shows.  Adding a resource is adding
 * a row.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "output.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

enum ftype {
	FT_STR,  /* a JSON string */
	FT_ID,   /* a positive integer id */
	FT_INT,  /* any integer (the server checks the range) */
	FT_BOOL, /* true/false, yes/no, 1/0 */
	FT_LIST, /* comma-separated strings, as a JSON array */
};

struct field {
	const char *opt;  /* the option of create */
	const char *key;  /* the JSON key it fills */
	enum ftype type;
	bool required;
	const char *help;
};

#define MAX_FIELDS 5
#define MAX_COLS 6

struct resource {
	const char *name;     /* the command word */
	const char *what;     /* one line of help */
	const char *path;     /* collection path below /cms/configuration */
	const char *item_opt; /* the option naming one item */
	const char *item_key; /* the JSON key of that id in an object */
	enum ftype item_type; /* FT_ID or FT_STR */
	const char *item_help; /* help line of item_opt */
	bool show_by_list;    /* no GET of one item: show looks it up in the list */
	const char *columns[MAX_COLS + 1];
	struct field create[MAX_FIELDS + 1];
};

#define CAMP "/cc/{cc}/process/{process}/campaign/{campaign}"

static const struct resource resources[] = {
	{ .name = "cc", .what = "contact centers (creating one needs the system administrator)",
	  .path = "/cc",
	  .item_opt = "cc", .item_key = "contactCenterId", .item_type = FT_ID,
	  .item_help = "the contact center",
	  .columns = { "contactCenterId", "name" },
	  .create = { { "name", "name", FT_STR, true, "the contact center's name" } } },
	{ .name = "user", .what = "users of a contact center",
	  .path = "/cc/{cc}/user",
	  .item_opt = "user-id", .item_key = "userId", .item_type = FT_STR,
	  .item_help = "the user's login",
	  .columns = { "userId", "name", "role", "contactCenterId" },
	  .create = { { "user-id", "userId", FT_STR, true, "the login (A-Z a-z 0-9 . _ - @ +)" },
		      { "name", "name", FT_STR, true, "the user's name" },
		      { "role", "role", FT_STR, true, "Administrator, Supervisor or Agent" },
		      { "user-password", "password", FT_STR, false,
			NUMSTR(CMS_PASSWORD_MIN) " or more bytes; without one the user cannot "
			"log in" } } },
	{ .name = "process", .what = "processes of a contact center",
	  .path = "/cc/{cc}/process",
	  .item_opt = "process", .item_key = "processId", .item_type = FT_ID,
	  .item_help = "the process",
	  .columns = { "processId", "processName", "contactCenterId" },
	  .create = { { "name", "processName", FT_STR, true, "the process's name" } } },
	{ .name = "lead", .what = "leads (lead lists) of a process",
	  .path = "/cc/{cc}/process/{process}/lead",
	  .item_opt = "lead", .item_key = "leadId", .item_type = FT_ID,
	  .item_help = "the lead",
	  .columns = { "leadId", "leadName", "processId" },
	  .create = { { "name", "leadName", FT_STR, true, "the lead list's name" } } },
	{ .name = "campaign", .what = "voice campaigns of a process",
	  .path = "/cc/{cc}/process/{process}/campaign",
	  .item_opt = "campaign", .item_key = "campaignId", .item_type = FT_ID,
	  .item_help = "the campaign",
	  .columns = { "campaignId", "campaignName", "campaignType", "processId" },
	  .create = { { "name", "campaignName", FT_STR, true, "the campaign's name" } } },
	{ .name = "campaign-user", .what = "users enrolled in a campaign",
	  .path = CAMP "/campaign-user",
	  .item_opt = "user-id", .item_key = "userId", .item_type = FT_STR,
	  .item_help = "the enrolled user's login", .show_by_list = true,
	  .columns = { "campaignUserId", "userId", "campaignId" },
	  .create = { { "user-ids", "userIds", FT_LIST, true,
			"users to enroll (a,b,c; may repeat)" } } },
	{ .name = "campaign-lead", .what = "leads attached to a campaign",
	  .path = CAMP "/campaign-lead",
	  .item_opt = "lead", .item_key = "leadId", .item_type = FT_ID,
	  .item_help = "the attached lead", .show_by_list = true,
	  .columns = { "campaignLeadId", "campaignId", "leadId", "priority", "enabled" },
	  .create = { { "lead", "leadId", FT_ID, true, "the lead to attach (of the same process)" },
		      { "priority", "priority", FT_INT, false, "1 to " NUMSTR(CMS_PRIORITY_MAX) " (default 1)" },
		      { "enabled", "enabled", FT_BOOL, false, "true or false (default true)" } } },
};

#define NRES (sizeof(resources) / sizeof(resources[0]))

enum action { CREATE, LIST, SHOW, DELETE };

static const char *const action_names[] = { "create", "list", "show", "delete" };

static const struct resource *find(const char *name)
{
	size_t i;

	for (i = 0; i < NRES; i++)
		if (!strcmp(resources[i].name, name))
			return &resources[i];
	return NULL;
}

bool resource_known(const char *name)
{
	return find(name) != NULL;
}

void resource_summary(FILE *f)
{
	size_t i;

	for (i = 0; i < NRES; i++) {
		char left[64];

		snprintf(left, sizeof(left), "%s", resources[i].name);
		fprintf(f, "  %-24s create|list|show|delete: %s\n", left, resources[i].what);
	}
}

/* ---- options ---- */

static const char *arg_of(enum ftype t)
{
	switch (t) {
	case FT_ID:
		return "ID";
	case FT_INT:
		return "N";
	case FT_BOOL:
		return "BOOL";
	case FT_LIST:
		return "USERS";
	default:
		return "TEXT";
	}
}

/* Call fn for each {name} of the path template. */
static void path_ids(const struct resource *res, void (*fn)(void *ctx, const char *name,
							   size_t len),
		     void *ctx)
{
	const char *p = res->path;

	while ((p = strchr(p, '{'))) {
		const char *end = strchr(p, '}');

		fn(ctx, p + 1, (size_t)(end - p - 1));
		p = end + 1;
	}
}

/* The parent ids a path template may name, as options. */
static const struct {
	const char *name;
	const char *help;
} parent_ids[] = {
	{ "cc", "the contact center" },
	{ "process", "the process" },
	{ "campaign", "the campaign" },
};

/* The entry of parent_ids named by the len bytes at name, or -1. */
static int parent_id(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(parent_ids) / sizeof(parent_ids[0]); i++)
		if (strlen(parent_ids[i].name) == len && !strncmp(parent_ids[i].name, name, len))
			return (int)i;
	return -1;
}

static const char *id_name(const char *name, size_t len)
{
	int i = parent_id(name, len);

	return i < 0 ? NULL : parent_ids[i].name;
}

static void allow_id(void *ctx, const char *name, size_t len)
{
	int i = parent_id(name, len);

	if (i >= 0)
		opts_allow_one(ctx, parent_ids[i].name, OPT_VALUE, "ID", parent_ids[i].help);
}

static void allow_options(struct opts *o, const struct resource *res, enum action a)
{
	size_t i;

	path_ids(res, allow_id, o);
	if (a == SHOW || a == DELETE)
		opts_allow_one(o, res->item_opt, OPT_VALUE, arg_of(res->item_type),
			       res->item_help);
	if (a == LIST) {
		opts_allow_one(o, "limit", OPT_VALUE, "N",
			       "one page of N items (1-" NUMSTR(CMS_PAGE_MAX) "); default: all pages");
		opts_allow_one(o, "offset", OPT_VALUE, "N", "skip the first N items");
	}
	if (a == CREATE)
		for (i = 0; res->create[i].opt; i++)
			opts_allow_one(o, res->create[i].opt,
				       res->create[i].type == FT_LIST ? OPT_LIST : OPT_VALUE,
				       arg_of(res->create[i].type), res->create[i].help);
}

static void usage_id(void *ctx, const char *name, size_t len)
{
	strbuf_addf(ctx, " --%.*s ID", (int)len, name);
}

static void usage_line(struct strbuf *sb, const struct resource *res, enum action a)
{
	size_t i;

	strbuf_addf(sb, "cmsctl %s %s", res->name, action_names[a]);
	path_ids(res, usage_id, sb);
	if (a == SHOW || a == DELETE)
		strbuf_addf(sb, " --%s %s", res->item_opt, arg_of(res->item_type));
	if (a == LIST)
		strbuf_addstr(sb, " [--limit N] [--offset N]");
	if (a == CREATE)
		for (i = 0; res->create[i].opt; i++)
			strbuf_addf(sb, " %s--%s %s%s", res->create[i].required ? "" : "[",
				    res->create[i].opt, arg_of(res->create[i].type),
				    res->create[i].required ? "" : "]");
}

static void help(const struct resource *res, int a, FILE *f)
{
	struct strbuf sb = STRBUF_INIT;
	struct opts o = OPTS_INIT;
	int i;

	for (i = 0; i <= DELETE; i++) {
		if (a >= 0 && i != a)
			continue;
		strbuf_reset(&sb);
		usage_line(&sb, res, (enum action)i);
		fprintf(f, "%s%s\n", i == a || (a < 0 && !i) ? "usage: " : "       ", sb.buf);
	}
	fprintf(f, "\n%s: %s.\n", res->name, res->what);
	if (a >= 0) {
		allow_options(&o, res, (enum action)a);
		fprintf(f, "\nOptions:\n");
		opts_help(f, &o);
		if (a == SHOW && res->show_by_list)
			fprintf(f, "\n(The API has no GET of one item here: show looks it up in "
				   "the list.)\n");
	}
	strbuf_release(&sb);
	opts_release(&o);
}

/* ---- building the request ---- */

struct build {
	struct cli *cli;
	const struct opts *o;
	struct strbuf *path;
	int rc;
};

static void build_id(void *ctx, const char *name, size_t len)
{
	struct build *b = ctx;
	const char *n = id_name(name, len);
	int64_t id;

	if (b->rc)
		return;
	if (!n) {
		/* a template names an id option that id_name does not know */
		b->rc = cli_usage(b->cli, "internal error: unknown id {%.*s}", (int)len, name);
		return;
	}
	b->rc = cli_id_option(b->cli, b->o, n, true, &id);
	if (!b->rc)
		strbuf_addf(b->path, "/%lld", (long long)id);
}

/* The collection path with its ids filled in from the options. */
static int collection_path(struct cli *cli, const struct resource *res, const struct opts *o,
			   struct strbuf *path)
{
	struct build b = { cli, o, path, EXIT_OK };
	const char *p = res->path;

	while (*p && !b.rc) {
		const char *open = strchr(p, '{'), *end;

		if (!open) {
			strbuf_addstr(path, p);
			break;
		}
		/* the text up to "/{", then "/<id>" */
		strbuf_add(path, p, (size_t)(open - p - 1));
		end = strchr(open, '}');
		build_id(&b, open + 1, (size_t)(end - open - 1));
		p = end + 1;
	}
	return b.rc;
}

#define ID_BUF 24 /* a 64-bit id in decimal, and its NUL */

/*
 * The item's id option, checked: *id points into the options, or for a
 * numeric id to its plain decimal form in buf ("007" is 7), so that a show
 * that looks it up in a list finds it.
 */
static int item_id(struct cli *cli, const struct resource *res, const struct opts *o,
		   char buf[ID_BUF], const char **id)
{
	int64_t v;

	*id = opts_get(o, res->item_opt);
	if (!*id || !**id)
		return cli_usage(cli, "--%s %s is required", res->item_opt, arg_of(res->item_type));
	if (res->item_type == FT_ID) {
		if (cli_parse_id(*id, &v))
			return cli_usage(cli, "--%s must be a positive integer, not '%s'",
					 res->item_opt, *id);
		snprintf(buf, ID_BUF, "%lld", (long long)v);
		*id = buf;
	}
	return EXIT_OK;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "1", "on" };
	static const char *const no[] = { "false", "no", "0", "off" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i]))
			return *out = true, 0;
		if (!strcasecmp(s, no[i]))
			return *out = false, 0;
	}
	return -1;
}

/* One create field from the options into body. */
static int add_field(struct cli *cli, const struct field *f, const struct opts *o, json_t *body)
{
	const char *v = opts_get(o, f->opt);
	char **items = NULL, *end;
	size_t n, i;
	int64_t id;
	long long num;
	bool flag;
	json_t *arr;

	if (f->type == FT_LIST) {
		n = opts_items(o, f->opt, &items);
		if (!n && f->required)
			return cli_usage(cli, "--%s %s is required", f->opt, arg_of(f->type));
		arr = json_array();
		for (i = 0; i < n; i++) {
			json_array_append_new(arr, json_string(items[i]));
			free(items[i]);
		}
		free(items);
		json_object_set_new(body, f->key, arr);
		return EXIT_OK;
	}
	if (!v)
		return f->required ? cli_usage(cli, "--%s %s is required", f->opt, arg_of(f->type))
				   : EXIT_OK;
	switch (f->type) {
	case FT_ID:
		if (cli_parse_id(v, &id))
			return cli_usage(cli, "--%s must be a positive integer, not '%s'", f->opt, v);
		json_object_set_new(body, f->key, json_integer(id));
		break;
	case FT_INT:
		num = strtoll(v, &end, 10);
		if (end == v || *end)
			return cli_usage(cli, "--%s must be an integer, not '%s'", f->opt, v);
		json_object_set_new(body, f->key, json_integer(num));
		break;
	case FT_BOOL:
		if (parse_bool(v, &flag))
			return cli_usage(cli, "--%s must be true or false, not '%s'", f->opt, v);
		json_object_set_new(body, f->key, json_boolean(flag));
		break;
	default:
		json_object_set_new(body, f->key, json_string(v));
		break;
	}
	return EXIT_OK;
}

/* ---- the four actions ---- */

/* A successful answer for people: a list as a table, an object as lines. */
static void show_answer(const struct cli *cli, const struct resource *res,
			const struct response *r)
{
	if (r->printed)
		return;
	if (cli->json)
		output_raw(stdout, &r->body);
	else if (json_is_array(r->json))
		output_table(stdout, r->json, res->columns);
	else if (r->json)
		output_object(stdout, r->json, NULL);
}

/* The body of create from the options; EXIT_USAGE when one is wrong. */
static int create_body(struct cli *cli, const struct resource *res, const struct opts *o,
		       json_t **body)
{
	size_t i;
	int rc = EXIT_OK;

	*body = json_object();
	for (i = 0; res->create[i].opt && !rc; i++)
		rc = add_field(cli, &res->create[i], o, *body);
	return rc;
}

static int create(struct cli *cli, const struct resource *res, struct client *c,
		  const char *path, json_t *body)
{
	struct response r = RESPONSE_INIT;
	int rc;

	rc = client_request(c, "POST", path, body, &r);
	if (rc)
		response_report(&r, cli->json);
	else
		show_answer(cli, res, &r);
	response_release(&r);
	return rc;
}

static void print_rows(const json_t *rows, const void *arg)
{
	const struct resource *res = arg;

	output_table(stdout, rows, res->columns);
}

static int list(struct cli *cli, const struct resource *res, const struct opts *o,
		struct client *c, const char *path)
{
	return cli_show_list(cli, c, path, o, print_rows, res);
}

/* The row of rows whose item key holds id, or NULL. */
static json_t *find_row(const struct resource *res, json_t *rows, const char *id)
{
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row) {
		json_t *v = json_object_get(row, res->item_key);
		char *cell = output_cell(v);
		bool same = !strcmp(cell, id);

		free(cell);
		if (same)
			return row;
	}
	return NULL;
}

static int show_from_list(struct cli *cli, const struct resource *res, struct client *c,
			  const char *path, const char *id)
{
	struct response r = RESPONSE_INIT;
	json_t *rows = NULL, *row;
	bool single;
	int rc;

	rc = cli_get_list(cli, c, path, NULL, NULL, &rows, &single, &r);
	if (rc) {
		response_report(&r, cli->json);
		goto out;
	}
	if (!rows)
		goto out;
	row = find_row(res, rows, id);
	if (!row) {
		fprintf(stderr, "cmsctl: %s %s not found\n", res->name, id);
		rc = EXIT_API;
	} else if (cli->json) {
		output_json(stdout, row);
	} else {
		output_object(stdout, row, NULL);
	}
out:
	json_decref(rows);
	response_release(&r);
	return rc;
}

static int item(struct cli *cli, const struct resource *res, const struct opts *o,
		struct client *c, struct strbuf *path, enum action a)
{
	struct response r = RESPONSE_INIT;
	const char *id;
	char *esc, buf[ID_BUF];
	int rc;

	rc = item_id(cli, res, o, buf, &id);
	if (rc)
		return rc;
	if (a == SHOW && res->show_by_list)
		return show_from_list(cli, res, c, path->buf, id);
	esc = client_escape(id);
	strbuf_addf(path, "/%s", esc);
	free(esc);
	rc = client_request(c, a == SHOW ? "GET" : "DELETE", path->buf, NULL, &r);
	if (rc)
		response_report(&r, cli->json);
	else if (a == SHOW)
		show_answer(cli, res, &r);
	else if (!r.printed && !cli->json)
		printf("deleted %s %s\n", res->name, id);
	response_release(&r);
	return rc;
}

int cmd_resource(struct cli *cli, int argc, char **argv)
{
	const struct resource *res = find(argv[0]);
	struct opts o = OPTS_INIT;
	struct strbuf path = STRBUF_INIT;
	struct client *c;
	const char *id;
	char buf[ID_BUF];
	json_t *body = NULL;
	int a = -1, i, rc;

	if (argc >= 2)
		for (i = 0; i <= DELETE; i++)
			if (!strcmp(argv[1], action_names[i]))
				a = i;
	if (a < 0 && (argc < 2 || argv[1][0] == '-')) {
		help(res, -1, cli->help ? stdout : stderr);
		return cli->help ? EXIT_OK : EXIT_USAGE;
	}
	if (a < 0)
		return cli_usage(cli, "unknown %s command '%s' (create, list, show or delete)",
				 res->name, argv[1]);
	snprintf(cli->command, sizeof(cli->command), "%s %s", res->name, action_names[a]);
	if (cli->help) {
		help(res, a, stdout);
		return EXIT_OK;
	}
	allow_options(&o, res, (enum action)a);
	rc = cli_parse(cli, &o, argc - 2, argv + 2);
	if (!rc && o.npos)
		rc = cli_usage(cli, "unexpected argument '%s'", o.pos[0]);
	if (!rc)
		rc = collection_path(cli, res, &o, &path);
	if (!rc && (a == SHOW || a == DELETE))
		rc = item_id(cli, res, &o, buf, &id);
	if (!rc && a == CREATE)
		rc = create_body(cli, res, &o, &body);
	if (!rc)
		rc = cli_connect(cli, AUTH_REQUIRED, &c);
	if (rc)
		goto out;
	if (a == CREATE)
		rc = create(cli, res, c, path.buf, body);
	else if (a == LIST)
		rc = list(cli, res, &o, c, path.buf);
	else
		rc = item(cli, res, &o, c, &path, (enum action)a);
out:
	json_decref(body);
	strbuf_release(&path);
	opts_release(&o);
	return rc;
}
