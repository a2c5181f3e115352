/*
 * test_campaign_lead.c - the campaign-lead endpoints of campaign_lead.c,
 * driven through the pipeline with a real store: an attachment echoes its
 * priority (1..1000, default 1) and enabled flag (a boolean, default true);
 * a lead is attached once, and only to a campaign of its own process; a
 * detach takes the lead's mappings with it.
 */
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "unit.h"

void suite_campaign_lead(void);

/* How many leads the fixture's campaign has attached, by its list. */
static int64_t attached_count(const struct fixture *f)
{
	return ex_listed(f, A_AGENT, "/cms/configuration/cc/%lld/process/%lld/campaign/%lld"
				     "/campaign-lead",
			 (long long)f->cc_a, (long long)f->proc_a, (long long)f->campaign);
}

/* A POST of {"leadId": lead + rest} by `who`, where rest is more members
 * (",\"priority\":5") or ""; the answer is left in x. */
static unsigned attach(struct exchange *x, const struct fixture *f, enum who who, int64_t lead,
		       const char *rest)
{
	ex_campaign(x, f, who, "POST", "/campaign-lead");
	ex_body(x, "{\"leadId\":%lld%s}", (long long)lead, rest);
	return ex_call(x);
}

/* A DELETE of lead's attachment by A's Administrator. */
static unsigned detach(struct exchange *x, const struct fixture *f, int64_t lead)
{
	char tail[64];

	snprintf(tail, sizeof(tail), "/campaign-lead/%lld", (long long)lead);
	ex_campaign(x, f, A_ADMIN, "DELETE", tail);
	return ex_call(x);
}

/* Whether the answer is the attachment of lead with priority and enabled. */
static bool attachment(const struct exchange *x, const struct fixture *f, int64_t lead,
		       int64_t priority, bool enabled)
{
	json_t *e = json_object_get(x->json, "enabled");

	return json_object_size(x->json) == 5 && ex_int(x, "campaignLeadId") > 0 &&
	       ex_int(x, "campaignId") == f->campaign && ex_int(x, "leadId") == lead &&
	       ex_int(x, "priority") == priority && json_is_boolean(e) && json_is_true(e) == enabled;
}

static void attach_echoes(void)
{
	struct fixture f;
	struct exchange x;
	int64_t l2, l3, l4;

	if (fixture_open(&f))
		return;
	l2 = fixture_lead(&f, f.proc_a, "l2");
	l3 = fixture_lead(&f, f.proc_a, "l3");
	l4 = fixture_lead(&f, f.proc_a, "l4");
	CHECK(attach(&x, &f, A_ADMIN, l2, ",\"priority\":1000,\"enabled\":false") == 201);
	CHECK(attachment(&x, &f, l2, 1000, false));
	ex_end(&x);
	CHECK(attach(&x, &f, A_ADMIN, l3, "") == 201);
	CHECK(attachment(&x, &f, l3, 1, true)); /* the defaults */
	ex_end(&x);
	CHECK(attach(&x, &f, A_ADMIN, l4, ",\"priority\":1,\"enabled\":true") == 201);
	CHECK(attachment(&x, &f, l4, 1, true));
	ex_end(&x);
	CHECK(attached_count(&f) == 4);
	fixture_close(&f);
}

static void attach_invalid(void)
{
	static const struct {
		const char *rest, *field;
	} bad[] = {
		{ ",\"priority\":0", "priority" },
		{ ",\"priority\":1001", "priority" },
		{ ",\"priority\":-1", "priority" },
		{ ",\"priority\":\"5\"", "priority" },
		{ ",\"priority\":1.5", "priority" },
		{ ",\"enabled\":\"yes\"", "enabled" },
		{ ",\"enabled\":1", "enabled" },
		{ ",\"enabled\":null", "enabled" },
	};
	struct fixture f;
	struct exchange x;
	int64_t l2;
	size_t i;

	if (fixture_open(&f))
		return;
	l2 = fixture_lead(&f, f.proc_a, "l2");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(attach(&x, &f, A_ADMIN, l2, bad[i].rest) == 400);
		CHECK(ex_bad_field(&x, bad[i].field));
		ex_end(&x);
	}
	CHECK(attach(&x, &f, A_ADMIN, 0, "") == 400 && ex_bad_field(&x, "leadId"));
	ex_end(&x);
	CHECK(attached_count(&f) == 1);
	fixture_close(&f);
}

/* A lead is attached once, and only to a campaign of its own process. */
static void attach_refused(void)
{
	struct fixture f;
	struct exchange x;
	int64_t other;

	if (fixture_open(&f))
		return;
	CHECK(attach(&x, &f, A_ADMIN, f.lead, ",\"priority\":7") == 409);
	CHECK(ex_error(&x, 409, "CONF-1004"));
	ex_end(&x);
	other = fixture_lead(&f, f.proc_b, "B's");
	CHECK(attach(&x, &f, A_ADMIN, other, "") == 404 && ex_missing_id(&x, 0, "lead", other));
	ex_end(&x);
	CHECK(attach(&x, &f, A_SUP, fixture_lead(&f, f.proc_a, "l2"), "") == 403);
	ex_end(&x);
	CHECK(attached_count(&f) == 1);
	fixture_close(&f);
}

/* A detach takes the lead's mappings with it and records their loss. */
static void detach_lead(void)
{
	struct fixture f;
	struct exchange x;
	char unassigned[128];

	if (fixture_open(&f))
		return;
	fixture_map(&f, "a_sup");
	CHECK(fixture_mapped(&f, f.campaign_lead, "a_sup"));
	CHECK(detach(&x, &f, f.lead) == 204 && x.a.len == 0);
	ex_end(&x);
	CHECK(attached_count(&f) == 0);
	CHECK(!fixture_mapped(&f, f.campaign_lead, "a_sup"));
	CHECK(fixture_history(&f, unassigned, sizeof(unassigned)) == 1);
	CHECK(!strcmp(unassigned, "[\"a_sup\"]"));

	CHECK(detach(&x, &f, f.lead) == 404);
	CHECK(ex_error(&x, 404, "CONF-1001") && ex_missing_id(&x, 0, "campaignLead", f.lead));
	ex_end(&x);
	/* attached again, it starts afresh */
	CHECK(attach(&x, &f, A_ADMIN, f.lead, "") == 201 && attachment(&x, &f, f.lead, 1, true));
	CHECK(ex_int(&x, "campaignLeadId") != f.campaign_lead);
	ex_end(&x);
	fixture_close(&f);
}

void suite_campaign_lead(void)
{
	static const struct unit_test tests[] = {
		{ "attach_echoes", attach_echoes },
		{ "attach_invalid", attach_invalid },
		{ "attach_refused", attach_refused },
		{ "detach_lead", detach_lead },
	};

	unit_run("campaign_lead", tests, sizeof(tests) / sizeof(tests[0]));
}
