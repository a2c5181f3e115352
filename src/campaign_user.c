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

#define MAX_USERS 10000

static json_t *cu_json(const void *row, const void *arg)
{
	const struct campaign_user *cu = row;

	(void)arg;
	return json_pack("{s:I, s:s, s:I}", "campaignUserId", (json_int_t)cu->id, "userId",
			 cu->user_id, "campaignId", (json_int_t)cu->campaign_id);
}

int campaign_user_add(struct request *r)
{
	json_t *body = NULL, *arr = NULL;
	struct strlist ids = STRLIST_INIT;
	int64_t *pks = NULL;
	struct campaign_user cu;
	size_t i;
	int rc = -1, src;

	if (http_body(r, &body) ||
	    json_get_strlist(body, "userIds", MAX_USERS, CMS_USERID_MAX, &ids, &r->err) ||
	    res_check_path(r, r->ids[0], r->ids[1], r->ids[2], 0))
		goto out;
	pks = xcalloc(ids.n + 1, sizeof(*pks));
	src = store_users_resolve(r->store, r->ids[0], ids.v, ids.n, pks);
	if (src) {
		http_store_error(r, src, "user", 0);
		goto out;
	}
	for (i = 0; i < ids.n; i++)
		if (!pks[i])
			error_missing(&r->err, "user", ids.v[i]);
	if (r->err.code)
		goto out;
	arr = json_array();
	for (i = 0; i < ids.n; i++) {
		src = store_campaign_user_add(r->store, r->who.cc, r->ids[2], pks[i], &cu);
		if (src) {
			http_store_error(r, src, "campaign", r->ids[2]);
			goto out;
		}
		json_array_append_new(arr, cu_json(&cu, NULL));
	}
	rc = http_reply(r, 201, arr);
	arr = NULL;
out:
	json_decref(arr);
	free(pks);
	strlist_release(&ids);
	json_decref(body);
	return rc;
}

int campaign_user_list(struct request *r)
{
	struct store_path chain = { r->ids[0], r->ids[1], r->ids[2], 0 };

	return res_list_cc(r, &chain, store_campaign_user_list, r->ids[2], cu_json, NULL);
}

int campaign_user_delete(struct request *r)
{
	int rc;

	if (res_check_path(r, r->ids[0], r->ids[1], r->ids[2], 0))
		return -1;
	rc = store_campaign_user_delete(r->store, r->who.cc, r->ids[2], r->str);
	if (rc)
		return res_store_error(r, rc, "campaignUser", r->str);
	return http_reply(r, 204, NULL);
}
