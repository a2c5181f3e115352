/*
 * cmd_mapping.c - `cmsctl mapping set|get|import`: the lead-user mapping of
 * API.md §3.  set is one PUT; get reads one lead or lists a campaign's (or
 * every) lead; import lives in cmd_import.c.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define MAPPING "/voice/campaignLeadUserMapping"

struct sub {
	const char *name;
	int (*run)(struct cli *cli, struct opts *o);
	const struct optspec *options;
	const char *usage; /* after "cmsctl mapping " */
	const char *about;
};

static const struct optspec set_options[] = {
	{ "campaign", OPT_VALUE, "ID", "the campaign" },
	{ "lead", OPT_VALUE, "ID", "the lead (list) attached to it" },
	{ "assign", OPT_LIST, "USERS", "user ids to map to the lead (a,b,c; may repeat)" },
	{ "unassign", OPT_LIST, "USERS", "user ids to unmap from the lead" },
	{ NULL, OPT_FLAG, NULL, NULL },
};

static const struct optspec get_options[] = {
	{ "campaign", OPT_VALUE, "ID", "the campaign (without: every lead you can see)" },
	{ "lead", OPT_VALUE, "ID", "one lead of the campaign" },
	{ "limit", OPT_VALUE, "N",
	  "one page of N leads (1-" NUMSTR(CMS_PAGE_MAX) "); default: all pages" },
	{ "offset", OPT_VALUE, "N", "skip the first N leads" },
	{ NULL, OPT_FLAG, NULL, NULL },
};

static const struct optspec import_options[] = {
	{ NULL, OPT_FLAG, NULL, NULL },
};

