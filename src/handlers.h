/*
 * handlers.h - every request handler, one file per resource.
 *
 * A handler reads its typed inputs from the request (path ids, query, body),
 * runs inside the request's store transaction, and either sets the answer with
 * http_reply() and returns 0, or sets r->err and returns -1.  It may be run
 * again from the start when the store asks for a retry, so it keeps no state
 * outside the request.
 */
#ifndef CMSD_HANDLERS_H
#define CMSD_HANDLERS_H

#include "http.h"

int health_get(struct request *r);
int metrics_get(struct request *r);
int ui_get(struct request *r);
int openapi_get(struct request *r);

int auth_login(struct request *r);
int auth_logout(struct request *r);

int cc_create(struct request *r);
int cc_list(struct request *r);
int cc_get(struct request *r);
int cc_delete(struct request *r);

int user_create(struct request *r);
int user_list(struct request *r);
int user_get(struct request *r);
int user_update(struct request *r);
int user_delete(struct request *r);

int process_create(struct request *r);
int process_list(struct request *r);
int process_get(struct request *r);
int process_delete(struct request *r);

int lead_create(struct request *r);
int lead_list(struct request *r);
int lead_get(struct request *r);
int lead_delete(struct request *r);

int campaign_create(struct request *r);
int campaign_list(struct request *r);
int campaign_get(struct request *r);
int campaign_delete(struct request *r);

int campaign_user_add(struct request *r);
int campaign_user_list(struct request *r);
int campaign_user_delete(struct request *r);

int campaign_lead_add(struct request *r);
int campaign_lead_list(struct request *r);
int campaign_lead_delete(struct request *r);

int mapping_put(struct request *r);
int mapping_get(struct request *r);
int mapping_lead_user(struct request *r);
int mapping_history(struct request *r);

#endif
