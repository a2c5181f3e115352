/*
 * campaign_lead.c - lead lists attached to a campaign:
 * /cc/{cc}/process/{p}/campaign/{c}/campaign-lead[/{leadId}].
 * The lead must belong to the campaign's process: the parse step names it
 * in the input, so the pipeline's access check covers it (404 "lead").
 */
#include "handlers.h"

#include "json.h"
#include "resource.h"
#include "xalloc.h"
#include "banned.h"

struct attach_in {
	int64_t priority;
	bool enabled;
};

static json_t *cl_json(const void *row, const void *arg)
{
	const struct campaign_lead *cl = row;

	(void)arg;
	return json_pack("{s:I, s:I, s:I, s:I, s:b}", "campaignLeadId", (json_int_t)cl->id,
			 "campaignId", (json_int_t)cl->campaign_id, "leadId", (json_int_t)cl->lead_id,
			 "priority", (json_int_t)cl->priority, "enabled", cl->enabled);
}

static int parse_add(const struct request *rq, struct input *in, struct error *err)
{
	struct attach_in *a = xcalloc(1, sizeof(*a));
	json_t *v;

	in->data = a;
	a->priority = 1;
	a->enabled = true;
	if (req_body(rq, in, err))
		return RES_FAIL;
	json_get_id(in->body, "leadId", &in->lead, err);
	v = json_object_get(in->body, "priority");
	if (v && !(json_is_integer(v) && json_integer_value(v) >= 1 &&
		   json_integer_value(v) <= CMS_PRIORITY_MAX))
		error_invalid(err, "priority", "must be an integer from 1 to 1000");
	else if (v)
		a->priority = json_integer_value(v);
	v = json_object_get(in->body, "enabled");
	if (v && !json_is_boolean(v))
		error_invalid(err, "enabled", "must be true or false");
	else if (v)
		a->enabled = json_is_true(v);
	return err->code ? RES_FAIL : RES_OK;
}

static int add(const struct request *rq, struct reply *rp)
{
	const struct attach_in *a = rq->in.data;
	struct campaign_lead cl;
	int rc = store_campaign_lead_add(rq->store, rq->who.cc, rq->ids.campaign, rq->in.lead, a->priority,
					 a->enabled, &cl);

	if (rc)
		return reply_store_error(rp, rc, "lead", rq->in.lead);
	return reply_json(rp, 201, cl_json(&cl, NULL));
}

static int list(const struct request *rq, struct reply *rp)
{
	return res_list_cc(rq, rp, store_campaign_lead_list, rq->ids.campaign, cl_json, NULL);
}

static int del(const struct request *rq, struct reply *rp)
{
	return res_deleted(rp,
			   store_campaign_lead_delete(rq->store, rq->who.cc, rq->ids.campaign,
						      rq->ids.campaign_lead),
			   "campaignLead", rq->ids.campaign_lead);
}

const struct endpoint campaign_lead_add[1] = { { parse_add, add, NULL } };
const struct endpoint campaign_lead_list[1] = { { res_parse_page, list, NULL } };
const struct endpoint campaign_lead_delete[1] = { { NULL, del, NULL } };
