/*
 * test_tenants.c - contact centers (cc.c) and processes (process.c),
 * driven through the pipeline with a real store: only the system
 * administrator creates or deletes a contact center and sees them all,
 * while any other user's list holds its own alone; a process is created
 * and listed within its contact center; neither is deleted while anything
 * still hangs below it (409 CONF-1005).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "unit.h"

void suite_tenants(void);

#define CFG "/cms/configuration"

/* method by `who` on the path of printf format `fmt`, with JSON body `body`
 * (NULL: none); the answer is left in x. */
static unsigned call(struct exchange *x, const struct fixture *f, enum who who,
		     const char *method, const char *body, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static unsigned call(struct exchange *x, const struct fixture *f, enum who who,
		     const char *method, const char *body, const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	ex_start(x, f, who, method, "%s", path);
	if (body)
		ex_body(x, "%s", body);
	return ex_call(x);
}

/* A new contact center `name` by the system administrator: its id. */
static int64_t new_cc(const struct fixture *f, const char *name)
{
	struct exchange x;
	char body[64];
	int64_t id;

	snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
	CHECK(call(&x, f, SYS, "POST", body, CFG "/cc") == 201);
	CHECK(ex_is(&x, "name", name) && json_object_size(x.json) == 2);
	id = ex_int(&x, "contactCenterId");
	CHECK(id > 0);
	ex_end(&x);
	return id;
}

/* A new process `name` of contact center cc by `who`: its id. */
static int64_t new_process(const struct fixture *f, enum who who, int64_t cc, const char *name)
{
	struct exchange x;
	char body[64];
	int64_t id;

	snprintf(body, sizeof(body), "{\"processName\":\"%s\"}", name);
	CHECK(call(&x, f, who, "POST", body, CFG "/cc/%lld/process", (long long)cc) == 201);
	CHECK(ex_is(&x, "processName", name) && ex_int(&x, "contactCenterId") == cc);
	CHECK(json_object_size(x.json) == 3);
	id = ex_int(&x, "processId");
	CHECK(id > 0);
	ex_end(&x);
	return id;
}

/* Whether the list at path (printf format) by `who` holds exactly the
 * `n` objects whose member `key` is ids[0..n), in that order. */
static bool lists(const struct fixture *f, enum who who, const char *key, const int64_t *ids,
		  size_t n, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static bool lists(const struct fixture *f, enum who who, const char *key, const int64_t *ids,
		  size_t n, const char *fmt, ...)
{
	struct exchange x;
	char path[256];
	va_list ap;
	bool ok;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	ok = call(&x, f, who, "GET", NULL, "%s", path) == 200 && json_array_size(x.json) == n &&
	     ex_hdr(&x, "X-Total-Count") && atoll(ex_hdr(&x, "X-Total-Count")) == (long long)n;
	for (i = 0; ok && i < n; i++)
		ok = json_integer_value(json_object_get(json_array_get(x.json, i), key)) == ids[i];
	if (!ok)
		fprintf(stderr, "  %s as %d: %.*s\n", path, (int)who, (int)x.a.len,
			x.a.body ? x.a.body : "");
	ex_end(&x);
	return ok;
}

/* ---- contact centers ---- */

static void cc_create(void)
{
	struct fixture f;
	struct exchange x;
	int64_t c, all[3];

	if (fixture_open(&f))
		return;
	c = new_cc(&f, "C");
	CHECK(call(&x, &f, SYS, "GET", NULL, CFG "/cc/%lld", (long long)c) == 200);
	CHECK(ex_int(&x, "contactCenterId") == c && ex_is(&x, "name", "C"));
	ex_end(&x);
	all[0] = f.cc_a, all[1] = f.cc_b, all[2] = c;
	CHECK(lists(&f, SYS, "contactCenterId", all, 3, CFG "/cc"));

	CHECK(call(&x, &f, A_ADMIN, "POST", "{\"name\":\"D\"}", CFG "/cc") == 403);
	CHECK(ex_error(&x, 403, "AUTH-1003"));
	ex_end(&x);
	CHECK(call(&x, &f, SYS, "POST", "{\"name\":\"\"}", CFG "/cc") == 400);
	CHECK(ex_bad_field(&x, "name"));
	ex_end(&x);
	CHECK(call(&x, &f, SYS, "POST", "{\"processName\":\"D\"}", CFG "/cc") == 400);
	CHECK(ex_bad_field(&x, "name"));
	ex_end(&x);
	CHECK(lists(&f, SYS, "contactCenterId", all, 3, CFG "/cc"));
	fixture_close(&f);
}

/* Everybody but the system administrator sees its own contact center. */
static void cc_list_scope(void)
{
	struct fixture f;
	struct exchange x;
	int64_t both[2];

	if (fixture_open(&f))
		return;
	both[0] = f.cc_a, both[1] = f.cc_b;
	CHECK(lists(&f, SYS, "contactCenterId", both, 2, CFG "/cc"));
	CHECK(lists(&f, A_ADMIN, "contactCenterId", &f.cc_a, 1, CFG "/cc"));
	CHECK(lists(&f, A_AGENT, "contactCenterId", &f.cc_a, 1, CFG "/cc"));
	CHECK(lists(&f, B_ADMIN, "contactCenterId", &f.cc_b, 1, CFG "/cc"));

	CHECK(call(&x, &f, A_AGENT, "GET", NULL, CFG "/cc/%lld", (long long)f.cc_a) == 200);
	CHECK(ex_is(&x, "name", "A"));
	ex_end(&x);
	CHECK(call(&x, &f, A_ADMIN, "GET", NULL, CFG "/cc/%lld", (long long)f.cc_b) == 404);
	CHECK(ex_missing_id(&x, 0, "contactCenter", f.cc_b));
	ex_end(&x);
	fixture_close(&f);
}

/* A contact center with a user, or with a process, is in use. */
static void cc_delete_in_use(void)
{
	struct fixture f;
	struct exchange x;
	int64_t with_user, with_process, empty;

	if (fixture_open(&f))
		return;
	with_user = new_cc(&f, "U");
	with_process = new_cc(&f, "P");
	empty = new_cc(&f, "E");
	CHECK(call(&x, &f, SYS, "POST", "{\"userId\":\"u_admin\",\"name\":\"U\",\"role\":\"Agent\"}",
		   CFG "/cc/%lld/user", (long long)with_user) == 201);
	ex_end(&x);
	new_process(&f, SYS, with_process, "p");

	CHECK(call(&x, &f, SYS, "DELETE", NULL, CFG "/cc/%lld", (long long)f.cc_a) == 409);
	CHECK(ex_error(&x, 409, "CONF-1005"));
	ex_end(&x);
	CHECK(call(&x, &f, SYS, "DELETE", NULL, CFG "/cc/%lld", (long long)with_user) == 409);
	CHECK(ex_error(&x, 409, "CONF-1005"));
	ex_end(&x);
	CHECK(call(&x, &f, SYS, "DELETE", NULL, CFG "/cc/%lld", (long long)with_process) == 409);
	CHECK(ex_error(&x, 409, "CONF-1005"));
	ex_end(&x);
	CHECK(call(&x, &f, A_ADMIN, "DELETE", NULL, CFG "/cc/%lld", (long long)f.cc_a) == 403);
	ex_end(&x);

	CHECK(call(&x, &f, SYS, "DELETE", NULL, CFG "/cc/%lld", (long long)empty) == 204);
	CHECK(x.a.len == 0);
	ex_end(&x);
	CHECK(call(&x, &f, SYS, "GET", NULL, CFG "/cc/%lld", (long long)empty) == 404);
	CHECK(ex_missing_id(&x, 0, "contactCenter", empty));
	ex_end(&x);
	CHECK(call(&x, &f, SYS, "DELETE", NULL, CFG "/cc/%lld", (long long)empty) == 404);
	CHECK(ex_missing_id(&x, 0, "contactCenter", empty));
	ex_end(&x);
	CHECK(ex_listed(&f, SYS, CFG "/cc") == 4);
	fixture_close(&f);
}

/* ---- processes ---- */

static void process_create_list(void)
{
	struct fixture f;
	struct exchange x;
	int64_t p2, ids[2];

	if (fixture_open(&f))
		return;
	p2 = new_process(&f, A_ADMIN, f.cc_a, "p2");
	ids[0] = f.proc_a, ids[1] = p2;
	CHECK(lists(&f, A_AGENT, "processId", ids, 2, CFG "/cc/%lld/process", (long long)f.cc_a));
	CHECK(lists(&f, B_ADMIN, "processId", &f.proc_b, 1, CFG "/cc/%lld/process",
		    (long long)f.cc_b));
	CHECK(lists(&f, SYS, "processId", &f.proc_b, 1, CFG "/cc/%lld/process", (long long)f.cc_b));
	CHECK(call(&x, &f, A_ADMIN, "GET", NULL, CFG "/cc/%lld/process", (long long)f.cc_b) == 404);
	CHECK(ex_missing_id(&x, 0, "contactCenter", f.cc_b));
	ex_end(&x);

	CHECK(call(&x, &f, A_AGENT, "GET", NULL, CFG "/cc/%lld/process/%lld", (long long)f.cc_a,
		   (long long)p2) == 200);
	CHECK(ex_int(&x, "processId") == p2 && ex_is(&x, "processName", "p2"));
	ex_end(&x);
	/* B's process is not found below A */
	CHECK(call(&x, &f, A_ADMIN, "GET", NULL, CFG "/cc/%lld/process/%lld", (long long)f.cc_a,
		   (long long)f.proc_b) == 404);
	CHECK(ex_missing_id(&x, 0, "process", f.proc_b));
	ex_end(&x);

	CHECK(call(&x, &f, A_AGENT, "POST", "{\"processName\":\"x\"}", CFG "/cc/%lld/process",
		   (long long)f.cc_a) == 403);
	ex_end(&x);
	CHECK(call(&x, &f, B_ADMIN, "POST", "{\"processName\":\"x\"}", CFG "/cc/%lld/process",
		   (long long)f.cc_a) == 404);
	ex_end(&x);
	CHECK(call(&x, &f, A_ADMIN, "POST", "{\"name\":\"x\"}", CFG "/cc/%lld/process",
		   (long long)f.cc_a) == 400);
	CHECK(ex_bad_field(&x, "processName"));
	ex_end(&x);
	CHECK(fixture_processes(&f, f.cc_a) == 2 && fixture_processes(&f, f.cc_b) == 1);
	fixture_close(&f);
}

/* A process with a lead list, or a campaign, is in use. */
static void process_delete_in_use(void)
{
	struct fixture f;
	struct exchange x;
	int64_t with_lead, empty;

	if (fixture_open(&f))
		return;
	with_lead = new_process(&f, A_ADMIN, f.cc_a, "with lead");
	empty = new_process(&f, A_ADMIN, f.cc_a, "empty");
	fixture_lead(&f, with_lead, "leads");

	CHECK(call(&x, &f, A_ADMIN, "DELETE", NULL, CFG "/cc/%lld/process/%lld", (long long)f.cc_a,
		   (long long)f.proc_a) == 409);
	CHECK(ex_error(&x, 409, "CONF-1005"));
	ex_end(&x);
	CHECK(call(&x, &f, A_ADMIN, "DELETE", NULL, CFG "/cc/%lld/process/%lld", (long long)f.cc_a,
		   (long long)with_lead) == 409);
	CHECK(ex_error(&x, 409, "CONF-1005"));
	ex_end(&x);
	CHECK(fixture_has_process(&f, f.cc_a, f.proc_a) && fixture_has_process(&f, f.cc_a, with_lead));

	CHECK(call(&x, &f, A_ADMIN, "DELETE", NULL, CFG "/cc/%lld/process/%lld", (long long)f.cc_a,
		   (long long)empty) == 204);
	ex_end(&x);
	CHECK(!fixture_has_process(&f, f.cc_a, empty));
	CHECK(call(&x, &f, A_ADMIN, "DELETE", NULL, CFG "/cc/%lld/process/%lld", (long long)f.cc_a,
		   (long long)empty) == 404);
	CHECK(ex_missing_id(&x, 0, "process", empty));
	ex_end(&x);
	fixture_close(&f);
}

void suite_tenants(void)
{
	static const struct unit_test tests[] = {
		{ "cc_create", cc_create },
		{ "cc_list_scope", cc_list_scope },
		{ "cc_delete_in_use", cc_delete_in_use },
		{ "process_create_list", process_create_list },
		{ "process_delete_in_use", process_delete_in_use },
	};

	unit_run("tenants", tests, sizeof(tests) / sizeof(tests[0]));
}
