/*
 * cmd_resources.c - `cmsctl RESOURCE create|list|show|delete` for the
 * set-up resources of API.md §4, all through one generic code path driven
 * by the table below: where a resource lives (a path template whose {x}
 * parts are the id options it needs), which option names one item, what
 * create sends, and which columns a list shows.  Every resource is a group
 * of the same four command rows (create, list, show, delete), whose options
 * are made from its resource and bound to struct res_opts; user has a fifth,
 * assignments (what the user may work, API.md §8).  Adding a resource
 * is adding a resource and a command row, and a pointer to it in main.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "output.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

/* Every option of every resource action, bound: an option name always
 * fills the same field, whichever resource and action it is given to. */
struct res_opts {
	int64_t cc, process, campaign; /* ids of the path, or of the item (cc show) */
	int64_t lead;                  /* an item, or the lead to attach */
	const char *user_id;           /* an item, or the login of user create */
	const char *name, *role, *user_password;
	struct opt_list user_ids;
	struct opt_int priority;
	struct opt_bool enabled;
	struct page page;
};

#define R(kind, field) BIND_##kind(struct res_opts, field)

/* The option naming one item (show, delete), never empty. */
#define ITEM(opt, kind, field, arg_, help_)                                                  \
	{ opt, R(kind, field), .arg = arg_, .required = true, .nonempty = true, .help = help_ }

struct field {
	struct option opt; /* the option of create */
	const char *key;   /* the JSON key it fills */
};

#define MAX_FIELDS 5
#define MAX_COLS 6

struct resource {
	const char *path;     /* collection path below /cms/configuration */
	struct option item;   /* the option naming one item */
	const char *item_key; /* the JSON key of that id in an object */
	bool show_by_list;    /* no GET of one item: show looks it up in the list */
	const char *columns[MAX_COLS + 1];
	struct field create[MAX_FIELDS + 1];
};

/* The parent ids a path template may name, as options. */
static const struct option parent_ids[] = {
	{ "cc", R(ID, cc), .arg = "ID", .required = true, .help = "the contact center" },
	{ "process", R(ID, process), .arg = "ID", .required = true, .help = "the process" },
	{ "campaign", R(ID, campaign), .arg = "ID", .required = true, .help = "the campaign" },
	OPT_END,
};

#define CAMP "/cc/{cc}/process/{process}/campaign/{campaign}"

static const struct resource res_cc = {
	.path = "/cc",
	.item = ITEM("cc", ID, cc, "ID", "the contact center"), .item_key = "contactCenterId",
	.columns = { "contactCenterId", "name" },
	.create = { { { "name", R(STR, name), .arg = "TEXT", .required = true,
			.help = "the contact center's name" }, "name" } },
};

static const struct resource res_user = {
	.path = "/cc/{cc}/user",
	.item = ITEM("user-id", STR, user_id, "TEXT", "the user's login"), .item_key = "userId",
	.columns = { "userId", "name", "role", "contactCenterId" },
	.create = { { { "user-id", R(STR, user_id), .arg = "TEXT", .required = true,
			.help = "the login (A-Z a-z 0-9 . _ - @ +)" }, "userId" },
		    { { "name", R(STR, name), .arg = "TEXT", .required = true,
			.help = "the user's name" }, "name" },
		    { { "role", R(STR, role), .arg = "TEXT", .required = true,
			.help = "Administrator, Supervisor or Agent" }, "role" },
		    { { "user-password", R(STR, user_password), .arg = "TEXT",
			.help = NUMSTR(CMS_PASSWORD_MIN) " or more bytes; without one the user "
				"cannot log in" }, "password" } },
};

static const struct resource res_process = {
	.path = "/cc/{cc}/process",
	.item = ITEM("process", ID, process, "ID", "the process"), .item_key = "processId",
	.columns = { "processId", "processName", "contactCenterId" },
	.create = { { { "name", R(STR, name), .arg = "TEXT", .required = true,
			.help = "the process's name" }, "processName" } },
};

static const struct resource res_lead = {
	.path = "/cc/{cc}/process/{process}/lead",
	.item = ITEM("lead", ID, lead, "ID", "the lead"), .item_key = "leadId",
	.columns = { "leadId", "leadName", "processId" },
	.create = { { { "name", R(STR, name), .arg = "TEXT", .required = true,
			.help = "the lead list's name" }, "leadName" } },
};

