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

static int send_file(struct request *r, const char *name)
{
	const struct embedded_file *f = find(name);
	char *copy;

	if (!f)
		return error_set(&r->err, ERR_NO_ENDPOINT);
	copy = xmalloc(f->len + 1);
	memcpy(copy, f->data, f->len + 1);
	return http_reply_bytes(r, 200, f->type, copy, f->len);
}

/* GET /cms/ui (the router drops a trailing '/') and GET /cms/ui/{rest}. */
int ui_get(struct request *r)
{
	char name[128];
	size_t n;

	if (!r->str)
		return send_file(r, UI_INDEX);
	n = strlen(r->str);
	if (n + 4 > sizeof(name))
		return error_set(&r->err, ERR_NO_ENDPOINT);
	memcpy(name, "ui/", 3);
	memcpy(name + 3, r->str, n + 1);
	return send_file(r, name);
}

int openapi_get(struct request *r)
{
	return send_file(r, "openapi.json");
}
