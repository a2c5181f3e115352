/*
 * campaign.c - voice campaigns of a process: /cc/{cc}/process/{p}/campaign[/{c}].
 * Deleting one takes its campaign users, campaign leads and mappings along.
 */
#include "handlers.h"

#include "resource.h"
#include "banned.h"

static const struct child_kind campaign = {
	"campaign", "campaignId", "campaignName", true,
	store_campaign_create, store_campaign_get, store_campaign_list, store_campaign_delete,
};

CHILD_ENDPOINTS(campaign, campaign, campaign);
