/*
 * test_errors.c - the error catalog (src/errors.c) held against API.md §5:
 * each code's status, errorCode and errorMessage, the envelope's shape, the
 * details, and how a store result becomes an error.  (test_http.c has the
 * first test of the catalog.)
 */
#include <stdint.h>
#include <string.h>

#include "errors.h"
#include "store.h"
#include "unit.h"

void suite_errors_catalog(void);

/* API.md §5, row by row, with the reason phrase of each status. */
static const struct {
	enum err_code code;
	unsigned status;
	const char *reason, *error_code, *message;
} table[] = {
	{ ERR_INVALID, 400, "Bad Request", "CONF-1002", "Invalid request" },
	{ ERR_BOTH, 400, "Bad Request", "CONF-1003", "User cannot be both assigned and unassigned" },
	{ ERR_AUTH, 401, "Unauthorized", "AUTH-1001", "Authentication required" },
	{ ERR_FORBIDDEN, 403, "Forbidden", "AUTH-1003", "Access denied" },
	{ ERR_NOT_FOUND, 404, "Not Found", "CONF-1001", "Object doesn't exist" },
	{ ERR_NO_ENDPOINT, 404, "Not Found", "HTTP-1404", "No such endpoint" },
	{ ERR_METHOD, 405, "Method Not Allowed", "HTTP-1405", "Method not allowed" },
	{ ERR_NOT_ACCEPTABLE, 406, "Not Acceptable", "HTTP-1406", "Not acceptable" },
	{ ERR_EXISTS, 409, "Conflict", "CONF-1004", "Object already exists" },
	{ ERR_IN_USE, 409, "Conflict", "CONF-1005", "Object is in use" },
	{ ERR_GONE, 410, "Gone", "CONF-1007", "Cursor too old (take a new snapshot)" },
	{ ERR_PRECONDITION, 412, "Precondition Failed", "CONF-1006", "Mapping changed since it was read" },
	{ ERR_TOO_LARGE, 413, "Payload Too Large", "HTTP-1413", "Request body too large" },
	{ ERR_MEDIA, 415, "Unsupported Media Type", "HTTP-1415", "Unsupported media type" },
	{ ERR_TOO_MANY, 429, "Too Many Requests", "HTTP-1429", "Too many requests" },
	/* not in API.md's table: a head over cmsd's bounds, in the same
	 * envelope instead of libmicrohttpd's HTML (docs/decisions.md) */
	{ ERR_HEADERS_TOO_LARGE, 431, "Request Header Fields Too Large", "HTTP-1431",
	  "Request header fields too large" },
	{ ERR_INTERNAL, 500, "Internal Server Error", "SYS-1000", "Internal server error" },
	{ ERR_UNAVAILABLE, 503, "Service Unavailable", "SYS-1003", "Service unavailable" },
};

#define NTABLE (sizeof(table) / sizeof(table[0]))

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "(missing)";
}

/* Whether body is the envelope of row i with no details. */
static int envelope_is(json_t *b, size_t i)
{
	return json_object_size(b) == 4 &&
	       json_integer_value(json_object_get(b, "statusCode")) == table[i].status &&
	       !strcmp(str(b, "status"), table[i].reason) &&
	       !strcmp(str(b, "errorCode"), table[i].error_code) &&
	       !strcmp(str(b, "errorMessage"), table[i].message);
}

/* Every code of the enum is in API.md's table, and every row matches. */
static void every_code(void)
{
	struct error e = ERROR_INIT;
	int seen[ERR__COUNT] = { 0 };
	size_t i;
	int c;
	json_t *b;

	for (i = 0; i < NTABLE; i++) {
		e.code = table[i].code;
		seen[table[i].code]++;
		CHECK(error_status(table[i].code) == table[i].status);
		CHECK(!strcmp(error_code_str(table[i].code), table[i].error_code));
		b = error_body(&e);
		CHECK(envelope_is(b, i));
		if (!envelope_is(b, i))
			fprintf(stderr, "  row of %s\n", table[i].error_code);
		json_decref(b);
	}
	for (c = ERR_NONE + 1; c < ERR__COUNT; c++) {
		CHECK(seen[c] == 1);
		if (seen[c] != 1)
			fprintf(stderr, "  enum err_code %d is in API.md's table %d times\n", c, seen[c]);
	}
}

