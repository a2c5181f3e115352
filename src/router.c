/*
 * router.c - the route table of API.md §3 and §4, and the matcher.
 *
 * Adding an endpoint is adding a row here and an endpoint in its resource
 * file.  A row declares who may call it (the least role) and the parent
 * chain its ids live under (IN_*); the pipeline enforces both for every row,
 * so no handler checks access by hand.  "{rest}", last in a pattern only,
 * matches the rest of the path.  Rows of one pattern list every method it
 * answers, which is how a 405 learns its Allow header.  HEAD is served by
 * every GET row (RFC 9110 9.3.2: the GET's status and headers, no body;
 * libmicrohttpd leaves the body out), so it has no rows of its own.
 */
#include "router.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "json.h"
#include "banned.h"

#define CFG "/cms/configuration"
#define CC CFG "/cc/{contactCenter}"
#define PROC CC "/process/{process}"
#define CAMP PROC "/campaign/{campaign}"

static const struct route routes[] = {
	{ "GET", "/health", health_get, ROLE_NONE, RF_NO_TXN, "health" },
	{ "GET", "/metrics", metrics_get, ROLE_NONE, RF_NO_TXN | RF_TEXT | RF_NO_STORE, "metrics" },
	{ "GET", "/cms/ui", ui_get, ROLE_NONE, RF_NO_TXN | RF_TEXT | RF_NO_STORE, "ui" },
	{ "GET", "/cms/ui/{rest}", ui_get, ROLE_NONE, RF_NO_TXN | RF_TEXT | RF_NO_STORE, "ui" },
	{ "GET", "/cms/openapi.json", openapi_get, ROLE_NONE, RF_NO_TXN | RF_TEXT | RF_NO_STORE, "openapi" },
	{ "POST", CFG "/basicauth", login_create, ROLE_NONE, RF_NO_TXN | RF_HASH, "login" },
	{ "DELETE", CFG "/basicauth", login_delete, ROLE_AGENT, IN_NONE, "logout" },

	{ "PUT", CFG "/voice/campaignLeadUserMapping", mapping_put, ROLE_SUPERVISOR, RF_GROUP, "mapping.put" },
	{ "GET", CFG "/voice/campaignLeadUserMapping", mapping_get, ROLE_AGENT, RF_LOOK_LEAD, "mapping.get" },
	{ "GET", CFG CFG "/voice/campaignLeadUserMapping", mapping_get, ROLE_AGENT, RF_LOOK_LEAD, "mapping.get" },
	{ "GET", CFG "/voice/campaignLeadUserMapping/changes", mapping_changes, ROLE_AGENT, RF_NO_TXN | RF_TEXT, "mapping.changes" },

	{ "POST", CFG "/cc", cc_create, ROLE_SYSTEM, IN_NONE, "cc.create" },
	{ "GET", CFG "/cc", cc_list, ROLE_AGENT, IN_NONE, "cc.list" },
	{ "GET", CC, cc_get, ROLE_AGENT, IN_NONE, "cc.get" },
	{ "DELETE", CC, cc_delete, ROLE_SYSTEM, IN_NONE, "cc.delete" },

	{ "POST", CC "/user", user_create, ROLE_ADMIN, IN_CC, "user.create" },
	{ "GET", CC "/user", user_list, ROLE_AGENT, IN_CC, "user.list" },
	{ "GET", CC "/user/{str}", user_get, ROLE_AGENT, IN_CC, "user.get" },
	{ "PUT", CC "/user/{str}", user_update, ROLE_ADMIN, IN_CC, "user.update" },
	{ "DELETE", CC "/user/{str}", user_delete, ROLE_ADMIN, IN_CC, "user.delete" },
	{ "GET", CC "/user/{str}/assignments", user_assignments, ROLE_AGENT, IN_CC | RF_SELF, "user.assignments" },

	{ "POST", CC "/process", process_create, ROLE_ADMIN, IN_CC, "process.create" },
	{ "GET", CC "/process", process_list, ROLE_AGENT, IN_CC, "process.list" },
	{ "GET", PROC, process_get, ROLE_AGENT, IN_CC, "process.get" },
	{ "DELETE", PROC, process_delete, ROLE_ADMIN, IN_CC, "process.delete" },

	{ "POST", PROC "/lead", lead_create, ROLE_ADMIN, IN_PROCESS, "lead.create" },
	{ "GET", PROC "/lead", lead_list, ROLE_AGENT, IN_PROCESS, "lead.list" },
	{ "GET", PROC "/lead/{lead}", lead_get, ROLE_AGENT, IN_PROCESS, "lead.get" },
	{ "DELETE", PROC "/lead/{lead}", lead_delete, ROLE_ADMIN, IN_PROCESS, "lead.delete" },

	{ "POST", PROC "/campaign", campaign_create, ROLE_ADMIN, IN_PROCESS, "campaign.create" },
	{ "GET", PROC "/campaign", campaign_list, ROLE_AGENT, IN_PROCESS, "campaign.list" },
	{ "GET", CAMP, campaign_get, ROLE_AGENT, IN_PROCESS, "campaign.get" },
	{ "DELETE", CAMP, campaign_delete, ROLE_ADMIN, IN_PROCESS, "campaign.delete" },

	{ "POST", CAMP "/campaign-user", campaign_user_add, ROLE_SUPERVISOR, IN_CAMPAIGN, "campaignUser.add" },
	{ "GET", CAMP "/campaign-user", campaign_user_list, ROLE_AGENT, IN_CAMPAIGN, "campaignUser.list" },
	{ "DELETE", CAMP "/campaign-user/{str}", campaign_user_delete, ROLE_SUPERVISOR, IN_CAMPAIGN, "campaignUser.delete" },

	{ "POST", CAMP "/campaign-lead", campaign_lead_add, ROLE_ADMIN, IN_CAMPAIGN, "campaignLead.add" },
	{ "GET", CAMP "/campaign-lead", campaign_lead_list, ROLE_AGENT, IN_CAMPAIGN, "campaignLead.list" },
	{ "DELETE", CAMP "/campaign-lead/{campaignLead}", campaign_lead_delete, ROLE_ADMIN, IN_CAMPAIGN, "campaignLead.delete" },

	{ "GET", CAMP "/lead-user", mapping_lead_user, ROLE_AGENT, IN_CAMPAIGN | RF_LOOK_LEAD, "leadUser.get" },
	{ "GET", CAMP "/lead-user/history", mapping_history, ROLE_AGENT, IN_CAMPAIGN, "leadUser.history" },
};

