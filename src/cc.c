/*
 * cc.c - contact centers, the tenants: /cms/configuration/cc[/{cc}].
 * Only the system administrator creates or deletes one; a contact-center user
 * sees its own (the pipeline answers 404 for another's).
 */
#include "handlers.h"

#include "json.h"
#include "resource.h"
#include "banned.h"

static json_t *cc_json(const void *row, const void *arg)
{
	const struct cc *c = row;

	(void)arg;
	return json_pack("{s:I, s:s}", "contactCenterId", (json_int_t)c->id, "name", c->name);
}

static int parse_create(const struct request *rq, struct input *in, struct error *err)
{
	return res_parse_named(rq, in, err, "name");
}

static int create(const struct request *rq, struct reply *rp)
{
	struct cc c;
	int rc = store_cc_create(rq->store, res_name(rq, "name"),
				 &c);

	if (rc)
		return reply_store_error(rp, rc, "contactCenter", 0);
	return reply_json(rp, 201, cc_json(&c, NULL));
}

/* The system administrator's scope is 0: every contact center. */
static int list(const struct request *rq, struct reply *rp)
{
	return res_list(rq, rp, store_cc_list, rq->who.cc, cc_json, NULL);
}

static int get(const struct request *rq, struct reply *rp)
{
	struct cc c;
	int rc = store_cc_get(rq->store, rq->ids.cc, &c);

	if (rc)
		return reply_store_error(rp, rc, "contactCenter", rq->ids.cc);
	return reply_json(rp, 200, cc_json(&c, NULL));
}

static int del(const struct request *rq, struct reply *rp)
{
	return res_deleted(rp, store_cc_delete(rq->store, rq->ids.cc), "contactCenter", rq->ids.cc);
}

const struct endpoint cc_create[1] = { { parse_create, create, NULL } };
const struct endpoint cc_list[1] = { { res_parse_page, list, NULL } };
const struct endpoint cc_get[1] = { { NULL, get, NULL } };
const struct endpoint cc_delete[1] = { { NULL, del, NULL } };
