/*
 * resource.c - shared mechanics of the set-up resources (API.md §4).
 */
#include "resource.h"

#include "json.h"
#include "banned.h"

int res_check_path(struct request *r, int64_t cc, int64_t process,
		   int64_t campaign, int64_t lead)
{
	struct store_path p = { cc, process, campaign, lead };
	const char *object = "contactCenter";
	int64_t id = cc;
	int rc = store_path_check(r->store, &p, &object, &id);

	return rc ? http_store_error(r, rc, object, id) : 0;
}

int res_store_error(struct request *r, int rc, const char *object,
		    const char *id)
{
	if (rc == STORE_NOT_FOUND)
		return error_missing(&r->err, object, id);
	return http_store_error(r, rc, object, 0);
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

/* res_list() of `list`, or of `cc_list` in the caller's contact center. */
static int list_answer(struct request *r, const struct store_path *chain,
		       store_list_fn list, store_cc_list_fn cc_list, int64_t parent,
		       row_json_fn to_json, const void *arg)
{
	struct list_ctx l = { NULL, to_json, arg };
	struct page pg;
	int rc;

	if (http_page(r, &pg) ||
	    (chain && res_check_path(r, chain->cc, chain->process, chain->campaign, chain->lead)))
		return -1;
	l.arr = json_array();
	rc = list ? list(r->store, parent, &pg, append_row, &l, &r->total) :
		    cc_list(r->store, r->who.cc, parent, &pg, append_row, &l, &r->total);
	if (rc) {
		json_decref(l.arr);
		return http_store_error(r, rc, "list", 0);
	}
	return http_reply(r, 200, l.arr);
}

int res_list(struct request *r, const struct store_path *chain,
	     store_list_fn list, int64_t parent, row_json_fn to_json,
	     const void *arg)
{
	return list_answer(r, chain, list, NULL, parent, to_json, arg);
}

int res_list_cc(struct request *r, const struct store_path *chain,
		store_cc_list_fn list, int64_t parent, row_json_fn to_json,
		const void *arg)
{
	return list_answer(r, chain, NULL, list, parent, to_json, arg);
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

int child_create(struct request *r, const struct child_kind *k)
{
	json_t *body = NULL;
	const char *name;
	struct proc_child c;
	int rc = -1, src;

	if (http_body(r, &body) || json_get_name(body, k->name_key, false, &name, &r->err) ||
	    res_check_path(r, r->ids[0], r->ids[1], 0, 0))
		goto out;
	src = k->create(r->store, r->who.cc, r->ids[1], name, &c);
	if (src) {
		http_store_error(r, src, "process", r->ids[1]);
		goto out;
	}
	rc = http_reply(r, 201, child_json(&c, k));
out:
	json_decref(body);
	return rc;
}

int child_list(struct request *r, const struct child_kind *k)
{
	struct store_path chain = { r->ids[0], r->ids[1], 0, 0 };

	return res_list_cc(r, &chain, k->list, r->ids[1], child_json, k);
}

int child_get(struct request *r, const struct child_kind *k)
{
	struct proc_child c;
	int rc;

	if (res_check_path(r, r->ids[0], r->ids[1], 0, 0))
		return -1;
	rc = k->get(r->store, r->who.cc, r->ids[1], r->ids[2], &c);
	if (rc)
		return http_store_error(r, rc, k->object, r->ids[2]);
	return http_reply(r, 200, child_json(&c, k));
}

int child_delete(struct request *r, const struct child_kind *k)
{
	int rc;

	if (res_check_path(r, r->ids[0], r->ids[1], 0, 0))
		return -1;
	rc = k->del(r->store, r->who.cc, r->ids[1], r->ids[2]);
	if (rc)
		return http_store_error(r, rc, k->object, r->ids[2]);
	return http_reply(r, 204, NULL);
}
