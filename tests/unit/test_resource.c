/*
 * test_resource.c - the shared mechanics of resource.c, reached through
 * real routes and a real store: paged lists with X-Total-Count and their
 * 400s, the named-body parse step, the two child kinds (lead lists and
 * campaigns) that differ only in names, and deletes (204, 404, 409).
 */
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "unit.h"

void suite_resource(void);

#define CC "/cms/configuration/cc/%lld"

/* POST a child of kind `kind` ("lead", "campaign") named `name` below
 * process `process` of A as A's Administrator; its id, or -1. */
static int64_t create_child(const struct fixture *f, int64_t process, const char *kind,
			    const char *name)
{
	struct exchange x;
	char key[24];
	int64_t id;

	ex_start(&x, f, A_ADMIN, "POST", CC "/process/%lld/%s", (long long)f->cc_a,
		 (long long)process, kind);
	ex_body(&x, "{\"%sName\":\"%s\"}", kind, name);
	CHECK(ex_call(&x) == 201);
	snprintf(key, sizeof(key), "%sId", kind);
	id = ex_int(&x, key);
	ex_end(&x);
	return id;
}

/* GET A's processes with `query` (name, value pairs, NULL-ended) as A's
 * Agent; the status, and the answer in *x (the caller ends it). */
static unsigned list_processes(const struct fixture *f, struct exchange *x,
			       const char *const *query)
{
	ex_start(x, f, A_AGENT, "GET", CC "/process", (long long)f->cc_a);
	for (; query && query[0]; query += 2)
		ex_query(x, query[0], query[1]);
	return ex_call(x);
}

static void list_pages(void)
{
	static const char *const page[] = { "limit", "2", "offset", "1", NULL };
	static const char *const past[] = { "offset", "10", NULL };
	struct fixture f;
	struct exchange x;
	int i;

	if (fixture_open(&f))
		return;
	for (i = 0; i < 3; i++) {
		struct exchange c;

		ex_start(&c, &f, A_ADMIN, "POST", CC "/process", (long long)f.cc_a);
		ex_body(&c, "{\"processName\":\"p%d\"}", i);
		CHECK(ex_call(&c) == 201);
		ex_end(&c);
	}
	CHECK(list_processes(&f, &x, page) == 200);
	CHECK(json_array_size(x.json) == 2);
	CHECK(ex_hdr(&x, "X-Total-Count") && !strcmp(ex_hdr(&x, "X-Total-Count"), "4"));
	/* ordered by id: the second and third of pa, p0, p1, p2 */
	CHECK(!strcmp(json_string_value(json_object_get(json_array_get(x.json, 0),
							  "processName")), "p0"));
	ex_end(&x);

	CHECK(list_processes(&f, &x, past) == 200);
	CHECK(json_array_size(x.json) == 0);
	CHECK(ex_hdr(&x, "X-Total-Count") && !strcmp(ex_hdr(&x, "X-Total-Count"), "4"));
	ex_end(&x);

	CHECK(list_processes(&f, &x, NULL) == 200 && json_array_size(x.json) == 4);
	ex_end(&x);
	fixture_close(&f);
}

static void list_refuses(void)
{
	static const char *const bad[][5] = {
		{ "limit", "0", NULL },
		{ "limit", "1001", NULL },
		{ "limit", "ten", NULL },
		{ "offset", "-1", NULL },
		{ "limit", "0", "offset", "x", NULL },
	};
	struct fixture f;
	struct exchange x;
	size_t i;

	if (fixture_open(&f))
		return;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(list_processes(&f, &x, bad[i]) == 400 && ex_error(&x, 400, "CONF-1002"));
		CHECK(ex_invalid(&x, 0, bad[i][0]));
		/* every bad argument is named, not only the first */
		CHECK(json_array_size(json_object_get(x.json, "details")) == (bad[i][2] ? 2u : 1u));
		CHECK(!ex_hdr(&x, "X-Total-Count"));
		ex_end(&x);
	}
	fixture_close(&f);
}

