/*
 * test_mapping.c - the lead-user mapping endpoints of mapping.c, driven
 * through the pipeline with a real store: a PUT assigns and records its
 * history, a dry run changes nothing, If-Match guards the write, every
 * unknown user is listed, a user in both arrays is refused, and the
 * campaign named in the body is checked to be the caller's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "unit.h"

void suite_mapping(void);

#define MAPPING "/cms/configuration/voice/campaignLeadUserMapping"

/* A PUT of the fixture's lead by `who`, with the two arrays given as JSON
 * text; the caller may add headers and query before ex_call(). */
static void put_start(struct exchange *x, const struct fixture *f, enum who who,
		      const char *assigned, const char *unassigned)
{
	ex_start(x, f, who, "PUT", MAPPING);
	ex_body(x, "{\"leadId\":%lld,\"campaignId\":%lld,\"assignedUserIds\":%s,"
		   "\"unassignedUserIds\":%s}",
		(long long)f->lead, (long long)f->campaign, assigned, unassigned);
}

/* Member `key` of the answer (or of its member `in`, when not NULL) as
 * compact JSON text, in out. */
static const char *member(const struct exchange *x, const char *in, const char *key,
			  char *out, size_t n)
{
	json_t *o = in ? json_object_get(x->json, in) : x->json;
	char *s = json_dumps(json_object_get(o, key), JSON_COMPACT | JSON_ENCODE_ANY);

	snprintf(out, n, "%s", s ? s : "(none)");
	free(s);
	return out;
}

/* The fixture lead's assigned userIds now, as JSON text in out; its ETag in
 * etag (40 bytes) when not NULL. */
static const char *assigned_now(const struct fixture *f, char *out, size_t n, char *etag)
{
	struct exchange x;
	char campaign[24], lead[24];

	snprintf(campaign, sizeof(campaign), "%lld", (long long)f->campaign);
	snprintf(lead, sizeof(lead), "%lld", (long long)f->lead);
	ex_start(&x, f, A_AGENT, "GET", MAPPING);
	ex_query(&x, "campaignId", campaign);
	ex_query(&x, "leadId", lead);
	CHECK(ex_call(&x) == 200);
	member(&x, NULL, "assignedUserIds", out, n);
	if (etag)
		snprintf(etag, 40, "%s", ex_hdr(&x, "ETag") ? ex_hdr(&x, "ETag") : "");
	ex_end(&x);
	return out;
}

/* How many changes the fixture lead's history holds. */
static long long history_count(const struct fixture *f)
{
	struct exchange x;
	char lead[24];
	long long n = -1;

	snprintf(lead, sizeof(lead), "%lld", (long long)f->lead);
	ex_start(&x, f, A_AGENT, "GET", "/cms/configuration/cc/%lld/process/%lld/campaign/%lld"
					"/lead-user/history",
		 (long long)f->cc_a, (long long)f->proc_a, (long long)f->campaign);
	ex_query(&x, "leadId", lead);
	CHECK(ex_call(&x) == 200);
	if (ex_hdr(&x, "X-Total-Count"))
		n = atoll(ex_hdr(&x, "X-Total-Count"));
	CHECK(n == (long long)json_array_size(x.json));
	ex_end(&x);
	return n;
}

static void put_assigns(void)
{
	struct fixture f;
	struct exchange x;
	char buf[128];

	if (fixture_open(&f))
		return;
	CHECK(!strcmp(assigned_now(&f, buf, sizeof(buf), NULL), "[]"));
	put_start(&x, &f, A_SUP, "[\"a_agent\"]", "[\"a_sup\"]");
	CHECK(ex_call(&x) == 200);
	CHECK(ex_int(&x, "campaignLeadId") == f.campaign_lead);
	CHECK(ex_int(&x, "leadId") == f.lead && ex_int(&x, "campaignId") == f.campaign);
	CHECK(!strcmp(member(&x, NULL, "assignedUserIds", buf, sizeof(buf)), "[\"a_agent\"]"));
	CHECK(!strcmp(member(&x, NULL, "unassignedUserIds", buf, sizeof(buf)), "[\"a_sup\"]"));
	CHECK(!json_object_get(x.json, "dryRun"));
	ex_end(&x);
	CHECK(!strcmp(assigned_now(&f, buf, sizeof(buf), NULL), "[\"a_agent\"]"));
	CHECK(history_count(&f) == 1);

	/* the same again changes nothing, so records nothing */
	put_start(&x, &f, A_SUP, "[\"a_agent\"]", "[]");
	CHECK(ex_call(&x) == 200);
	ex_end(&x);
	CHECK(history_count(&f) == 1);
	fixture_close(&f);
}

static void dry_run(void)
{
	struct fixture f;
	struct exchange x;
	char buf[128];

	if (fixture_open(&f))
		return;
	put_start(&x, &f, A_SUP, "[\"a_agent\"]", "[]");
	ex_query(&x, "dryRun", "true");
	CHECK(ex_call(&x) == 200);
	CHECK(json_is_true(json_object_get(x.json, "dryRun")));
	CHECK(!strcmp(member(&x, "changes", "assignedUserIds", buf, sizeof(buf)), "[\"a_agent\"]"));
	CHECK(!strcmp(member(&x, "changes", "unassignedUserIds", buf, sizeof(buf)), "[]"));
	ex_end(&x);
	CHECK(!strcmp(assigned_now(&f, buf, sizeof(buf), NULL), "[]"));
	CHECK(history_count(&f) == 0);

	put_start(&x, &f, A_SUP, "[\"a_agent\"]", "[]");
	ex_query(&x, "dryRun", "yes");
	CHECK(ex_call(&x) == 400 && ex_error(&x, 400, "CONF-1002"));
	CHECK(envelope_detail(x.json, 0, "field", "dryRun", "reason", "must be true or false"));
	ex_end(&x);
	CHECK(!strcmp(assigned_now(&f, buf, sizeof(buf), NULL), "[]"));
	fixture_close(&f);
}

