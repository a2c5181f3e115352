/*
 * campaign_user.c - users enrolled in a campaign:
 * /cc/{cc}/process/{p}/campaign/{c}/campaign-user[/{userId}].
 * Enrolling is idempotent and all-or-nothing: one unknown user and nobody is
 * added, and the answer lists every unknown one.
 */
#include "handlers.h"

#include "json.h"
#include "resource.h"
#include "xalloc.h"
#include "banned.h"

static json_t *cu_json(const void *row, const void *arg)
{
	const struct campaign_user *cu = row;

	(void)arg;
	return json_pack("{s:I, s:s, s:I}", "campaignUserId", (json_int_t)cu->id, "userId",
			 cu->user_id, "campaignId", (json_int_t)cu->campaign_id);
}

static void strlist_free(void *p)
{
	strlist_release(p);
	free(p);
}

/* "userIds": the users to enrol, into a struct strlist. */
static int parse_add(const struct request *rq, struct input *in, struct error *err)
{
	struct strlist *ids = xcalloc(1, sizeof(*ids));

	in->data = ids;
	in->free_data = strlist_free;
	if (req_body(rq, in, err) ||
	    json_get_strlist(in->body, "userIds", CMS_IDS_MAX, CMS_USERID_MAX, ids, err))
		return RES_FAIL;
	return RES_OK;
}

/*
 * The answer when enrolling user_id failed with rc.  NOT_FOUND after the
 * access check and the resolve found both: another request deleted the
 * user or the campaign meanwhile.  The one still there is not the one that
 * vanished (the failed insert left the transaction usable: store.h).
 */
static int vanished(const struct request *rq, struct reply *rp, int rc, const char *user_id)
{
	if (rc == STORE_NOT_FOUND &&
	    !(rc = store_campaign_in_scope(rq->store, rq->who.cc, rq->ids.campaign)))
		return error_missing(&rp->err, "user", user_id);
	return reply_store_error(rp, rc, "campaign", rq->ids.campaign);
}

static int add(const struct request *rq, struct reply *rp)
{
	const struct strlist *ids = rq->in.data;
	int64_t *pks = xcalloc(ids->n + 1, sizeof(*pks));
	json_t *arr = NULL;
	struct campaign_user cu;
	size_t i;
	int rc, src;

	src = store_users_resolve(rq->store, rq->ids.cc, (const char *const *)ids->v, ids->n, pks);
	if (src) {
		rc = reply_store_error(rp, src, "user", 0);
		goto out;
	}
	for (i = 0; i < ids->n; i++)
		if (!pks[i])
			error_missing(&rp->err, "user", ids->v[i]);
	rc = rp->err.code ? RES_FAIL : RES_OK;
	if (rc)
		goto out;
	arr = json_array();
	for (i = 0; i < ids->n; i++) {
		src = store_campaign_user_add(rq->store, rq->who.cc, rq->ids.campaign, pks[i], &cu);
		if (src) {
			rc = vanished(rq, rp, src, ids->v[i]);
			goto out;
		}
		json_array_append_new(arr, cu_json(&cu, NULL));
	}
	rc = reply_json(rp, 201, arr);
	arr = NULL;
out:
	json_decref(arr);
	free(pks);
	return rc;
}

static int list(const struct request *rq, struct reply *rp)
{
	return res_list_cc(rq, rp, store_campaign_user_list, rq->ids.campaign, cu_json, NULL);
}

static int del(const struct request *rq, struct reply *rp)
{
	int rc = store_campaign_user_delete(rq->store, rq->who.cc, rq->ids.campaign, rq->ids.user);

	if (rc)
		return reply_store_error_str(rp, rc, "campaignUser", rq->ids.user);
	return reply_json(rp, 204, NULL);
}

const struct endpoint campaign_user_add[1] = { { parse_add, add, NULL } };
const struct endpoint campaign_user_list[1] = { { res_parse_page, list, NULL } };
const struct endpoint campaign_user_delete[1] = { { NULL, del, NULL } };