/* Lead lists and campaigns: the same endpoints, their own names. */
static void child_kinds(void)
{
	struct fixture f;
	struct exchange x;
	int64_t lead, campaign;

	if (fixture_open(&f))
		return;
	lead = create_child(&f, f.proc_a, "lead", "L2");
	campaign = create_child(&f, f.proc_a, "campaign", "C2");
	CHECK(lead > 0 && campaign > 0);

	ex_start(&x, &f, A_AGENT, "GET", CC "/process/%lld/lead/%lld", (long long)f.cc_a,
		 (long long)f.proc_a, (long long)lead);
	CHECK(ex_call(&x) == 200 && ex_int(&x, "leadId") == lead);
	CHECK(ex_int(&x, "processId") == f.proc_a);
	CHECK(!strcmp(json_string_value(json_object_get(x.json, "leadName")), "L2"));
	CHECK(!json_object_get(x.json, "campaignType") && json_object_size(x.json) == 3);
	ex_end(&x);

	ex_start(&x, &f, A_AGENT, "GET", CC "/process/%lld/campaign/%lld", (long long)f.cc_a,
		 (long long)f.proc_a, (long long)campaign);
	CHECK(ex_call(&x) == 200 && ex_int(&x, "campaignId") == campaign);
	CHECK(!strcmp(json_string_value(json_object_get(x.json, "campaignName")), "C2"));
	CHECK(!strcmp(json_string_value(json_object_get(x.json, "campaignType")), "voice"));
	ex_end(&x);

	/* a campaign id is no lead id: the kind names its own object */
	ex_start(&x, &f, A_AGENT, "GET", CC "/process/%lld/lead/%lld", (long long)f.cc_a,
		 (long long)f.proc_a, (long long)(lead + campaign + 100));
	CHECK(ex_call(&x) == 404 && ex_missing_id(&x, 0, "lead", lead + campaign + 100));
	ex_end(&x);

	ex_start(&x, &f, A_AGENT, "GET", CC "/process/%lld/campaign", (long long)f.cc_a,
		 (long long)f.proc_a);
	CHECK(ex_call(&x) == 200 && json_array_size(x.json) == 2);
	CHECK(ex_hdr(&x, "X-Total-Count") && !strcmp(ex_hdr(&x, "X-Total-Count"), "2"));
	ex_end(&x);
	fixture_close(&f);
}

/* The named body: a JSON object with its name, else 400 naming the field. */
static void named_body(void)
{
	static const struct {
		const char *body, *field;
	} bad[] = {
		{ "[]", "body" },
		{ "{}", "leadName" },
		{ "{\"leadName\":7}", "leadName" },
		{ "{\"leadName\":\"a\\u0001b\"}", "leadName" },
	};
	struct fixture f;
	struct exchange x;
	size_t i;

	if (fixture_open(&f))
		return;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ex_start(&x, &f, A_ADMIN, "POST", CC "/process/%lld/lead", (long long)f.cc_a,
			 (long long)f.proc_a);
		ex_body(&x, "%s", bad[i].body);
		CHECK(ex_call(&x) == 400 && ex_error(&x, 400, "CONF-1002"));
		CHECK(ex_invalid(&x, 0, bad[i].field));
		ex_end(&x);
	}
	fixture_close(&f);
}

static void deletes(void)
{
	struct fixture f;
	struct exchange x;
	int64_t lead;
	int i;

	if (fixture_open(&f))
		return;
	/* the fixture's process still has a campaign and a lead list */
	ex_start(&x, &f, A_ADMIN, "DELETE", CC "/process/%lld", (long long)f.cc_a,
		 (long long)f.proc_a);
	CHECK(ex_call(&x) == 409 && ex_error(&x, 409, "CONF-1005"));
	ex_end(&x);
	CHECK(fixture_has_process(&f, f.cc_a, f.proc_a));

	lead = create_child(&f, f.proc_a, "lead", "gone");
	for (i = 0; i < 2; i++) {
		ex_start(&x, &f, A_ADMIN, "DELETE", CC "/process/%lld/lead/%lld",
			 (long long)f.cc_a, (long long)f.proc_a, (long long)lead);
		if (!i) {
			CHECK(ex_call(&x) == 204 && !x.a.body && !ex_hdr(&x, "Content-Type"));
		} else {
			CHECK(ex_call(&x) == 404 && ex_missing_id(&x, 0, "lead", lead));
		}
		ex_end(&x);
	}
	fixture_close(&f);
}

void suite_resource(void)
{
	static const struct unit_test tests[] = {
		{ "list_pages", list_pages },
		{ "list_refuses", list_refuses },
		{ "child_kinds", child_kinds },
		{ "named_body", named_body },
		{ "deletes", deletes },
	};

	unit_run("resource", tests, sizeof(tests) / sizeof(tests[0]));
}
