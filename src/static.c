/*
 * static.c - the files compiled into cmsd (embedded.h): the web console at
 * /cms/ui/ and the OpenAPI document at /cms/openapi.json.
 *
 * They need no credentials: the console logs in through the API, and holds
 * nothing until it has.  Paths are looked up in the embedded table only, so
 * no request can reach the file system.
 */
#include <string.h>

#include "embedded.h"
#include "handlers.h"
#include "errors.h"
#include "xalloc.h"
#include "banned.h"

#define UI_INDEX "ui/index.html"

static const struct embedded_file *find(const char *name)
{
	const struct embedded_file *f;

	for (f = embedded_files; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static int send_file(struct reply *rp, const char *name)
{
	const struct embedded_file *f = find(name);
	char *copy;

	if (!f)
		return error_set(&rp->err, ERR_NO_ENDPOINT);
	copy = xmalloc(f->len + 1);
	memcpy(copy, f->data, f->len + 1);
	rp->cacheable = true; /* public, the same for every caller */
	return reply_bytes(rp, 200, f->type, copy, f->len);
}

/* GET /cms/ui (the router drops a trailing '/') and GET /cms/ui/{rest}. */
static int ui(const struct request *rq, struct reply *rp)
{
	char name[128];
	size_t n;

	if (!rq->ids.rest)
		return send_file(rp, UI_INDEX);
	n = strlen(rq->ids.rest);
	if (n + 4 > sizeof(name))
		return error_set(&rp->err, ERR_NO_ENDPOINT);
	memcpy(name, "ui/", 3);
	memcpy(name + 3, rq->ids.rest, n + 1);
	return send_file(rp, name);
}

static int openapi(const struct request *rq, struct reply *rp)
{
	(void)rq;
	return send_file(rp, "openapi.json");
}

const struct endpoint ui_get[1] = { { NULL, ui, NULL } };
const struct endpoint openapi_get[1] = { { NULL, openapi, NULL } };
