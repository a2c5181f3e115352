/*
 * test_router.c - the route table: matching, path ids by name, 404/405, and
 * that every row declares the parent chain its pattern implies.
 */
#include <string.h>

#include "handlers.h"
#include "router.h"
#include "unit.h"

void suite_router(void);

struct matched {
	struct path_ids ids;
	char bad_object[24], bad_id[32], allow[64];
	struct error err;
};

/* Route `path` for `method` into *m (reset first). */
static const struct route *route(struct matched *m, const char *method, const char *path)
{
	error_clear(&m->err);
	memset(m, 0, sizeof(*m));
	return router_match(method, path, &m->ids, m->bad_object, m->bad_id, m->allow, &m->err);
}

static void routes(void)
{
	struct matched m = { .err = ERROR_INIT };
	const struct route *rt;

	rt = route(&m, "PUT", "/cms/configuration/voice/campaignLeadUserMapping");
	CHECK(rt && !strcmp(rt->name, "mapping.put") && rt->role == ROLE_SUPERVISOR);
	CHECK(rt && rt->endpoint == mapping_put);
	rt = route(&m, "GET", "/cms/configuration/cms/configuration/voice/campaignLeadUserMapping");
	CHECK(rt && !strcmp(rt->name, "mapping.get"));
	rt = route(&m, "GET", "/cms/configuration/cc/7/process/8/campaign/9/campaign-user");
	CHECK(rt && m.ids.cc == 7 && m.ids.process == 8 && m.ids.campaign == 9);
	CHECK(rt && (rt->flags & IN_CAMPAIGN) == IN_CAMPAIGN);
	rt = route(&m, "DELETE", "/cms/configuration/cc/7/user/anav_agent");
	CHECK(rt && !strcmp(m.ids.user, "anav_agent") && rt->role == ROLE_ADMIN);
	rt = route(&m, "DELETE", "/cms/configuration/cc/7/process/8/campaign/9/campaign-lead/10");
	CHECK(rt && m.ids.campaign_lead == 10 && m.ids.lead == 0);
	rt = route(&m, "GET", "/cms/configuration/cc/7/process/8/lead/11");
	CHECK(rt && m.ids.lead == 11 && (rt->flags & IN_PROCESS) == IN_PROCESS &&
	      (rt->flags & IN_CAMPAIGN) != IN_CAMPAIGN);
	rt = route(&m, "GET", "/cms/configuration/cc/0");
	CHECK(rt && m.ids.cc == -1 && !strcmp(m.bad_object, "contactCenter") &&
	      !strcmp(m.bad_id, "0")); /* cannot exist: answered 404 before any lookup */
	rt = route(&m, "GET", "/cms/configuration/cc/1/process/99999999999999999999");
	CHECK(rt && m.ids.process == -1 && !strcmp(m.bad_object, "process") &&
	      !strcmp(m.bad_id, "99999999999999999999"));
	rt = route(&m, "GET", "/cms/ui/app.js");
	CHECK(rt && !strcmp(m.ids.rest, "app.js"));
	rt = route(&m, "GET", "/cms/configuration/cc/abc");
	CHECK(!rt && m.err.code == ERR_NO_ENDPOINT);
	rt = route(&m, "GET", "/cms/configuration/cc/-1");
	CHECK(!rt && m.err.code == ERR_NO_ENDPOINT);
	rt = route(&m, "GET", "/nope");
	CHECK(!rt && m.err.code == ERR_NO_ENDPOINT);
	rt = route(&m, "GET", "/cms/configuration//cc");
	CHECK(!rt && m.err.code == ERR_NO_ENDPOINT);
	rt = route(&m, "DELETE", "/cms/configuration/voice/campaignLeadUserMapping");
	CHECK(!rt && m.err.code == ERR_METHOD && !strcmp(m.allow, "PUT, GET, HEAD"));
	rt = route(&m, "PATCH", "/cms/configuration/cc/1/user/x");
	CHECK(!rt && m.err.code == ERR_METHOD && !strcmp(m.allow, "GET, HEAD, PUT, DELETE"));
	/* HEAD is served by the GET row; where there is none, 405 without HEAD */
	rt = route(&m, "HEAD", "/cms/configuration/cc/7/user/anav_agent");
	CHECK(rt && !strcmp(rt->method, "GET") && !strcmp(rt->name, "user.get"));
	rt = route(&m, "HEAD", "/cms/configuration/basicauth");
	CHECK(!rt && m.err.code == ERR_METHOD && !strcmp(m.allow, "POST, DELETE"));
	error_clear(&m.err);
	rt = route(&m, "GET", "/health");
	CHECK(rt && rt->role == ROLE_NONE);
	error_clear(&m.err);
}

/* The IN_* flags a pattern implies: every {contactCenter}, {process} and
 * {campaign} that more segments follow is a parent. */
static int implied_chain(const char *pattern)
{
	static const struct {
		const char *seg;
		int flag;
	} parents[] = {
		{ "/{contactCenter}/", IN_CC },
		{ "/{process}/", IN_PROCESS },
		{ "/{campaign}/", IN_CAMPAIGN },
	};
	int f = IN_NONE;
	size_t i;

	for (i = 0; i < sizeof(parents) / sizeof(parents[0]); i++)
		if (strstr(pattern, parents[i].seg))
			f |= parents[i].flag;
	return f;
}

/*
 * Every row: an endpoint with a handler, a role, a name, and a declared
 * parent chain that is exactly what its pattern implies (a row that
 * declared less would let a handler see ids the pipeline never checked).
 * A row with no credentials may not live below a contact center.
 */
static void table_declares_access(void)
{
	size_t i, n = router_count();

	CHECK(n > 30);
	for (i = 0; i < n; i++) {
		const struct route *rt = router_nth(i);
		int chain = rt->flags & IN_CAMPAIGN;

		CHECK(rt->endpoint && rt->endpoint->run && rt->name && rt->name[0]);
		if (chain != implied_chain(rt->pattern))
			fprintf(stderr, "  row %zu (%s %s) declares %d, its pattern implies %d\n", i,
				rt->method, rt->pattern, chain, implied_chain(rt->pattern));
		CHECK(chain == implied_chain(rt->pattern));
		CHECK(rt->role != ROLE_NONE || !strstr(rt->pattern, "{contactCenter}"));
		CHECK(router_index(rt) == i);
	}
	CHECK(router_nth(n) == NULL);
}

void suite_router(void)
{
	static const struct unit_test t[] = {
		{ "routes", routes },
		{ "table_declares_access", table_declares_access },
	};
	unit_run("router", t, sizeof(t) / sizeof(t[0]));
}
