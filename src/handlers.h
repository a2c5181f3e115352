/*
 * handlers.h - every endpoint of the route table, one file per resource.
 *
 * Each is a `struct endpoint` (router.h): an optional parse step that turns
 * the query and body into a typed input without touching the store, and a
 * handler that reads the request, runs inside its transaction and fills the
 * reply.  Declared as one-element arrays so that router.c's rows name them
 * as plain identifiers.
 */
#ifndef CMSD_HANDLERS_H
#define CMSD_HANDLERS_H

#include "router.h"

#define ENDPOINT(name) extern const struct endpoint name[1]

ENDPOINT(health_get);
ENDPOINT(metrics_get);
ENDPOINT(ui_get);
ENDPOINT(openapi_get);

ENDPOINT(login_create);
ENDPOINT(login_delete);

ENDPOINT(cc_create);
ENDPOINT(cc_list);
ENDPOINT(cc_get);
ENDPOINT(cc_delete);

ENDPOINT(user_create);
ENDPOINT(user_list);
ENDPOINT(user_get);
ENDPOINT(user_update);
ENDPOINT(user_delete);

ENDPOINT(process_create);
ENDPOINT(process_list);
ENDPOINT(process_get);
ENDPOINT(process_delete);

ENDPOINT(lead_create);
ENDPOINT(lead_list);
ENDPOINT(lead_get);
ENDPOINT(lead_delete);

ENDPOINT(campaign_create);
ENDPOINT(campaign_list);
ENDPOINT(campaign_get);
ENDPOINT(campaign_delete);

ENDPOINT(campaign_user_add);
ENDPOINT(campaign_user_list);
ENDPOINT(campaign_user_delete);

ENDPOINT(campaign_lead_add);
ENDPOINT(campaign_lead_list);
ENDPOINT(campaign_lead_delete);

ENDPOINT(mapping_put);
ENDPOINT(mapping_get);
ENDPOINT(mapping_lead_user);
ENDPOINT(mapping_history);
ENDPOINT(mapping_changes);
ENDPOINT(user_assignments);

#endif