static void if_match(void)
{
	struct fixture f;
	struct exchange x;
	char buf[128], before[40], after[40];

	if (fixture_open(&f))
		return;
	assigned_now(&f, buf, sizeof(buf), before);
	CHECK(before[0] == '"');

	put_start(&x, &f, A_SUP, "[\"a_agent\"]", "[]");
	ex_header(&x, "If-Match", "\"not-the-etag\"");
	CHECK(ex_call(&x) == 412 && ex_error(&x, 412, "CONF-1006"));
	CHECK(ex_hdr(&x, "ETag") && !strcmp(ex_hdr(&x, "ETag"), before)); /* the current one */
	ex_end(&x);
	CHECK(!strcmp(assigned_now(&f, buf, sizeof(buf), NULL), "[]"));

	put_start(&x, &f, A_SUP, "[\"a_agent\"]", "[]");
	ex_header(&x, "If-Match", before);
	CHECK(ex_call(&x) == 200);
	assigned_now(&f, buf, sizeof(buf), after);
	CHECK(!strcmp(buf, "[\"a_agent\"]") && strcmp(after, before) != 0);
	CHECK(ex_hdr(&x, "ETag") && !strcmp(ex_hdr(&x, "ETag"), after)); /* the new state's */
	ex_end(&x);

	/* the old ETag is stale now */
	put_start(&x, &f, A_SUP, "[]", "[\"a_agent\"]");
	ex_header(&x, "If-Match", before);
	CHECK(ex_call(&x) == 412);
	ex_end(&x);
	CHECK(!strcmp(assigned_now(&f, buf, sizeof(buf), NULL), "[\"a_agent\"]"));
	fixture_close(&f);
}

static void unknown_users(void)
{
	struct fixture f;
	struct exchange x;
	char buf[128];

	if (fixture_open(&f))
		return;
	/* b_admin exists, but is no campaign user here */
	put_start(&x, &f, A_SUP, "[\"ghost1\",\"a_agent\",\"ghost2\"]", "[\"b_admin\",\"a_sup\"]");
	CHECK(ex_call(&x) == 404 && ex_error(&x, 404, "CONF-1001"));
	CHECK(json_array_size(json_object_get(x.json, "details")) == 3);
	CHECK(ex_missing(&x, 0, "campaignUser", "ghost1"));
	CHECK(ex_missing(&x, 1, "campaignUser", "ghost2"));
	CHECK(ex_missing(&x, 2, "campaignUser", "b_admin"));
	ex_end(&x);
	CHECK(!strcmp(assigned_now(&f, buf, sizeof(buf), NULL), "[]")); /* a_agent not either */
	CHECK(history_count(&f) == 0);
	fixture_close(&f);
}

static void both_arrays(void)
{
	struct fixture f;
	struct exchange x;
	char buf[128];

	if (fixture_open(&f))
		return;
	put_start(&x, &f, A_SUP, "[\"a_agent\",\"a_sup\"]", "[\"a_sup\"]");
	CHECK(ex_call(&x) == 400 && ex_error(&x, 400, "CONF-1003"));
	CHECK(envelope_detail(x.json, 0, "field", "unassignedUserIds", "reason",
			      "a_sup is also in assignedUserIds"));
	ex_end(&x);
	CHECK(!strcmp(assigned_now(&f, buf, sizeof(buf), NULL), "[]"));
	fixture_close(&f);
}

/* The campaign of the body is checked like a path id: another tenant's is
 * missing, and an Agent may not write at all. */
static void campaign_scope(void)
{
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	put_start(&x, &f, B_ADMIN, "[\"a_agent\"]", "[]");
	CHECK(ex_call(&x) == 404 && ex_missing_id(&x, 0, "campaign", f.campaign));
	ex_end(&x);

	put_start(&x, &f, A_AGENT, "[\"a_agent\"]", "[]");
	CHECK(ex_call(&x) == 403 && ex_error(&x, 403, "AUTH-1003"));
	ex_end(&x);

	/* a lead that is not attached to the campaign */
	ex_start(&x, &f, A_SUP, "PUT", MAPPING);
	ex_body(&x, "{\"leadId\":%lld,\"campaignId\":%lld,\"assignedUserIds\":[],"
		    "\"unassignedUserIds\":[]}",
		(long long)f.lead + 100, (long long)f.campaign);
	CHECK(ex_call(&x) == 404 && ex_missing_id(&x, 0, "lead", f.lead + 100));
	ex_end(&x);
	fixture_close(&f);
}

void suite_mapping(void)
{
	static const struct unit_test tests[] = {
		{ "put_assigns", put_assigns },
		{ "dry_run", dry_run },
		{ "if_match", if_match },
		{ "unknown_users", unknown_users },
		{ "both_arrays", both_arrays },
		{ "campaign_scope", campaign_scope },
	};

	unit_run("mapping", tests, sizeof(tests) / sizeof(tests[0]));
}