/* Where each "{object}" of a pattern goes in struct path_ids. */
static const struct {
	const char *object;
	size_t offset;
} id_fields[] = {
	{ "contactCenter", offsetof(struct path_ids, cc) },
	{ "process", offsetof(struct path_ids, process) },
	{ "campaign", offsetof(struct path_ids, campaign) },
	{ "lead", offsetof(struct path_ids, lead) },
	{ "campaignLead", offsetof(struct path_ids, campaign_lead) },
};

/* The field of ids that the pattern segment "{object}" (name, len) fills. */
static int64_t *id_field(struct path_ids *ids, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(id_fields) / sizeof(id_fields[0]); i++)
		if (strlen(id_fields[i].object) == len && !strncmp(id_fields[i].object, name, len))
			return (int64_t *)(void *)((char *)ids + id_fields[i].offset);
	return NULL;
}

/*
 * Match path against pattern segment by segment, filling *ids.  An id
 * segment ("{object}") must be all digits; one that cannot name a row (0,
 * or beyond INT64_MAX) still matches, as id -1, and is remembered in
 * bad_object and bad_id, so that it answers 404 CONF-1001 naming the object
 * and the id as given, like any missing object.
 */
static bool match(const char *pattern, const char *path, struct path_ids *ids,
		  char *bad_object, char *bad_id)
{
	const char *p = pattern, *s = path;

	memset(ids, 0, sizeof(*ids));
	bad_object[0] = '\0';
	while (*p && *s) {
		size_t plen = strcspn(p + 1, "/") + 1, slen = strcspn(s + 1, "/") + 1;

		if (*p != '/' || *s != '/' || slen == 1)
			return false;
		if (!strcmp(p, "/{rest}")) { /* the rest of the path, '/' and all */
			ids->rest = s + 1;
			return true;
		}
		if (!strncmp(p, "/{str}", plen)) {
			ids->user = s + 1;
			ids->user_len = slen - 1;
		} else if (p[1] == '{') {
			int64_t *field = id_field(ids, p + 2, plen - 3);
			char buf[32];
			int64_t v;

			if (!field || slen - 1 >= sizeof(buf) ||
			    strspn(s + 1, "0123456789") < slen - 1)
				return false;
			memcpy(buf, s + 1, slen - 1);
			buf[slen - 1] = '\0';
			if (parse_id(buf, &v)) {
				v = -1;
				memcpy(bad_id, buf, slen);
				snprintf(bad_object, 24, "%.*s", (int)(plen - 3), p + 2);
			}
			*field = v;
		} else if (plen != slen || strncmp(p, s, plen)) {
			return false;
		}
		p += plen;
		s += slen;
	}
	return !*p && !*s;
}

