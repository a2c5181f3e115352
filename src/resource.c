/*
 * resource.c - shared mechanics of the set-up resources (API.md §4).
 */
#include "resource.h"

#include "json.h"
#include "banned.h"

int res_parse_page(const struct request *rq, struct input *in, struct error *err)
{
	return req_page(rq, in, err);
}

int res_parse_named(const struct request *rq, struct input *in, struct error *err,
		    const char *key)
{
	const char *name;

	return req_body(rq, in, err) || json_get_name(in->body, key, false, &name, err) ?
		       RES_FAIL : RES_OK;
}

const char *res_name(const struct request *rq, const char *key)
{
	return json_string_value(json_object_get(rq->in.body, key));
}

struct list_ctx {
	json_t *arr;
	row_json_fn to_json;
	const void *arg;
};

static int append_row(void *ctx, const void *row)
{
	struct list_ctx *l = ctx;

	json_array_append_new(l->arr, l->to_json(row, l->arg));
	return 0;
}

/* One page of either kind of list (the other NULL) as the answer. */
static int list_answer(const struct request *rq, struct reply *rp, store_list_fn list,
		       store_cc_list_fn list_cc, int64_t parent, row_json_fn to_json,
		       const void *arg)
{
	struct list_ctx l = { json_array(), to_json, arg };
	int rc = list ? list(rq->store, parent, &rq->in.page, append_row, &l, &rp->total) :
			list_cc(rq->store, rq->who.cc, parent, &rq->in.page, append_row, &l,
				&rp->total);

	if (rc) {
		json_decref(l.arr);
		return reply_store_error(rp, rc, "list", 0);
	}
	return reply_json(rp, 200, l.arr);
}

int res_list(const struct request *rq, struct reply *rp, store_list_fn list, int64_t parent,
	     row_json_fn to_json, const void *arg)
{
	return list_answer(rq, rp, list, NULL, parent, to_json, arg);
}

int res_list_cc(const struct request *rq, struct reply *rp, store_cc_list_fn list,
		int64_t parent, row_json_fn to_json, const void *arg)
{
	return list_answer(rq, rp, NULL, list, parent, to_json, arg);
}

int res_deleted(struct reply *rp, int del, const char *object, int64_t id)
{
	return del ? reply_store_error(rp, del, object, id) : reply_json(rp, 204, NULL);
}

/* ---- lead lists and campaigns ---- */

static json_t *child_json(const void *row, const void *arg)
{
	const struct proc_child *c = row;
	const struct child_kind *k = arg;
	json_t *o = json_object();

	json_object_set_new(o, k->id_key, json_integer(c->id));
	json_object_set_new(o, k->name_key, json_string(c->name));
	if (k->voice)
		json_object_set_new(o, "campaignType", json_string("voice"));
	json_object_set_new(o, "processId", json_integer(c->process_id));
	return o;
}

int child_parse(const struct request *rq, struct input *in, struct error *err,
		const struct child_kind *k)
{
	return res_parse_named(rq, in, err, k->name_key);
}

int child_create(const struct request *rq, struct reply *rp, const struct child_kind *k)
{
	struct proc_child c;
	int rc = k->create(rq->store, rq->who.cc, rq->ids.process, res_name(rq, k->name_key), &c);

	if (rc)
		return reply_store_error(rp, rc, "process", rq->ids.process);
	return reply_json(rp, 201, child_json(&c, k));
}

int child_list(const struct request *rq, struct reply *rp, const struct child_kind *k)
{
	return res_list_cc(rq, rp, k->list, rq->ids.process, child_json, k);
}

int child_get(const struct request *rq, struct reply *rp, const struct child_kind *k,
	      int64_t id)
{
	struct proc_child c;
	int rc = k->get(rq->store, rq->who.cc, rq->ids.process, id, &c);

	if (rc)
		return reply_store_error(rp, rc, k->object, id);
	return reply_json(rp, 200, child_json(&c, k));
}

int child_delete(const struct request *rq, struct reply *rp, const struct child_kind *k,
		 int64_t id)
{
	return res_deleted(rp, k->del(rq->store, rq->who.cc, rq->ids.process, id), k->object, id);
}