static const struct resource res_campaign = {
	.path = "/cc/{cc}/process/{process}/campaign",
	.item = ITEM("campaign", ID, campaign, "ID", "the campaign"), .item_key = "campaignId",
	.columns = { "campaignId", "campaignName", "campaignType", "processId" },
	.create = { { { "name", R(STR, name), .arg = "TEXT", .required = true,
			.help = "the campaign's name" }, "campaignName" } },
};

static const struct resource res_campaign_user = {
	.path = CAMP "/campaign-user",
	.item = ITEM("user-id", STR, user_id, "TEXT", "the enrolled user's login"),
	.item_key = "userId", .show_by_list = true,
	.columns = { "campaignUserId", "userId", "campaignId" },
	.create = { { { "user-ids", R(LIST, user_ids), .arg = "USERS", .required = true,
			.help = "users to enroll (a,b,c; may repeat)" }, "userIds" } },
};

static const struct resource res_campaign_lead = {
	.path = CAMP "/campaign-lead",
	.item = ITEM("lead", ID, lead, "ID", "the attached lead"), .item_key = "leadId",
	.show_by_list = true,
	.columns = { "campaignLeadId", "campaignId", "leadId", "priority", "enabled" },
	.create = { { { "lead", R(ID, lead), .arg = "ID", .required = true,
			.help = "the lead to attach (of the same process)" }, "leadId" },
		    { { "priority", R(INT, priority), .arg = "N",
			.help = "1 to " NUMSTR(CMS_PRIORITY_MAX) " (default 1)" }, "priority" },
		    { { "enabled", R(BOOL, enabled), .arg = "BOOL",
			.help = "true or false (default true)" }, "enabled" } },
};

/* ---- options ---- */

/* The row of parent_ids named by the len bytes at name, or NULL. */
static const struct option *parent_id(const char *name, size_t len)
{
	const struct option *p;

	for (p = parent_ids; p->name; p++)
		if (strlen(p->name) == len && !strncmp(p->name, name, len))
			return p;
	return NULL;
}

/* The parent ids of res->path, in its order: where the options of every
 * action begin. */
static void allow_parents(struct opts *o, const void *data)
{
	const struct resource *res = data;
	const char *p = res->path;

	while ((p = strchr(p, '{'))) {
		const char *end = strchr(p, '}');
		const struct option *id = parent_id(p + 1, (size_t)(end - p - 1));

		if (id)
			opts_allow(o, id);
		p = end + 1;
	}
}

static void allow_item(struct opts *o, const void *data)
{
	const struct resource *res = data;

	allow_parents(o, data);
	opts_allow(o, &res->item);
}

static void allow_create(struct opts *o, const void *data)
{
	const struct resource *res = data;
	size_t i;

	allow_parents(o, data);
	for (i = 0; res->create[i].opt.name; i++)
		opts_allow(o, &res->create[i].opt);
}

/* ---- building the request ---- */

/* The field of o that row fills. */
static const void *field_of(const struct res_opts *o, const struct option *row)
{
	return (const char *)o + row->at;
}

/* The collection path with its ids filled in from the options. */
static int collection_path(struct cli *cli, const struct resource *res, const struct res_opts *o,
			   struct strbuf *path)
{
	const char *p = res->path;

	while (*p) {
		const char *open = strchr(p, '{'), *end;
		const struct option *id;

		if (!open) {
			strbuf_addstr(path, p);
			break;
		}
		/* the text up to "/{", then "/<id>" */
		strbuf_add(path, p, (size_t)(open - p - 1));
		end = strchr(open, '}');
		id = parent_id(open + 1, (size_t)(end - open - 1));
		if (!id)
			/* a template names an id that parent_ids does not know */
			return cli_usage(cli, "internal error: unknown id {%.*s}",
					 (int)(end - open - 1), open + 1);
		strbuf_addf(path, "/%lld", (long long)*(const int64_t *)field_of(o, id));
		p = end + 1;
	}
	return EXIT_OK;
}

#define ID_BUF 24 /* a 64-bit id in decimal, and its NUL */

/* The item's id as text: a numeric id in its plain decimal form ("007" is
 * 7, in buf), so that a show that looks it up in a list finds it. */
static const char *item_id(const struct resource *res, const struct res_opts *o, char buf[ID_BUF])
{
	const void *v = field_of(o, &res->item);

	if (res->item.kind != OPT_ID)
		return *(const char *const *)v;
	snprintf(buf, ID_BUF, "%lld", (long long)*(const int64_t *)v);
	return buf;
}

