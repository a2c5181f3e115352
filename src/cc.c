/*
 * cc.c - contact centers, the tenants: /cms/configuration/cc[/{cc}].
 * Only the system administrator creates or deletes one; a contact-center user
 * sees its own.
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

int cc_create(struct request *r)
{
	json_t *body = NULL;
	const char *name;
	struct cc c;
	int rc = -1, src;

	if (http_body(r, &body) || json_get_name(body, "name", false, &name, &r->err))
		goto out;
	src = store_cc_create(r->store, name, &c);
	if (src) {
		http_store_error(r, src, "contactCenter", 0);
		goto out;
	}
	rc = http_reply(r, 201, cc_json(&c, NULL));
out:
	json_decref(body);
	return rc;
}

/* The system administrator's scope is 0: every contact center. */
int cc_list(struct request *r)
{
	return res_list(r, NULL, store_cc_list, r->who.cc, cc_json, NULL);
}

int cc_get(struct request *r)
{
	struct cc c;
	int rc = store_cc_get(r->store, r->ids[0], &c);

	if (rc)
		return http_store_error(r, rc, "contactCenter", r->ids[0]);
	return http_reply(r, 200, cc_json(&c, NULL));
}

int cc_delete(struct request *r)
{
	int rc = store_cc_delete(r->store, r->ids[0]);

	if (rc)
		return http_store_error(r, rc, "contactCenter", r->ids[0]);
	return http_reply(r, 204, NULL);
}
