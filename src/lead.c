/*
 * lead.c - lead lists of a process: /cc/{cc}/process/{p}/lead[/{leadId}].
 */
#include "handlers.h"

#include "resource.h"
#include "banned.h"

static const struct child_kind lead = {
	"lead", "leadId", "leadName", false,
	store_lead_create, store_lead_get, store_lead_list, store_lead_delete,
};

CHILD_ENDPOINTS(lead, lead, lead);
