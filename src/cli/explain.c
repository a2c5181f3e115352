/*
 * explain.c - "lead L: not found" made into what the user needs to know.
 * The mapping's PUT and GET answer 404 CONF-1001 naming the lead whether
 * it does not exist or is not attached to the campaign (API.md §3), and
 * the mapping names no contact center or process.  So, only after such an
 * answer:
 *
 * 1. Find the campaign: walk GET /cc, then each contact center's
 *    processes, asking GET .../process/P/campaign/C until one answers 200.
 *    The place (or that none was found) is kept in cli->places, so an
 *    import with many such leads walks once per campaign.  At most
 *    WALK_MAX requests: past that, or on any failed request, give up.
 * 2. GET the lead in the campaign's process: 200 means it exists but is
 *    not attached (say how to attach it).  Else GET it in the contact
 *    center's other processes: a lead of another process cannot be
 *    attached to the campaign; a lead in none does not exist there.
 */
#include "explain.h"

#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define WALK_MAX 64 /* requests spent looking for a campaign, at most */

/* Whether key of obj is the string s. */
static bool is(const json_t *obj, const char *key, const char *s)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v && !strcmp(v, s);
}

bool explain_names_lead(const struct response *r)
{
	json_t *d;
	size_t i;

	if (r->status != 404 || !is(r->json, "errorCode", "CONF-1001"))
		return false;
	json_array_foreach(json_object_get(r->json, "details"), i, d)
		if (is(d, "object", "lead"))
			return true;
	return false;
}

/* Every item of the list at path (all pages), or NULL when it failed;
 * *spent counts the requests. */
static json_t *all_of(struct client *c, const char *path, int *spent)
{
	struct response r = RESPONSE_INIT;
	struct page every;
	json_t *rows = NULL;
	bool single;

	memset(&every, 0, sizeof(every));
	++*spent;
	if (cli_get_list(c, path, &every, &rows, &single, &r, NULL)) {
		json_decref(rows);
		rows = NULL;
	}
	response_release(&r);
	return rows;
}

/* GET path: 1 when it answers 2xx, 0 on 404, -1 on anything else. */
static int exists(struct client *c, const char *path, int *spent)
{
	struct response r = RESPONSE_INIT;
	int rc;

	++*spent;
	rc = client_request(c, "GET", path, NULL, &r);
	rc = !rc ? 1 : r.status == 404 ? 0 : -1;
	response_release(&r);
	return rc;
}

/*
 * The contact center and process of campaign into place[0..1], walking
 * the lists (step 1).  Returns 1 when found, 0 when it is nowhere the
 * caller can see, -1 when the walk failed or was cut short.
 */
static int walk(struct client *c, int64_t campaign, int64_t place[2])
{
	struct strbuf path = STRBUF_INIT;
	json_t *ccs = NULL, *procs = NULL, *cc, *p;
	int spent = 0, found = 0;
	size_t i, j;

	ccs = all_of(c, "/cc", &spent);
	if (!ccs)
		found = -1;
	json_array_foreach(ccs, i, cc) {
		int64_t cc_id = json_integer_value(json_object_get(cc, "contactCenterId"));

		strbuf_reset(&path);
		strbuf_addf(&path, "/cc/%lld/process", (long long)cc_id);
		json_decref(procs);
		procs = spent < WALK_MAX ? all_of(c, path.buf, &spent) : NULL;
		if (!procs) {
			found = -1;
			break;
		}
		json_array_foreach(procs, j, p) {
			int64_t p_id = json_integer_value(json_object_get(p, "processId"));

			strbuf_reset(&path);
			strbuf_addf(&path, "/cc/%lld/process/%lld/campaign/%lld", (long long)cc_id,
				    (long long)p_id, (long long)campaign);
			found = spent < WALK_MAX ? exists(c, path.buf, &spent) : -1;
			if (found > 0)
				place[0] = cc_id, place[1] = p_id;
			if (found)
				goto out;
		}
	}
out:
	json_decref(procs);
	json_decref(ccs);
	strbuf_release(&path);
	return found;
}