/* One create field from the options into body, when given (a list always). */
static void add_field(const struct field *f, const struct res_opts *o, json_t *body)
{
	const void *v = field_of(o, &f->opt);
	const struct opt_list *l = v;
	json_t *j = NULL;
	size_t i;

	switch (f->opt.kind) {
	case OPT_STR:
		if (*(const char *const *)v)
			j = json_string(*(const char *const *)v);
		break;
	case OPT_ID:
		if (*(const int64_t *)v)
			j = json_integer(*(const int64_t *)v);
		break;
	case OPT_INT:
		if (((const struct opt_int *)v)->given)
			j = json_integer(((const struct opt_int *)v)->v);
		break;
	case OPT_BOOL:
		if (((const struct opt_bool *)v)->given)
			j = json_boolean(((const struct opt_bool *)v)->v);
		break;
	case OPT_LIST:
		j = json_array();
		for (i = 0; i < l->n; i++)
			json_array_append_new(j, json_string(l->v[i]));
		break;
	case OPT_FLAG:
		break;
	}
	if (j)
		json_object_set_new(body, f->key, j);
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

/* The collection path of the call's resource, and the client: where every
 * action begins. */
static int begin(struct cli *cli, const struct call *call, struct strbuf *path,
		 struct client **c)
{
	int rc = collection_path(cli, call->data, call->opts, path);

	return rc ? rc : cli_connect(cli, AUTH_REQUIRED, c);
}

static int create(struct cli *cli, const struct call *call)
{
	const struct resource *res = call->data;
	struct response r = RESPONSE_INIT;
	struct strbuf path = STRBUF_INIT;
	json_t *body = json_object();
	struct client *c;
	size_t i;
	int rc;

	for (i = 0; res->create[i].opt.name; i++)
		add_field(&res->create[i], call->opts, body);
	rc = begin(cli, call, &path, &c);
	if (rc)
		goto out;
	rc = client_request(c, "POST", path.buf, body, &r);
	if (rc)
		cli_report(cli, &r);
	else
		show_answer(cli, res, &r);
out:
	json_decref(body);
	strbuf_release(&path);
	response_release(&r);
	return rc;
}

/* rows as a table of the columns arg (a NULL-ended array of keys). */
static void print_rows(const json_t *rows, const void *arg)
{
	output_table(stdout, rows, arg);
}

static int list(struct cli *cli, const struct call *call)
{
	const struct res_opts *o = call->opts;
	struct strbuf path = STRBUF_INIT;
	struct client *c;
	int rc;

	rc = begin(cli, call, &path, &c);
	if (!rc)
		rc = cli_show_list(cli, c, path.buf, &o->page, print_rows,
				   ((const struct resource *)call->data)->columns);
	strbuf_release(&path);
	return rc;
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

static int show_from_list(struct cli *cli, const struct call *call, struct client *c,
			  const char *path, const char *id)
{
	static const struct page every_page;
	struct response r = RESPONSE_INIT;
	json_t *rows = NULL, *row;
	bool single;
	int rc;

	rc = cli_get_list(c, path, &every_page, &rows, &single, &r, NULL);
	if (rc) {
		cli_report(cli, &r);
		goto out;
	}
	if (!rows)
		goto out;
	row = find_row(call->data, rows, id);
	if (!row) {
		fprintf(stderr, "cmsctl: %s %s not found\n", call->group->name, id);
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

/* show (GET) or delete (DELETE) one item. */
static int item(struct cli *cli, const struct call *call, bool show)
{
	const struct resource *res = call->data;
	struct response r = RESPONSE_INIT;
	struct strbuf path = STRBUF_INIT;
	struct client *c;
	char *esc, buf[ID_BUF];
	const char *id = item_id(res, call->opts, buf);
	int rc;

	rc = begin(cli, call, &path, &c);
	if (rc)
		goto out;
	if (show && res->show_by_list) {
		rc = show_from_list(cli, call, c, path.buf, id);
		goto out;
	}
	esc = client_escape(id);
	strbuf_addf(&path, "/%s", esc);
	free(esc);
	rc = client_request(c, show ? "GET" : "DELETE", path.buf, NULL, &r);
	if (rc)
		cli_report(cli, &r);
	else if (show)
		show_answer(cli, res, &r);
	else if (!r.printed && !cli->json)
		printf("deleted %s %s\n", call->group->name, id);
out:
	strbuf_release(&path);
	response_release(&r);
	return rc;
}

/* ---- what a user may work ---- */

static const char *const assignment_columns[] = {
	"campaignId", "campaignName", "leadId", "leadName", "campaignLeadId", "priority", "enabled",
	NULL,
};

/* `user assignments USERID`: GET .../user/{userId}/assignments, a list. */
static int assignments(struct cli *cli, const struct call *call)
{
	const struct res_opts *o = call->opts;
	struct strbuf path = STRBUF_INIT;
	struct client *c;
	char *esc;
	int rc;

	if (call->nargs != 1 || !call->args[0][0])
		return cli_usage(cli, "give one USERID");
	rc = begin(cli, call, &path, &c);
	if (!rc) {
		esc = client_escape(call->args[0]);
		strbuf_addf(&path, "/%s/assignments", esc);
		free(esc);
		rc = cli_show_list(cli, c, path.buf, &o->page, print_rows, assignment_columns);
	}
	strbuf_release(&path);
	return rc;
}

static int show(struct cli *cli, const struct call *call)
{
	return item(cli, call, true);
}

static int delete(struct cli *cli, const struct call *call)
{
	return item(cli, call, false);
}

/* ---- the command rows ---- */

static const struct option page_options[] = {
	CLI_PAGE_OPTIONS(struct res_opts, page, "items"),
	OPT_END,
};

static const struct command create_cmd = {
	.name = "create", .summary = "create one", .run = create, .allow = allow_create,
	.opts_size = sizeof(struct res_opts),
};

static const struct command list_cmd = {
	.name = "list", .summary = "list them: every page, or one with --limit and --offset",
	.run = list, .allow = allow_parents, .options = page_options,
	.opts_size = sizeof(struct res_opts),
};

static const struct command show_cmd = {
	.name = "show", .summary = "show one", .run = show, .allow = allow_item,
	.opts_size = sizeof(struct res_opts),
};

static const struct command delete_cmd = {
	.name = "delete", .summary = "delete one", .run = delete, .allow = allow_item,
	.opts_size = sizeof(struct res_opts),
};

static const struct option assignment_page_options[] = {
	CLI_PAGE_OPTIONS(struct res_opts, page, "campaign leads"),
	OPT_END,
};

static const struct command assignments_cmd = {
	.name = "assignments", .summary = "every campaign lead the user may work",
	.operands = "USERID",
	.about = "Every campaign lead USERID is mapped to (may work), by campaign then lead,\n"
		 "disabled ones too (enabled false).  An Agent may read its own only.  Then,\n"
		 "on stderr, 'cursor: C': 'cmsctl mapping watch --user-id USERID --after C'\n"
		 "follows the changes from there.",
	.run = assignments, .allow = allow_parents, .options = assignment_page_options,
	.opts_size = sizeof(struct res_opts),
};

/* The actions of every resource; the resource is the group's data. */
static const struct command *const actions[] = {
	&create_cmd, &list_cmd, &show_cmd, &delete_cmd, NULL,
};

static const struct command *const user_actions[] = {
	&create_cmd, &list_cmd, &show_cmd, &delete_cmd, &assignments_cmd, NULL,
};

#define NO_GET "\n(The API has no GET of one item here: show looks it up in the list.)"

/* A resource's group row: its actions (acts) and their words (verbs). */
#define RESOURCE_OF(word, res, verbs, acts, what, note)                                    \
	{ .name = word, .summary = verbs ": " what, .about = word ": " what "." note,       \
	  .subs = acts, .data = &res }

#define RESOURCE(word, res, what, note) \
	RESOURCE_OF(word, res, "create|list|show|delete", actions, what, note)

const struct command cmd_cc = RESOURCE("cc", res_cc,
	"contact centers (creating one needs the system administrator)", "");
const struct command cmd_user = RESOURCE_OF("user", res_user, "create|list|show|delete|assignments",
					    user_actions, "users of a contact center", "");
const struct command cmd_process = RESOURCE("process", res_process,
	"processes of a contact center", "");
const struct command cmd_lead = RESOURCE("lead", res_lead, "leads (lead lists) of a process", "");
const struct command cmd_campaign = RESOURCE("campaign", res_campaign,
	"voice campaigns of a process", "");
const struct command cmd_campaign_user = RESOURCE("campaign-user", res_campaign_user,
	"users enrolled in a campaign", NO_GET);
const struct command cmd_campaign_lead = RESOURCE("campaign-lead", res_campaign_lead,
	"leads attached to a campaign", NO_GET);
