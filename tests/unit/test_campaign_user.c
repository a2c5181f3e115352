/*
 * test_campaign_user.c - the campaign-user endpoints of campaign_user.c,
 * driven through the pipeline with a real store: enrolling is idempotent
 * and all-or-nothing, listing every unknown user (another contact
 * center's user is unknown here); removing a user takes its mappings with
 * it, recorded in the lead's history.
 */
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "unit.h"

void suite_campaign_user(void);

/* How many users the fixture's campaign has, by its list endpoint. */
static int64_t enrolled_count(const struct fixture *f)
{
	return ex_listed(f, A_AGENT, "/cms/configuration/cc/%lld/process/%lld/campaign/%lld"
				     "/campaign-user",
			 (long long)f->cc_a, (long long)f->proc_a, (long long)f->campaign);
}

/* A POST of {"userIds": ids} (JSON text) by `who`; the answer is left in x. */
static unsigned enrol(struct exchange *x, const struct fixture *f, enum who who, const char *ids)
{
	ex_campaign(x, f, who, "POST", "/campaign-user");
	ex_body(x, "{\"userIds\":%s}", ids);
	return ex_call(x);
}

/* A DELETE of user_id's enrolment by A's Supervisor. */
static unsigned removal(struct exchange *x, const struct fixture *f, const char *user_id)
{
	char tail[64];

	snprintf(tail, sizeof(tail), "/campaign-user/%s", user_id);
	ex_campaign(x, f, A_SUP, "DELETE", tail);
	return ex_call(x);
}

/* Whether element i of the answer's array is user_id's enrolment `id`. */
static bool enrolment(const struct exchange *x, const struct fixture *f, size_t i,
		      const char *user_id, int64_t id)
{
	json_t *e = json_array_get(x->json, i);
	const char *u = json_string_value(json_object_get(e, "userId"));

	return json_object_size(e) == 3 && u && !strcmp(u, user_id) &&
	       json_integer_value(json_object_get(e, "campaignId")) == f->campaign &&
	       json_integer_value(json_object_get(e, "campaignUserId")) == id && id > 0;
}

static void enrol_idempotent(void)
{
	struct fixture f;
	struct exchange x;
	int64_t agent, admin;
	int round;

	if (fixture_open(&f))
		return;
	agent = fixture_enrolled(&f, "a_agent");
	CHECK(agent > 0 && fixture_enrolled(&f, "a_admin") == 0);
	for (round = 0; round < 2; round++) {
		CHECK(enrol(&x, &f, A_SUP, "[\"a_admin\",\"a_agent\"]") == 201);
		admin = fixture_enrolled(&f, "a_admin");
		CHECK(json_array_size(x.json) == 2);
		CHECK(enrolment(&x, &f, 0, "a_admin", admin));
		CHECK(enrolment(&x, &f, 1, "a_agent", agent)); /* the enrolment it had */
		ex_end(&x);
		CHECK(enrolled_count(&f) == 3);
	}
	fixture_close(&f);
}

/* One unknown user and nobody is enrolled; the answer lists every one. */
static void enrol_all_or_nothing(void)
{
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	CHECK(enrol(&x, &f, A_SUP, "[\"ghost1\",\"a_admin\",\"b_admin\",\"ghost2\"]") == 404);
	CHECK(ex_error(&x, 404, "CONF-1001"));
	CHECK(json_array_size(json_object_get(x.json, "details")) == 3);
	CHECK(ex_missing(&x, 0, "user", "ghost1"));
	CHECK(ex_missing(&x, 1, "user", "b_admin")); /* B's user, unknown in A */
	CHECK(ex_missing(&x, 2, "user", "ghost2"));
	ex_end(&x);
	CHECK(fixture_enrolled(&f, "a_admin") == 0);
	CHECK(enrolled_count(&f) == 2);
	fixture_close(&f);
}

static void enrol_refused(void)
{
	static const char *const bad[] = { "\"a_admin\"", "[1]", "null" };
	struct fixture f;
	struct exchange x;
	size_t i;

	if (fixture_open(&f))
		return;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(enrol(&x, &f, A_SUP, bad[i]) == 400);
		CHECK(ex_bad_field(&x, "userIds"));
		ex_end(&x);
	}
	CHECK(enrol(&x, &f, A_AGENT, "[\"a_admin\"]") == 403);
	ex_end(&x);
	CHECK(enrol(&x, &f, B_ADMIN, "[\"b_admin\"]") == 404);
	CHECK(ex_missing_id(&x, 0, "contactCenter", f.cc_a));
	ex_end(&x);
	CHECK(enrolled_count(&f) == 2);
	fixture_close(&f);
}

/* A removal takes the user's mappings with it and records their loss. */
static void remove_user(void)
{
	struct fixture f;
	struct exchange x;
	char unassigned[128];

	if (fixture_open(&f))
		return;
	fixture_map(&f, "a_agent");
	CHECK(fixture_mapped(&f, f.campaign_lead, "a_agent"));
	CHECK(fixture_history(&f, unassigned, sizeof(unassigned)) == 0);
	CHECK(removal(&x, &f, "a_agent") == 204 && x.a.len == 0);
	ex_end(&x);
	CHECK(fixture_enrolled(&f, "a_agent") == 0);
	CHECK(enrolled_count(&f) == 1);
	CHECK(fixture_history(&f, unassigned, sizeof(unassigned)) == 1);
	CHECK(!strcmp(unassigned, "[\"a_agent\"]"));

	/* enrolled again, the user starts without the mapping */
	CHECK(enrol(&x, &f, A_SUP, "[\"a_agent\"]") == 201);
	ex_end(&x);
	CHECK(!fixture_mapped(&f, f.campaign_lead, "a_agent"));

	/* a_admin was never enrolled */
	CHECK(removal(&x, &f, "a_admin") == 404);
	CHECK(ex_error(&x, 404, "CONF-1001") && ex_missing(&x, 0, "campaignUser", "a_admin"));
	ex_end(&x);
	CHECK(fixture_history(&f, unassigned, sizeof(unassigned)) == 1);
	fixture_close(&f);
}

void suite_campaign_user(void)
{
	static const struct unit_test tests[] = {
		{ "enrol_idempotent", enrol_idempotent },
		{ "enrol_all_or_nothing", enrol_all_or_nothing },
		{ "enrol_refused", enrol_refused },
		{ "remove_user", remove_user },
	};

	unit_run("campaign_user", tests, sizeof(tests) / sizeof(tests[0]));
}
