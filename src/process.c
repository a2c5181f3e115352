/*
 * process.c - processes of a contact center: /cc/{cc}/process[/{p}].
 */
#include "handlers.h"

#include "json.h"
#include "resource.h"
#include "banned.h"

static json_t *process_json(const void *row, const void *arg)
{
	const struct process *p = row;

	(void)arg;
	return json_pack("{s:I, s:s, s:I}", "processId", (json_int_t)p->id, "processName",
			 p->name, "contactCenterId", (json_int_t)p->cc_id);
}

int process_create(struct request *r)
{
	json_t *body = NULL;
	const char *name;
	struct process p;
	int rc = -1, src;

	if (http_body(r, &body) || json_get_name(body, "processName", false, &name, &r->err) ||
	    res_check_path(r, r->ids[0], 0, 0, 0))
		goto out;
	src = store_process_create(r->store, r->ids[0], name, &p);
	if (src) {
		http_store_error(r, src, "contactCenter", r->ids[0]);
		goto out;
	}
	rc = http_reply(r, 201, process_json(&p, NULL));
out:
	json_decref(body);
	return rc;
}

int process_list(struct request *r)
{
	struct store_path chain = { r->ids[0], 0, 0, 0 };

	return res_list(r, &chain, store_process_list, r->ids[0], process_json, NULL);
}

int process_get(struct request *r)
{
	struct process p;
	int rc;

	if (res_check_path(r, r->ids[0], 0, 0, 0))
		return -1;
	rc = store_process_get(r->store, r->ids[0], r->ids[1], &p);
	if (rc)
		return http_store_error(r, rc, "process", r->ids[1]);
	return http_reply(r, 200, process_json(&p, NULL));
}

int process_delete(struct request *r)
{
	int rc;

	if (res_check_path(r, r->ids[0], 0, 0, 0))
		return -1;
	rc = store_process_delete(r->store, r->ids[0], r->ids[1]);
	if (rc)
		return http_store_error(r, rc, "process", r->ids[1]);
	return http_reply(r, 204, NULL);
}
