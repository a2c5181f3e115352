/*
 * router.c - the route table of API.md §3 and §4, and the matcher.
 *
 * Adding an endpoint is adding a row here and a function in its resource
 * file.  "{rest}", last in a pattern only, matches the rest of the path.  Rows of one pattern list every method it answers, which is how a 405
 * learns its Allow header.
 */
#include "router.h"

#include <stdio.h>
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
	{ "POST", CFG "/basicauth", auth_login, ROLE_NONE, RF_NO_TXN, "login" },
	{ "DELETE", CFG "/basicauth", auth_logout, ROLE_AGENT, RF_NONE, "logout" },

	{ "PUT", CFG "/voice/campaignLeadUserMapping", mapping_put, ROLE_SUPERVISOR, RF_NONE, "mapping.put" },
	{ "GET", CFG "/voice/campaignLeadUserMapping", mapping_get, ROLE_AGENT, RF_NONE, "mapping.get" },
	{ "GET", CFG CFG "/voice/campaignLeadUserMapping", mapping_get, ROLE_AGENT, RF_NONE, "mapping.get" },

	{ "POST", CFG "/cc", cc_create, ROLE_SYSTEM, RF_NONE, "cc.create" },
	{ "GET", CFG "/cc", cc_list, ROLE_AGENT, RF_NONE, "cc.list" },
	{ "GET", CC, cc_get, ROLE_AGENT, RF_CC, "cc.get" },
	{ "DELETE", CC, cc_delete, ROLE_SYSTEM, RF_CC, "cc.delete" },

	{ "POST", CC "/user", user_create, ROLE_ADMIN, RF_CC | RF_PASSWORD, "user.create" },
	{ "GET", CC "/user", user_list, ROLE_AGENT, RF_CC, "user.list" },
	{ "GET", CC "/user/{str}", user_get, ROLE_AGENT, RF_CC, "user.get" },
	{ "PUT", CC "/user/{str}", user_update, ROLE_ADMIN, RF_CC | RF_PASSWORD, "user.update" },
	{ "DELETE", CC "/user/{str}", user_delete, ROLE_ADMIN, RF_CC, "user.delete" },

	{ "POST", CC "/process", process_create, ROLE_ADMIN, RF_CC, "process.create" },
	{ "GET", CC "/process", process_list, ROLE_AGENT, RF_CC, "process.list" },
	{ "GET", PROC, process_get, ROLE_AGENT, RF_CC, "process.get" },
	{ "DELETE", PROC, process_delete, ROLE_ADMIN, RF_CC, "process.delete" },

	{ "POST", PROC "/lead", lead_create, ROLE_ADMIN, RF_CC, "lead.create" },
	{ "GET", PROC "/lead", lead_list, ROLE_AGENT, RF_CC, "lead.list" },
	{ "GET", PROC "/lead/{lead}", lead_get, ROLE_AGENT, RF_CC, "lead.get" },
	{ "DELETE", PROC "/lead/{lead}", lead_delete, ROLE_ADMIN, RF_CC, "lead.delete" },

	{ "POST", PROC "/campaign", campaign_create, ROLE_ADMIN, RF_CC, "campaign.create" },
	{ "GET", PROC "/campaign", campaign_list, ROLE_AGENT, RF_CC, "campaign.list" },
	{ "GET", CAMP, campaign_get, ROLE_AGENT, RF_CC, "campaign.get" },
	{ "DELETE", CAMP, campaign_delete, ROLE_ADMIN, RF_CC, "campaign.delete" },

	{ "POST", CAMP "/campaign-user", campaign_user_add, ROLE_SUPERVISOR, RF_CC, "campaignUser.add" },
	{ "GET", CAMP "/campaign-user", campaign_user_list, ROLE_AGENT, RF_CC, "campaignUser.list" },
	{ "DELETE", CAMP "/campaign-user/{str}", campaign_user_delete, ROLE_SUPERVISOR, RF_CC, "campaignUser.delete" },

	{ "POST", CAMP "/campaign-lead", campaign_lead_add, ROLE_ADMIN, RF_CC, "campaignLead.add" },
	{ "GET", CAMP "/campaign-lead", campaign_lead_list, ROLE_AGENT, RF_CC, "campaignLead.list" },
	{ "DELETE", CAMP "/campaign-lead/{campaignLead}", campaign_lead_delete, ROLE_ADMIN, RF_CC, "campaignLead.delete" },

	{ "GET", CAMP "/lead-user", mapping_lead_user, ROLE_AGENT, RF_CC, "leadUser.get" },
	{ "GET", CAMP "/lead-user/history", mapping_history, ROLE_AGENT, RF_CC, "leadUser.history" },
};

/*
 * Match path against pattern segment by segment, filling r->ids and r->str.
 * An id segment ("{object}") must be all digits; one that cannot name a row
 * (0, or beyond INT64_MAX) still matches, as id -1, and is remembered in
 * r->bad_object and r->bad_id, so that it answers 404 CONF-1001 naming the
 * object and the id as given, like any missing object.
 */
static bool match(const char *pattern, const char *path, struct request *r)
{
	const char *p = pattern, *s = path;
	int nid = 0;

	r->bad_object[0] = '\0';
	r->str = NULL;
	while (*p && *s) {
		size_t plen = strcspn(p + 1, "/") + 1, slen = strcspn(s + 1, "/") + 1;

		if (*p != '/' || *s != '/' || slen == 1)
			return false;
		if (!strcmp(p, "/{rest}")) { /* the rest of the path, '/' and all */
			r->str = s + 1;
			return true;
		}
		if (!strncmp(p, "/{str}", plen)) {
			r->str = s + 1;
		} else if (p[1] == '{') {
			char buf[32];
			int64_t v;

			if (slen - 1 >= sizeof(buf) || strspn(s + 1, "0123456789") < slen - 1)
				return false;
			memcpy(buf, s + 1, slen - 1);
			buf[slen - 1] = '\0';
			if (parse_id(buf, &v)) {
				v = -1;
				memcpy(r->bad_id, buf, slen);
				snprintf(r->bad_object, sizeof(r->bad_object), "%.*s",
					 (int)(plen - 3), p + 2); /* inside the braces */
			}
			r->ids[nid++] = v;
		} else if (plen != slen || strncmp(p, s, plen)) {
			return false;
		}
		p += plen;
		s += slen;
	}
	return !*p && !*s;
}

/* Methods answered at r->path, for the Allow header of a 405. */
static void allowed(struct request *r)
{
	size_t i, used = 0;

	r->allow[0] = '\0';
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		size_t n = strlen(routes[i].method);

		if (!match(routes[i].pattern, r->path, r) || strstr(r->allow, routes[i].method) ||
		    used + n + 3 >= sizeof(r->allow))
			continue;
		if (used) {
			memcpy(r->allow + used, ", ", 2);
			used += 2;
		}
		memcpy(r->allow + used, routes[i].method, n + 1);
		used += n;
	}
}

const struct route *router_match(struct request *r)
{
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		memset(r->ids, 0, sizeof(r->ids));
		if (!strcmp(routes[i].method, r->method) && match(routes[i].pattern, r->path, r))
			return &routes[i];
	}
	allowed(r);
	error_set(&r->err, r->allow[0] ? ERR_METHOD : ERR_NO_ENDPOINT);
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

size_t router_index(const struct route *route)
{
	return (size_t)(route - routes);
}
