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

static int parse_create(const struct request *rq, struct input *in, struct error *err)
{
	return res_parse_named(rq, in, err, "processName");
}

static int create(const struct request *rq, struct reply *rp)
{
	struct process p;
	int rc = store_process_create(rq->store, rq->ids.cc,
				      res_name(rq, "processName"),
				      &p);

	if (rc)
		return reply_store_error(rp, rc, "contactCenter", rq->ids.cc);
	return reply_json(rp, 201, process_json(&p, NULL));
}

static int list(const struct request *rq, struct reply *rp)
{
	return res_list(rq, rp, store_process_list, rq->ids.cc, process_json, NULL);
}

static int get(const struct request *rq, struct reply *rp)
{
	struct process p;
	int rc = store_process_get(rq->store, rq->ids.cc, rq->ids.process, &p);

	if (rc)
		return reply_store_error(rp, rc, "process", rq->ids.process);
	return reply_json(rp, 200, process_json(&p, NULL));
}

static int del(const struct request *rq, struct reply *rp)
{
	return res_deleted(rp, store_process_delete(rq->store, rq->ids.cc, rq->ids.process),
			   "process", rq->ids.process);
}

const struct endpoint process_create[1] = { { parse_create, create, NULL } };
const struct endpoint process_list[1] = { { res_parse_page, list, NULL } };
const struct endpoint process_get[1] = { { NULL, get, NULL } };
const struct endpoint process_delete[1] = { { NULL, del, NULL } };
