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

int lead_create(struct request *r) { return child_create(r, &lead); }
int lead_list(struct request *r) { return child_list(r, &lead); }
int lead_get(struct request *r) { return child_get(r, &lead); }
int lead_delete(struct request *r) { return child_delete(r, &lead); }