/* The place of campaign, from cli->places or by a walk kept there. */
static int find_campaign(struct cli *cli, int64_t campaign, int64_t place[2])
{
	char key[32];
	json_t *known;
	int found;

	snprintf(key, sizeof(key), "%lld", (long long)campaign);
	if (!cli->places)
		cli->places = json_object();
	known = json_object_get(cli->places, key);
	if (json_is_array(known)) {
		place[0] = json_integer_value(json_array_get(known, 0));
		place[1] = json_integer_value(json_array_get(known, 1));
		return 1;
	}
	if (json_is_false(known))
		return 0;
	found = walk(cli->http, campaign, place);
	if (found >= 0)
		json_object_set_new(cli->places, key,
				    found ? json_pack("[I, I]", (json_int_t)place[0],
						      (json_int_t)place[1])
					  : json_false());
	return found;
}

/* The process of contact center cc other than skip that holds lead:
 * its id, 0 when none does, -1 when the lookups failed. */
static int64_t other_process(struct client *c, int64_t cc, int64_t skip, int64_t lead)
{
	struct strbuf path = STRBUF_INIT;
	json_t *procs, *p;
	int64_t found = 0;
	int spent = 0, e;
	size_t i;

	strbuf_addf(&path, "/cc/%lld/process", (long long)cc);
	procs = all_of(c, path.buf, &spent);
	if (!procs)
		found = -1;
	json_array_foreach(procs, i, p) {
		int64_t p_id = json_integer_value(json_object_get(p, "processId"));

		if (p_id == skip)
			continue;
		strbuf_reset(&path);
		strbuf_addf(&path, "/cc/%lld/process/%lld/lead/%lld", (long long)cc,
			    (long long)p_id, (long long)lead);
		e = spent < WALK_MAX ? exists(c, path.buf, &spent) : -1;
		if (e) {
			found = e > 0 ? p_id : -1;
			break;
		}
	}
	json_decref(procs);
	strbuf_release(&path);
	return found;
}

void explain_lead(struct cli *cli, int64_t campaign, int64_t lead, struct strbuf *sb)
{
	struct strbuf path = STRBUF_INIT;
	long long c = campaign, l = lead, cc = 0, p = 0;
	int64_t place[2] = { 0, 0 }, q = -1;
	int found = -1;
	int spent = 0;

	if (cli->http && !client_printing(cli->http) && find_campaign(cli, campaign, place) > 0) {
		cc = place[0], p = place[1];
		strbuf_addf(&path, "/cc/%lld/process/%lld/lead/%lld", cc, p, l);
		found = exists(cli->http, path.buf, &spent);
		if (!found)
			q = other_process(cli->http, place[0], place[1], lead);
	}
	if (found > 0)
		strbuf_addf(sb, "lead %lld exists but is not attached to campaign %lld; attach it "
			    "with 'cmsctl campaign-lead create --cc %lld --process %lld "
			    "--campaign %lld --lead %lld'", l, c, cc, p, c, l);
	else if (!found && q > 0)
		strbuf_addf(sb, "lead %lld belongs to process %lld, not to process %lld of "
			    "campaign %lld: a campaign's leads come from its own process", l,
			    (long long)q, p, c);
	else if (!found && !q)
		strbuf_addf(sb, "lead %lld does not exist in contact center %lld", l, cc);
	else
		strbuf_addf(sb, "lead %lld is not attached to campaign %lld (or does not exist)",
			    l, c);
	strbuf_release(&path);
}

void explain_report(struct cli *cli, const struct response *r, int64_t campaign, int64_t lead)
{
	struct strbuf sb = STRBUF_INIT;

	if (!explain_names_lead(r))
		return;
	explain_lead(cli, campaign, lead, &sb);
	fputs("cmsctl: ", stderr);
	output_puts(stderr, sb.buf);
	fputc('\n', stderr);
	strbuf_release(&sb);
}
