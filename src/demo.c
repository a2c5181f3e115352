/*
 * demo.c - the vendor page's example: a contact center with an administrator,
 * the agents anav_agent, exe_gs and madhur1 enrolled in a voice campaign with
 * a lead list attached.  Loaded only into an empty store; on later starts the
 * data is found again and a fresh token printed.
 */
#include "demo.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "log.h"
#include "banned.h"

#define DEMO_ADMIN "demo_admin"

static const char *const agents[] = { "anav_agent", "exe_gs", "madhur1" };
#define NAGENTS (sizeof(agents) / sizeof(agents[0]))

static int first_cl(void *ctx, const void *row)
{
	*(struct campaign_lead *)ctx = *(const struct campaign_lead *)row;
	return 0;
}

static int ignore_row(void *ctx, const void *row)
{
	(void)ctx;
	(void)row;
	return 0;
}

static int user(struct store *s, int64_t cc, const char *id, const char *name,
		const char *role, const char *pw, struct user *u)
{
	if (auth_new_user(u, cc, id, name, role, pw))
		return STORE_ERROR;
	return store_user_create(s, u);
}

/* Create the example; returns a store_rc. */
static int create(struct store *s, struct demo *d)
{
	unsigned char raw[12];
	struct cc cc;
	struct process p;
	struct proc_child lead, camp;
	struct campaign_user cu;
	struct campaign_lead cl;
	struct user u;
	size_t i;
	int rc;

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(d->password, sizeof(d->password), raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if ((rc = store_cc_create(s, "Demo Contact Center", &cc)) ||
	    (rc = user(s, cc.id, DEMO_ADMIN, "Demo Administrator", "Administrator", d->password, &u)) ||
	    (rc = store_process_create(s, cc.id, "Demo Process", &p)) ||
	    (rc = store_lead_create(s, 0, p.id, "Demo Leads", &lead)) ||
	    (rc = store_campaign_create(s, 0, p.id, "Demo Campaign", &camp)))
		goto out;
	for (i = 0; i < NAGENTS; i++)
		if ((rc = user(s, cc.id, agents[i], agents[i], "Agent", NULL, &u)) ||
		    (rc = store_campaign_user_add(s, 0, camp.id, u.pk, &cu)))
			goto out;
	rc = store_campaign_lead_add(s, 0, camp.id, lead.id, 1, true, &cl);
	d->created = true;
out:
	sodium_memzero(&u, sizeof(u));
	return rc;
}

int demo_load(struct store *s, struct demo *d)
{
	struct page one = { 1, 0 };
	struct campaign_lead cl;
	struct proc_child camp;
	struct user admin;
	int64_t total = 0;
	int rc;

	memset(d, 0, sizeof(*d));
	memset(&cl, 0, sizeof(cl));
	if ((rc = store_begin(s, true)))
		goto fail;
	rc = store_user_get(s, 0, DEMO_ADMIN, &admin);
	if (rc == STORE_NOT_FOUND) {
		if ((rc = store_cc_list(s, 0, &one, ignore_row, NULL, &total)))
			goto fail;
		if (total) {
			store_rollback(s);
			log_msgf("warn", "--demo: the store is not empty and has no demo data; nothing loaded");
			return 0;
		}
		if ((rc = create(s, d)) || (rc = store_user_get(s, 0, DEMO_ADMIN, &admin)))
			goto fail;
	} else if (rc) {
		goto fail;
	}
	if ((rc = store_mapping_list(s, admin.cc_id, 0, &one, first_cl, &cl, &total)))
		goto fail;
	if (!total) {
		store_rollback(s);
		log_msgf("warn", "--demo: the demo contact center has no campaign lead left");
		return 0;
	}
	if ((rc = store_campaign_get(s, 0, 0, cl.campaign_id, &camp)) ||
	    (rc = auth_issue_token(s, admin.pk, admin.cc_id, (int64_t)time(NULL) + 86400, d->token)) ||
	    (rc = store_commit(s)))
		goto fail;
	d->cc = admin.cc_id;
	d->process = camp.process_id;
	d->campaign = cl.campaign_id;
	d->lead = cl.lead_id;
	d->ready = true;
	sodium_memzero(&admin, sizeof(admin));
	return 0;
fail:
	store_rollback(s);
	sodium_memzero(&admin, sizeof(admin));
	log_msgf("error", "--demo: cannot load the demo data (store error %d)", rc);
	return -1;
}

void demo_print(const struct demo *d, const struct config *cfg, unsigned port)
{
	char host[128];
	const char *colon = strrchr(cfg->listen, ':');
	size_t n = colon ? (size_t)(colon - cfg->listen) : 0;
	const char *scheme = cfg->tls_cert ? "https" : "http", *k = cfg->tls_cert ? "-k " : "";

	if (!d->ready)
		return;
	snprintf(host, sizeof(host), "%.*s", (int)n, cfg->listen);
	if (!n || !strcmp(host, "0.0.0.0") || !strcmp(host, "[::]"))
		snprintf(host, sizeof(host), "127.0.0.1");
	printf("cmsd demo: contact center \"Demo Contact Center\", campaign %lld, lead %lld\n",
	       d->campaign, d->lead);
	printf("  agents enrolled in the campaign: anav_agent, exe_gs, madhur1\n");
	if (d->created)
		printf("  administrator: %s, password %s (shown once)\n", DEMO_ADMIN, d->password);
	printf("  token for %s (24 hours): %s\n\n", DEMO_ADMIN, d->token);
	printf("Assign anav_agent and unassign exe_gs and madhur1 (the vendor page's PUT):\n\n");
	printf("curl %s--location --request PUT '%s://%s:%u/cms/configuration/voice/campaignLeadUserMapping' "
	       "--header 'Content-Type: application/json' --header 'Authorization: Basic %s' "
	       "--data '{ \"leadId\": %lld, \"campaignId\": %lld, \"assignedUserIds\": [\"anav_agent\"], "
	       "\"unassignedUserIds\": [\"exe_gs\",\"madhur1\"] }'\n\n",
	       k, scheme, host, port, d->token, d->lead, d->campaign);
	printf("Read the lead's mapping back (the vendor page's GET):\n\n");
	printf("curl %s-X 'GET' '%s://%s:%u/cms/configuration/cms/configuration/voice/campaignLeadUserMapping"
	       "?campaignId=%lld&leadId=%lld' -H 'accept: application/json' -H 'Content-Type: application/json' "
	       "-H 'Authorization: Bearer %s'\n\n",
	       k, scheme, host, port, d->campaign, d->lead, d->token);
	printf("Or with cmsctl, the command-line client:\n\n");
	printf("build/cmsctl %s--url %s://%s:%u --token %s mapping get --campaign %lld --lead %lld\n\n",
	       cfg->tls_cert ? "--insecure " : "", scheme, host, port, d->token, d->campaign, d->lead);
	printf("Or in a browser, the web console (sign in as %s):\n\n", DEMO_ADMIN);
	printf("%s://%s:%u/cms/ui/\n\n", scheme, host, port);
	printf("Follow every change of the mapping, as a dialer does (waits up to 30 s for the\n"
	       "next one; add -H 'Accept: text/event-stream' for a stream):\n\n");
	printf("curl %s-H 'Authorization: Bearer %s' '%s://%s:%u/cms/configuration/voice"
	       "/campaignLeadUserMapping/changes?wait=30'\n\n",
	       k, d->token, scheme, host, port);
	printf("The change history of the lead, the API's description, and the metrics:\n\n");
	printf("curl %s-H 'Authorization: Bearer %s' '%s://%s:%u/cms/configuration/cc/%lld/process/%lld"
	       "/campaign/%lld/lead-user/history?leadId=%lld'\n",
	       k, d->token, scheme, host, port, d->cc, d->process, d->campaign, d->lead);
	printf("curl %s%s://%s:%u/cms/openapi.json\n", k, scheme, host, port);
	printf("curl %s%s://%s:%u/metrics\n\n", k, scheme, host, port);
	fflush(stdout);
}

void demo_clear(struct demo *d)
{
	sodium_memzero(d, sizeof(*d));
}