/* Append method to the Allow list (64 bytes, `*used` of them taken) unless
 * it is there already. */
static void allow_add(char *allow, size_t *used, const char *method)
{
	size_t n = strlen(method);

	if (strstr(allow, method) || *used + n + 3 >= 64)
		return;
	if (*used) {
		memcpy(allow + *used, ", ", 2);
		*used += 2;
	}
	memcpy(allow + *used, method, n + 1);
	*used += n;
}

/* Methods answered at path, for the Allow header of a 405. */
static void allowed(const char *path, char *allow)
{
	struct path_ids ids;
	char bad_object[24], bad_id[32];
	size_t i, used = 0;

	allow[0] = '\0';
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!match(routes[i].pattern, path, &ids, bad_object, bad_id))
			continue;
		allow_add(allow, &used, routes[i].method);
		if (!strcmp(routes[i].method, "GET"))
			allow_add(allow, &used, "HEAD");
	}
}

const struct route *router_match(const char *method, const char *path, struct path_ids *ids,
				 char *bad_object, char *bad_id, char *allow, struct error *err)
{
	const char *as = strcmp(method, "HEAD") ? method : "GET"; /* HEAD: the GET row */
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(routes[i].method, as) &&
		    match(routes[i].pattern, path, ids, bad_object, bad_id))
			return &routes[i];
	memset(ids, 0, sizeof(*ids));
	allowed(path, allow);
	error_set(err, allow[0] ? ERR_METHOD : ERR_NO_ENDPOINT);
	return NULL;
}

size_t router_count(void)
{
	return sizeof(routes) / sizeof(routes[0]);
}

const struct route *router_nth(size_t i)
{
	return i < router_count() ? &routes[i] : NULL;
}

int router_print(FILE *out)
{
	static const struct {
		int flag;
		const char *object;
	} chain[] = { { IN_CC, "contactCenter" }, { IN_PROCESS, "process" }, { IN_CAMPAIGN, "campaign" } };
	size_t i, j;
	int rc = 0;

	for (i = 0; i < router_count() && !rc; i++) {
		const struct route *rt = &routes[i];
		json_t *under = json_array(), *o;
		char *line;

		for (j = 0; j < sizeof(chain) / sizeof(chain[0]); j++)
			if ((rt->flags & chain[j].flag) == chain[j].flag)
				json_array_append_new(under, json_string(chain[j].object));
		o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:b, s:b}", "method", rt->method, "pattern",
			      rt->pattern, "name", rt->name, "role", auth_role_name(rt->role), "under",
			      under, "transaction", !(rt->flags & RF_NO_TXN), "store",
			      !(rt->flags & RF_NO_STORE));
		line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		rc = !line || fprintf(out, "%s\n", line) < 0 ? -1 : 0;
		free(line);
		json_decref(o);
	}
	return rc;
}

size_t router_index(const struct route *route)
{
	return (size_t)(route - routes);
}