/* No code, or one out of range, is an internal error. */
static void unknown_codes(void)
{
	struct error e = ERROR_INIT;
	const int bad[] = { ERR_NONE, ERR__COUNT, ERR__COUNT + 7, -1 };
	size_t i, internal = NTABLE - 2;
	json_t *b;

	CHECK(table[internal].code == ERR_INTERNAL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.code = (enum err_code)bad[i];
		CHECK(error_status(e.code) == 500);
		CHECK(!strcmp(error_code_str(e.code), "SYS-1000"));
		b = error_body(&e);
		CHECK(envelope_is(b, internal));
		json_decref(b);
	}
}

static void details(void)
{
	struct error e = ERROR_INIT;
	json_t *b, *d;

	CHECK(error_invalid(&e, "userIds", "must be an array") == -1);
	CHECK(e.code == ERR_INVALID);
	CHECK(error_invalid(&e, "leadId", "missing") == -1);
	CHECK(json_array_size(e.details) == 2);
	d = json_array_get(e.details, 1);
	CHECK(json_object_size(d) == 2 && !strcmp(str(d, "field"), "leadId") &&
	      !strcmp(str(d, "reason"), "missing"));
	b = error_body(&e);
	CHECK(json_object_size(b) == 5 && json_array_size(json_object_get(b, "details")) == 2);
	CHECK(!strcmp(str(json_array_get(json_object_get(b, "details"), 0), "field"), "userIds"));
	/* the body holds its own reference: clearing the error keeps it whole */
	error_clear(&e);
	CHECK(e.code == ERR_NONE && e.details == NULL);
	CHECK(json_array_size(json_object_get(b, "details")) == 2);
	json_decref(b);

	/* error_set keeps the details gathered so far */
	error_missing_id(&e, "campaign", INT64_MAX);
	CHECK(error_set(&e, ERR_IN_USE) == -1 && e.code == ERR_IN_USE);
	d = json_array_get(e.details, 0);
	CHECK(!strcmp(str(d, "object"), "campaign") && !strcmp(str(d, "id"), "9223372036854775807"));
	error_clear(&e);
	error_missing(&e, "campaignUser", "madhur1");
	d = json_array_get(e.details, 0);
	CHECK(e.code == ERR_NOT_FOUND && !strcmp(str(d, "id"), "madhur1"));
	error_clear(&e);

	/* an empty details array is left out */
	e.code = ERR_INVALID;
	e.details = json_array();
	b = error_body(&e);
	CHECK(json_object_get(b, "details") == NULL && json_object_size(b) == 4);
	json_decref(b);
	error_clear(&e);
}

static void from_store(void)
{
	static const struct {
		int rc;
		enum err_code code;
	} map[] = {
		{ STORE_EXISTS, ERR_EXISTS },         { STORE_IN_USE, ERR_IN_USE },
		{ STORE_UNAVAILABLE, ERR_UNAVAILABLE }, { STORE_RETRY, ERR_INTERNAL },
		{ STORE_ERROR, ERR_INTERNAL },        { 99, ERR_INTERNAL },
	};
	struct error e = ERROR_INIT;
	json_t *d;
	size_t i;

	CHECK(error_from_store(&e, STORE_OK, "lead", 5) == 0);
	CHECK(e.code == ERR_NONE && e.details == NULL);
	CHECK(error_from_store(&e, STORE_NOT_FOUND, "lead", 5) == -1);
	d = json_array_get(e.details, 0);
	CHECK(e.code == ERR_NOT_FOUND && json_array_size(e.details) == 1);
	CHECK(!strcmp(str(d, "object"), "lead") && !strcmp(str(d, "id"), "5"));
	error_clear(&e);
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		CHECK(error_from_store(&e, map[i].rc, "lead", 5) == -1);
		CHECK(e.code == map[i].code && e.details == NULL);
		error_clear(&e);
	}
}

void suite_errors_catalog(void)
{
	static const struct unit_test t[] = {
		{ "every_code", every_code }, { "unknown_codes", unknown_codes },
		{ "details", details }, { "from_store", from_store },
	};
	unit_run("errors", t, sizeof(t) / sizeof(t[0]));
}
