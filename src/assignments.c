/*
 * assignments.c - GET /cc/{cc}/user/{userId}/assignments: the mapping seen
 * from the agent's side (API.md §8): every campaign lead the user may work,
 * paginated, with the feed's cursor at which it was read, so that a dialer
 * loads it when the agent logs in and follows the feed from there.
 */
#include "handlers.h"

#include <sodium.h>

#include "feed.h"
#include "resource.h"
#include "banned.h"

static int add_row(void *ctx, const void *row)
{
	const struct assignment *a = row;
	json_t *o = json_object();

	json_object_set_new(o, "campaignId", json_integer(a->campaign_id));
	json_object_set_new(o, "campaignName", json_string(a->campaign_name));
	json_object_set_new(o, "processId", json_integer(a->process_id));
	json_object_set_new(o, "leadId", json_integer(a->lead_id));
	json_object_set_new(o, "leadName", json_string(a->lead_name));
	json_object_set_new(o, "campaignLeadId", json_integer(a->campaign_lead_id));
	json_object_set_new(o, "campaignUserId", json_integer(a->campaign_user_id));
	json_object_set_new(o, "priority", json_integer(a->priority));
	json_object_set_new(o, "enabled", json_boolean(a->enabled));
	json_array_append_new(ctx, o);
	return 0;
}

static int parse(const struct request *rq, struct input *in, struct error *err)
{
	return req_page(rq, in, err) ? RES_FAIL : RES_OK;
}

static int assignments(const struct request *rq, struct reply *rp)
{
	struct user u;
	int64_t purged;
	json_t *arr;
	int rc = store_feed_head(rq->store, &rp->cursor, &purged);

	if (!rc)
		rc = store_user_get(rq->store, rq->ids.cc, rq->ids.user, &u);
	sodium_memzero(&u, sizeof(u));
	if (rc)
		return reply_store_error_str(rp, rc, "user", rq->ids.user);
	arr = json_array();
	rc = store_assignments(rq->store, rq->who.cc, rq->ids.cc, rq->ids.user, &rq->in.page,
			       add_row, arr, &rp->total);
	if (rc) {
		json_decref(arr);
		return reply_store_error_str(rp, rc, "user", rq->ids.user);
	}
	return reply_json(rp, 200, arr);
}

const struct endpoint user_assignments[1] = { { parse, assignments, NULL } };