/* A JSON array of the n strings of v. */
static json_t *string_array(char **v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static void free_items(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* One side ("assigned"/"unassigned") of a mapping object as table rows. */
static void add_side(json_t *rows, const json_t *obj, const char *side)
{
	char ids[40], cids[40];
	json_t *u, *cu;
	size_t i;

	snprintf(ids, sizeof(ids), "%sUserIds", side);
	snprintf(cids, sizeof(cids), "%sCampaignUserIds", side);
	u = json_object_get(obj, ids);
	cu = json_object_get(obj, cids);
	for (i = 0; i < json_array_size(u); i++)
		json_array_append_new(rows, json_pack("{s:O, s:O, s:s}", "userId", json_array_get(u, i),
						      "campaignUserId",
						      json_array_get(cu, i) ? json_array_get(cu, i)
									    : json_null(),
						      "mapping", side));
}

/* A mapping object for people: which lead, then one user per line. */
static void print_mapping(const json_t *obj)
{
	static const char *const cols[] = { "userId", "campaignUserId", "mapping", NULL };
	json_t *rows = json_array();
	char *camp = output_cell(json_object_get(obj, "campaignId"));
	char *lead = output_cell(json_object_get(obj, "leadId"));
	char *cl = output_cell(json_object_get(obj, "campaignLeadId"));

	printf("campaign %s, lead %s (campaign lead %s)\n", camp, lead, cl);
	add_side(rows, obj, "assigned");
	add_side(rows, obj, "unassigned");
	output_table(stdout, rows, cols);
	free(camp);
	free(lead);
	free(cl);
	json_decref(rows);
}

/* Several leads' mappings, one line per lead. */
static void print_mappings(const json_t *list, const void *arg)
{
	static const char *const cols[] = { "campaignId", "leadId", "campaignLeadId", "assigned",
					    "unassigned", "assignedUserIds", NULL };
	json_t *rows = json_array(), *o;
	size_t i;

	(void)arg;
	json_array_foreach((json_t *)list, i, o)
		json_array_append_new(
			rows, json_pack("{s:O, s:O, s:O, s:I, s:I, s:O}", "campaignId",
					json_object_get(o, "campaignId"), "leadId",
					json_object_get(o, "leadId"), "campaignLeadId",
					json_object_get(o, "campaignLeadId"), "assigned",
					(json_int_t)json_array_size(json_object_get(o, "assignedUserIds")),
					"unassigned",
					(json_int_t)json_array_size(json_object_get(o, "unassignedUserIds")),
					"assignedUserIds", json_object_get(o, "assignedUserIds")));
	output_table(stdout, rows, cols);
	json_decref(rows);
}

/* A successful answer holding one mapping (nothing when only printed). */
static void show_mapping(const struct cli *cli, const struct response *r)
{
	if (r->printed)
		return;
	if (cli->json)
		output_raw(stdout, &r->body);
	else
		print_mapping(r->json);
}

static int set(struct cli *cli, struct opts *o)
{
	struct response r = RESPONSE_INIT;
	struct client *c;
	char **as = NULL, **un = NULL;
	size_t na = 0, nu = 0;
	int64_t campaign, lead;
	json_t *body = NULL;
	int rc;

	rc = cli_id_option(cli, o, "campaign", true, &campaign);
	if (!rc)
		rc = cli_id_option(cli, o, "lead", true, &lead);
	if (rc)
		goto out;
	na = opts_items(o, "assign", &as);
	nu = opts_items(o, "unassign", &un);
	if (!na && !nu) {
		rc = cli_usage(cli, "nothing to do: give --assign USERS and/or --unassign USERS");
		goto out;
	}
	rc = cli_connect(cli, AUTH_REQUIRED, &c);
	if (rc)
		goto out;
	body = json_pack("{s:I, s:I, s:o, s:o}", "leadId", (json_int_t)lead, "campaignId",
			 (json_int_t)campaign, "assignedUserIds", string_array(as, na),
			 "unassignedUserIds", string_array(un, nu));
	rc = client_request(c, "PUT", MAPPING, body, &r);
	if (rc)
		response_report(&r, cli->json);
	else
		show_mapping(cli, &r);
out:
	json_decref(body);
	free_items(as, na);
	free_items(un, nu);
	response_release(&r);
	return rc;
}

static int get(struct cli *cli, struct opts *o)
{
	struct response r = RESPONSE_INIT;
	struct strbuf path = STRBUF_INIT;
	struct client *c;
	int64_t campaign, lead;
	int rc;

	rc = cli_id_option(cli, o, "campaign", false, &campaign);
	if (!rc)
		rc = cli_id_option(cli, o, "lead", false, &lead);
	if (!rc && lead && !campaign)
		rc = cli_usage(cli, "--lead needs --campaign");
	if (!rc && lead && (opts_has(o, "limit") || opts_has(o, "offset")))
		rc = cli_usage(cli, "--limit and --offset page lists, not one lead");
	if (!rc)
		rc = cli_connect(cli, AUTH_REQUIRED, &c);
	if (rc)
		goto out;
	strbuf_addstr(&path, MAPPING);
	if (campaign)
		strbuf_addf(&path, "?campaignId=%lld", (long long)campaign);
	if (lead) {
		strbuf_addf(&path, "&leadId=%lld", (long long)lead);
		rc = client_request(c, "GET", path.buf, NULL, &r);
		if (rc)
			response_report(&r, cli->json);
		else
			show_mapping(cli, &r);
		goto out;
	}
	rc = cli_show_list(cli, c, path.buf, o, print_mappings, NULL);
out:
	strbuf_release(&path);
	response_release(&r);
	return rc;
}

static const struct sub subs[] = {
	{ "set", set, set_options, "set --campaign ID --lead ID [--assign USERS] [--unassign USERS]",
	  "Assign and unassign users of one lead, all or nothing: the users must be\n"
	  "campaign users of the campaign, and none may be in both lists." },
	{ "get", get, get_options, "get [--campaign ID [--lead ID]] [--limit N] [--offset N]",
	  "Show one lead's mapping (every campaign user, assigned or not), or one\n"
	  "line per lead of a campaign, or of every campaign you can see." },
	{ "import", NULL, import_options, "import FILE.csv",
	  "Apply a CSV file with the header campaignId,leadId,userId,action (action\n"
	  "assign or unassign; '-' reads stdin):\n\n"
	  "  campaignId,leadId,userId,action\n"
	  "  1,2,anav_agent,assign\n"
	  "  1,2,exe_gs,unassign\n\n"
	  "Rows of one lead go in as few PUTs as possible; the good rows are applied\n"
	  "even when others fail; when a lead's user appears in several rows, the last\n"
	  "row decides.  A PUT the server could not take just then (429, 503, no\n"
	  "answer) is sent again after a wait.  Each failed row is reported as\n"
	  "'line L: reason' on stderr, then 'N rows applied, M failed'; the exit code\n"
	  "is 1 when any row failed.  --json prints that report as JSON." },
};

#define NSUBS (sizeof(subs) / sizeof(subs[0]))

static void group_help(FILE *f)
{
	size_t i;

	fprintf(f, "usage: cmsctl mapping COMMAND [options]\n\n"
		   "Which campaign users may work which lead (list) of a campaign.\n\n");
	for (i = 0; i < NSUBS; i++)
		fprintf(f, "  cmsctl mapping %s\n", subs[i].usage);
	fprintf(f, "\n'cmsctl mapping COMMAND --help' for more.\n");
}

int cmd_mapping(struct cli *cli, int argc, char **argv)
{
	struct opts o = OPTS_INIT;
	const struct sub *s = NULL;
	size_t i;
	int rc;

	if (argc < 2 || argv[1][0] == '-') {
		group_help(cli->help ? stdout : stderr);
		return cli->help ? EXIT_OK : EXIT_USAGE;
	}
	for (i = 0; i < NSUBS; i++)
		if (!strcmp(subs[i].name, argv[1]))
			s = &subs[i];
	if (!s)
		return cli_usage(cli, "unknown mapping command '%s' (set, get or import)", argv[1]);
	snprintf(cli->command, sizeof(cli->command), "mapping %s", s->name);
	opts_allow(&o, s->options);
	if (cli->help) {
		printf("usage: cmsctl mapping %s\n\n%s\n", s->usage, s->about);
		if (o.n) {
			printf("\nOptions:\n");
			opts_help(stdout, &o);
		}
		rc = EXIT_OK;
		goto out;
	}
	rc = cli_parse(cli, &o, argc - 2, argv + 2);
	if (rc)
		goto out;
	if (s->run && o.npos) {
		rc = cli_usage(cli, "unexpected argument '%s'", o.pos[0]);
		goto out;
	}
	rc = s->run ? s->run(cli, &o) : mapping_import(cli, &o);
out:
	opts_release(&o);
	return rc;
}
