/*
 * errors.c - the one table of errors and the one writer of the envelope.
 */
#include "errors.h"

#include <inttypes.h>
#include <stdio.h>

#include "store.h"
#include "banned.h"

static const struct {
	unsigned status;
	const char *reason;
	const char *code;
	const char *message;
} catalog[ERR__COUNT] = {
	[ERR_NONE] = { 500, "Internal Server Error", "SYS-1000", "Internal server error" },
	[ERR_INVALID] = { 400, "Bad Request", "CONF-1002", "Invalid request" },
	[ERR_BOTH] = { 400, "Bad Request", "CONF-1003", "User cannot be both assigned and unassigned" },
	[ERR_AUTH] = { 401, "Unauthorized", "AUTH-1001", "Authentication required" },
	[ERR_FORBIDDEN] = { 403, "Forbidden", "AUTH-1003", "Access denied" },
	[ERR_NOT_FOUND] = { 404, "Not Found", "CONF-1001", "Object doesn't exist" },
	[ERR_NO_ENDPOINT] = { 404, "Not Found", "HTTP-1404", "No such endpoint" },
	[ERR_METHOD] = { 405, "Method Not Allowed", "HTTP-1405", "Method not allowed" },
	[ERR_NOT_ACCEPTABLE] = { 406, "Not Acceptable", "HTTP-1406", "Not acceptable" },
	[ERR_EXISTS] = { 409, "Conflict", "CONF-1004", "Object already exists" },
	[ERR_IN_USE] = { 409, "Conflict", "CONF-1005", "Object is in use" },
	[ERR_TOO_LARGE] = { 413, "Payload Too Large", "HTTP-1413", "Request body too large" },
	[ERR_MEDIA] = { 415, "Unsupported Media Type", "HTTP-1415", "Unsupported media type" },
	[ERR_TOO_MANY] = { 429, "Too Many Requests", "HTTP-1429", "Too many requests" },
	[ERR_INTERNAL] = { 500, "Internal Server Error", "SYS-1000", "Internal server error" },
	[ERR_UNAVAILABLE] = { 503, "Service Unavailable", "SYS-1003", "Service unavailable" },
	[ERR_GONE] = { 410, "Gone", "CONF-1007", "Cursor too old (take a new snapshot)" },
	[ERR_PRECONDITION] = { 412, "Precondition Failed", "CONF-1006", "Mapping changed since it was read" },
	[ERR_HEADERS_TOO_LARGE] = { 431, "Request Header Fields Too Large", "HTTP-1431",
				    "Request header fields too large" },
};

static enum err_code valid(enum err_code code)
{
	return (code > ERR_NONE && code < ERR__COUNT) ? code : ERR_INTERNAL;
}

unsigned error_status(enum err_code code)
{
	return catalog[valid(code)].status;
}

const char *error_code_str(enum err_code code)
{
	return catalog[valid(code)].code;
}

json_t *error_body(const struct error *e)
{
	enum err_code c = valid(e->code);
	json_t *o = json_object();

	json_object_set_new(o, "statusCode", json_integer(catalog[c].status));
	json_object_set_new(o, "status", json_string(catalog[c].reason));
	json_object_set_new(o, "errorCode", json_string(catalog[c].code));
	json_object_set_new(o, "errorMessage", json_string(catalog[c].message));
	if (e->details && json_array_size(e->details))
		json_object_set(o, "details", e->details);
	return o;
}

int error_set(struct error *e, enum err_code code)
{
	e->code = code;
	return -1;
}

static void append(struct error *e, const char *k1, const char *v1,
		   const char *k2, const char *v2)
{
	json_t *d = json_object();

	if (!e->details)
		e->details = json_array();
	json_object_set_new(d, k1, json_string(v1));
	json_object_set_new(d, k2, json_string(v2));
	json_array_append_new(e->details, d);
}

int error_invalid(struct error *e, const char *field, const char *reason)
{
	append(e, "field", field, "reason", reason);
	return error_set(e, ERR_INVALID);
}

int error_missing(struct error *e, const char *object, const char *id)
{
	append(e, "object", object, "id", id);
	return error_set(e, ERR_NOT_FOUND);
}

int error_missing_id(struct error *e, const char *object, int64_t id)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, id);
	return error_missing(e, object, buf);
}

int error_from_store(struct error *e, int rc, const char *object, int64_t id)
{
	switch (rc) {
	case STORE_OK:
		return 0;
	case STORE_NOT_FOUND:
		return error_missing_id(e, object, id);
	case STORE_EXISTS:
		return error_set(e, ERR_EXISTS);
	case STORE_IN_USE:
		return error_set(e, ERR_IN_USE);
	case STORE_UNAVAILABLE:
		return error_set(e, ERR_UNAVAILABLE);
	default:
		return error_set(e, ERR_INTERNAL);
	}
}

void error_clear(struct error *e)
{
	json_decref(e->details);
	e->details = NULL;
	e->code = ERR_NONE;
}
