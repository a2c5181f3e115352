/*
 * cmd_mapping.c - `cmsctl mapping set|get|import|watch`: the lead-user
 * mapping of API.md §3.  set is one PUT; get reads one lead or lists a
 * campaign's (or every) lead; a lead the server does not find in the
 * campaign is explained by explain.c (not attached, or no such lead).
 * import lives in cmd_import.c, watch in cmd_watch.c.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "explain.h"
#include "output.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define MAPPING "/voice/campaignLeadUserMapping"

struct mapping_opts {
	int64_t campaign;         /* 0: not given */
	int64_t lead;
	struct opt_list assign;   /* set */
	struct opt_list unassign;
	struct page page;         /* get */
};

#define M(kind, field) BIND_##kind(struct mapping_opts, field)

static const struct option set_options[] = {
	{ "campaign", M(ID, campaign), .arg = "ID", .required = true, .help = "the campaign" },
	{ "lead", M(ID, lead), .arg = "ID", .required = true,
	  .help = "the lead (list) attached to it" },
	{ "assign", M(LIST, assign), .arg = "USERS",
	  .help = "user ids to map to the lead (a,b,c; may repeat)" },
	{ "unassign", M(LIST, unassign), .arg = "USERS", .help = "user ids to unmap from the lead" },
	OPT_END,
};

static const struct option get_options[] = {
	{ "campaign", M(ID, campaign), .arg = "ID",
	  .help = "the campaign (without: every lead you can see)" },
	{ "lead", M(ID, lead), .arg = "ID", .help = "one lead of the campaign" },
	CLI_PAGE_OPTIONS(struct mapping_opts, page, "leads"),
	OPT_END,
};

/* A JSON array of the items of l. */
static json_t *string_array(const struct opt_list *l)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	return a;
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

/* A successful answer holding one mapping (nothing when only printed),
 * then the feed position it was read at, when it carries one. */
static void show_mapping(const struct cli *cli, const struct response *r)
{
	if (r->printed)
		return;
	if (cli->json)
		output_raw(stdout, &r->body);
	else
		print_mapping(r->json);
	cli_print_cursor(response_header(r, CLI_CURSOR_HEADER));
}

static int set(struct cli *cli, const struct call *call)
{
	const struct mapping_opts *o = call->opts;
	struct response r = RESPONSE_INIT;
	struct client *c;
	json_t *body = NULL;
	int rc;

	if (!o->assign.n && !o->unassign.n)
		return cli_usage(cli, "nothing to do: give --assign USERS and/or --unassign USERS");
	rc = cli_connect(cli, AUTH_REQUIRED, &c);
	if (rc)
		return rc;
	body = json_pack("{s:I, s:I, s:o, s:o}", "leadId", (json_int_t)o->lead, "campaignId",
			 (json_int_t)o->campaign, "assignedUserIds", string_array(&o->assign),
			 "unassignedUserIds", string_array(&o->unassign));
	rc = client_request(c, "PUT", MAPPING, body, &r);
	if (rc) {
		cli_report(cli, &r);
		explain_report(cli, &r, o->campaign, o->lead);
	} else
		show_mapping(cli, &r);
	json_decref(body);
	response_release(&r);
	return rc;
}

static int get(struct cli *cli, const struct call *call)
{
	const struct mapping_opts *o = call->opts;
	struct response r = RESPONSE_INIT;
	struct strbuf path = STRBUF_INIT;
	struct client *c;
	int rc = EXIT_OK;

	if (o->lead && !o->campaign)
		rc = cli_usage(cli, "--lead needs --campaign");
	else if (o->lead && (o->page.limit.given || o->page.offset.given))
		rc = cli_usage(cli, "--limit and --offset page lists, not one lead");
	if (!rc)
		rc = cli_connect(cli, AUTH_REQUIRED, &c);
	if (rc)
		goto out;
	strbuf_addstr(&path, MAPPING);
	if (o->campaign)
		strbuf_addf(&path, "?campaignId=%lld", (long long)o->campaign);
	if (o->lead) {
		strbuf_addf(&path, "&leadId=%lld", (long long)o->lead);
		rc = client_request(c, "GET", path.buf, NULL, &r);
		if (rc) {
			cli_report(cli, &r);
			explain_report(cli, &r, o->campaign, o->lead);
		} else
			show_mapping(cli, &r);
		goto out;
	}
	rc = cli_show_list(cli, c, path.buf, &o->page, print_mappings, NULL);
out:
	strbuf_release(&path);
	response_release(&r);
	return rc;
}

static const struct command set_cmd = {
	.name = "set",
	.summary = "assign and unassign users of one lead",
	.about = "Assign and unassign users of one lead, all or nothing: the users must be\n"
		 "campaign users of the campaign, and none may be in both lists.  When the\n"
		 "server does not find the lead in the campaign, cmsctl asks which it is:\n"
		 "not attached (and the command that attaches it), of another process, or\n"
		 "no such lead in the contact center.",
	.run = set,
	.options = set_options,
	.opts_size = sizeof(struct mapping_opts),
};

static const struct command get_cmd = {
	.name = "get",
	.summary = "one lead's mapping, or one line per lead",
	.synopsis = "[--campaign ID [--lead ID]] [--limit N] [--offset N]",
	.about = "Show one lead's mapping (every campaign user, assigned or not), or one\n"
		 "line per lead of a campaign, or of every campaign you can see.\n\n"
		 "When the server says at which change-feed position it read the mapping\n"
		 "(X-Change-Cursor), a line 'cursor: C' follows on stderr: 'cmsctl mapping\n"
		 "watch --after C' then prints every later change exactly once.  Over\n"
		 "several pages it is the first page's, so that nothing is missed.",
	.run = get,
	.options = get_options,
	.opts_size = sizeof(struct mapping_opts),
};

static const struct command import_cmd = {
	.name = "import",
	.summary = "apply a CSV file of campaignId,leadId,userId,action rows",
	.operands = "FILE.csv",
	.about = "Apply a CSV file with the header campaignId,leadId,userId,action (action\n"
		 "assign or unassign; '-' reads stdin):\n\n"
		 "  campaignId,leadId,userId,action\n"
		 "  1,2,anav_agent,assign\n"
		 "  1,2,exe_gs,unassign\n\n"
		 "Rows of one lead go in as few PUTs as possible; the good rows are applied\n"
		 "even when others fail; when a lead's user appears in several rows, the last\n"
		 "row decides.  A PUT the server could not take just then (429, 503, no\n"
		 "answer) is sent again after a wait.  Each failed row is reported as\n"
		 "'line L: reason' on stderr, then 'N rows applied, M failed'; the exit code\n"
		 "is 1 when any row failed.  --json prints that report as JSON.\n\n"
		 "A failure every later PUT would meet - no answer, the token refused (401),\n"
		 "the role refused (403), a server still busy after its tries again - stops\n"
		 "the import: one message says at which line and why, how many rows were not\n"
		 "sent, and what to do; the import is idempotent, so running it again after\n"
		 "that finishes it.  Exit 3 when no answer came, 4 when the token was refused.",
	.run = mapping_import,
};

static const struct command *const mapping_commands[] = { &set_cmd, &get_cmd, &import_cmd,
							  &cmd_mapping_watch, NULL };

const struct command cmd_mapping = {
	.name = "mapping",
	.summary = "lead-user mapping: set, get, import FILE.csv, watch",
	.about = "Which campaign users may work which lead (list) of a campaign.",
	.subs = mapping_commands,
};
