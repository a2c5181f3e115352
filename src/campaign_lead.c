/*
 * campaign_lead.c - lead lists attached to a campaign:
 * /cc/{cc}/process/{p}/campaign/{c}/campaign-lead[/{leadId}].
 * The lead must belong to the campaign's process.
 */
#include "handlers.h"

#include "json.h"
#include "resource.h"
#include "banned.h"

static json_t *cl_json(const void *row, const void *arg)
{
	const struct campaign_lead *cl = row;

	(void)arg;
	return json_pack("{s:I, s:I, s:I, s:I, s:b}", "campaignLeadId", (json_int_t)cl->id,
			 "campaignId", (json_int_t)cl->campaign_id, "leadId", (json_int_t)cl->lead_id,
			 "priority", (json_int_t)cl->priority, "enabled", cl->enabled);
}

int campaign_lead_add(struct request *r)
{
	json_t *body = NULL, *v;
	int64_t lead = 0, priority = 1;
	bool enabled = true;
	struct campaign_lead cl;
	int rc = -1, src;

	if (http_body(r, &body))
		goto out;
	json_get_id(body, "leadId", &lead, &r->err);
	v = json_object_get(body, "priority");
	if (v && !(json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 1000))
		error_invalid(&r->err, "priority", "must be an integer from 1 to 1000");
	else if (v)
		priority = json_integer_value(v);
	v = json_object_get(body, "enabled");
	if (v && !json_is_boolean(v))
		error_invalid(&r->err, "enabled", "must be true or false");
	else if (v)
		enabled = json_is_true(v);
	if (r->err.code || res_check_path(r, r->ids[0], r->ids[1], r->ids[2], lead))
		goto out;
	src = store_campaign_lead_add(r->store, r->who.cc, r->ids[2], lead, priority, enabled, &cl);
	if (src) {
		http_store_error(r, src, "lead", lead);
		goto out;
	}
	rc = http_reply(r, 201, cl_json(&cl, NULL));
out:
	json_decref(body);
	return rc;
}

int campaign_lead_list(struct request *r)
{
	struct store_path chain = { r->ids[0], r->ids[1], r->ids[2], 0 };

	return res_list_cc(r, &chain, store_campaign_lead_list, r->ids[2], cl_json, NULL);
}

int campaign_lead_delete(struct request *r)
{
	int rc;

	if (res_check_path(r, r->ids[0], r->ids[1], r->ids[2], 0))
		return -1;
	rc = store_campaign_lead_delete(r->store, r->who.cc, r->ids[2], r->ids[3]);
	if (rc)
		return http_store_error(r, rc, "campaignLead", r->ids[3]);
	return http_reply(r, 204, NULL);
}
