/*
 * test_request.c - the pipeline of request.c against a real SQLite store:
 * what request_admit() refuses from the request line and headers alone,
 * and in what order; what request_run() does with a parse failure, the
 * route's access check and a handler; and, with this file's own routes,
 * the transaction around a handler (RES_RETRY reruns, RES_ROLLBACK and
 * RES_FAIL leave no writes behind).
 */
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "router.h"
#include "store.h"
#include "unit.h"

void suite_request(void);

#define CFG "/cms/configuration"

/* ---- admission ---- */

/* A request refused in admission: never run, answered status/code. */
static void refused(struct exchange *x, unsigned status, const char *code)
{
	CHECK(!ex_admit(x));
	CHECK(ex_call(x) == status);
	CHECK(ex_error(x, status, code));
}

static void admit_no_route(void)
{
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	ex_start(&x, &f, A_ADMIN, "GET", "/nope");
	refused(&x, 404, "HTTP-1404");
	CHECK(x.rq.route == NULL);
	ex_end(&x);

	ex_start(&x, &f, A_ADMIN, "PATCH", CFG "/cc/%lld/user/a_agent", (long long)f.cc_a);
	refused(&x, 405, "HTTP-1405");
	CHECK(ex_hdr(&x, "Allow") && !strcmp(ex_hdr(&x, "Allow"), "GET, HEAD, PUT, DELETE"));
	ex_end(&x);
	fixture_close(&f);
}

static void admit_credentials(void)
{
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	ex_start(&x, &f, NOBODY, "GET", CFG "/cc");
	refused(&x, 401, "AUTH-1001");
	CHECK(ex_hdr(&x, "WWW-Authenticate") != NULL);
	ex_end(&x);

	ex_start(&x, &f, NOBODY, "GET", CFG "/cc");
	ex_header(&x, "Authorization", "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	refused(&x, 401, "AUTH-1001");
	ex_end(&x);

	/* credentials come before negotiation: no answer of any kind without them */
	ex_start(&x, &f, NOBODY, "GET", CFG "/cc");
	ex_header(&x, "Accept", "text/html");
	refused(&x, 401, "AUTH-1001");
	ex_end(&x);

	/* a password works as well as a token */
	ex_start(&x, &f, NOBODY, "GET", CFG "/cc/%lld", (long long)f.cc_a);
	ex_header(&x, "Authorization", "Basic YV9hZ2VudDpjb3JyZWN0IGhvcnNlIGJhdHRlcnk=");
	CHECK(ex_admit(&x) && x.rq.who.role == ROLE_AGENT && x.rq.who.cc == f.cc_a);
	CHECK(!strcmp(x.rq.who.user_id, "a_agent"));
	ex_end(&x);
	fixture_close(&f);
}

static void admit_negotiation(void)
{
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	ex_start(&x, &f, A_ADMIN, "GET", CFG "/cc/%lld/process", (long long)f.cc_a);
	ex_header(&x, "Accept", "text/html");
	refused(&x, 406, "HTTP-1406");
	ex_end(&x);

	ex_start(&x, &f, A_ADMIN, "POST", CFG "/cc/%lld/process", (long long)f.cc_a);
	x.rq.body = "{\"processName\":\"x\"}";
	x.rq.body_len = strlen(x.rq.body);
	ex_header(&x, "Content-Type", "text/plain");
	refused(&x, 415, "HTTP-1415");
	ex_end(&x);

	ex_start(&x, &f, A_ADMIN, "POST", CFG "/cc/%lld/process", (long long)f.cc_a);
	refused(&x, 415, "HTTP-1415"); /* no Content-Type at all */
	ex_end(&x);
	CHECK(fixture_processes(&f, f.cc_a) == 1);
	fixture_close(&f);
}

static void admit_ids_tenant_role(void)
{
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	ex_start(&x, &f, A_ADMIN, "GET", CFG "/cc/%lld/process/0", (long long)f.cc_a);
	refused(&x, 404, "CONF-1001");
	CHECK(ex_missing(&x, 0, "process", "0"));
	ex_end(&x);

	ex_start(&x, &f, A_ADMIN, "GET", CFG "/cc/%lld/process", (long long)f.cc_b);
	refused(&x, 404, "CONF-1001");
	CHECK(ex_missing_id(&x, 0, "contactCenter", f.cc_b));
	ex_end(&x);

	/* another tenant answers 404 before the role would answer 403 */
	ex_start(&x, &f, A_AGENT, "POST", CFG "/cc/%lld/process", (long long)f.cc_b);
	ex_body(&x, "{\"processName\":\"x\"}");
	refused(&x, 404, "CONF-1001");
	CHECK(ex_missing_id(&x, 0, "contactCenter", f.cc_b));
	ex_end(&x);

	ex_start(&x, &f, A_AGENT, "POST", CFG "/cc/%lld/process", (long long)f.cc_a);
	ex_body(&x, "{\"processName\":\"x\"}");
	refused(&x, 403, "AUTH-1003");
	ex_end(&x);

	/* the system administrator passes any tenant, and on to the run */
	ex_start(&x, &f, SYS, "GET", CFG "/cc/%lld/process", (long long)f.cc_b);
	CHECK(ex_admit(&x) && x.rq.route && !strcmp(x.rq.route->name, "process.list"));
	CHECK(x.rq.ids.cc == f.cc_b && x.rq.store == f.store);
	ex_end(&x);
	CHECK(fixture_processes(&f, f.cc_a) == 1 && fixture_processes(&f, f.cc_b) == 1);
	fixture_close(&f);
}

/* ---- the run on real routes ---- */

/* A body that is not JSON: 400 from the parse step, before any transaction.
 * The test holds a write transaction on the same connection: a store_begin()
 * in the pipeline would fail (no nesting) and answer 500, and a rollback
 * would end the test's transaction; without one held, a transaction the
 * pipeline left open would refuse the test's own. */
static void run_parse_fails(void)
{
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	ex_start(&x, &f, A_ADMIN, "POST", CFG "/cc/%lld/process", (long long)f.cc_a);
	ex_body(&x, "{\"processName\":");
	CHECK(ex_admit(&x));
	CHECK(store_begin(f.store, true) == STORE_OK);
	CHECK(ex_call(&x) == 400);
	CHECK(ex_error(&x, 400, "CONF-1002"));
	CHECK(json_array_size(json_object_get(x.json, "details")) == 1 && ex_invalid(&x, 0, "body"));
	CHECK(store_commit(f.store) == STORE_OK); /* still the test's transaction */
	ex_end(&x);

	/* the name the parse step requires */
	ex_start(&x, &f, A_ADMIN, "POST", CFG "/cc/%lld/process", (long long)f.cc_a);
	ex_body(&x, "{\"name\":\"x\"}");
	CHECK(ex_call(&x) == 400 && ex_error(&x, 400, "CONF-1002"));
	CHECK(x.a.body && strstr(x.a.body, "processName"));
	/* and left no transaction open behind it */
	CHECK(store_begin(f.store, true) == STORE_OK);
	store_rollback(f.store);
	ex_end(&x);
	CHECK(fixture_processes(&f, f.cc_a) == 1);
	fixture_close(&f);
}

static void run_access_check(void)
{
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	/* B's process below A's contact center: the chain breaks at the process */
	ex_start(&x, &f, A_ADMIN, "GET", CFG "/cc/%lld/process/%lld/lead", (long long)f.cc_a,
		 (long long)f.proc_b);
	CHECK(ex_admit(&x));
	CHECK(ex_call(&x) == 404 && ex_error(&x, 404, "CONF-1001"));
	CHECK(ex_missing_id(&x, 0, "process", f.proc_b));
	CHECK(json_array_size(json_object_get(x.json, "details")) == 1);
	ex_end(&x);

	/* a campaign of A's process that does not exist */
	ex_start(&x, &f, A_ADMIN, "GET", CFG "/cc/%lld/process/%lld/campaign/%lld/campaign-user",
		 (long long)f.cc_a, (long long)f.proc_a, (long long)(f.campaign + 100));
	CHECK(ex_call(&x) == 404 && ex_missing_id(&x, 0, "campaign", f.campaign + 100));
	ex_end(&x);

	/* a contact center that does not exist, for the one caller it passes admission */
	ex_start(&x, &f, SYS, "GET", CFG "/cc/%lld/process", (long long)(f.cc_b + 100));
	CHECK(ex_call(&x) == 404 && ex_missing_id(&x, 0, "contactCenter", f.cc_b + 100));
	ex_end(&x);

	/* and the chain that holds answers */
	ex_start(&x, &f, A_AGENT, "GET", CFG "/cc/%lld/process/%lld/campaign/%lld/campaign-user",
		 (long long)f.cc_a, (long long)f.proc_a, (long long)f.campaign);
	CHECK(ex_call(&x) == 200 && json_array_size(x.json) == 2);
	CHECK(ex_hdr(&x, "X-Total-Count") && !strcmp(ex_hdr(&x, "X-Total-Count"), "2"));
	ex_end(&x);
	fixture_close(&f);
}

static void run_creates(void)
{
	struct fixture f;
	struct exchange x;
	int64_t id;

	if (fixture_open(&f))
		return;
	ex_start(&x, &f, A_ADMIN, "POST", CFG "/cc/%lld/process", (long long)f.cc_a);
	ex_body(&x, "{\"processName\":\"Sales\"}");
	CHECK(ex_call(&x) == 201);
	id = ex_int(&x, "processId");
	CHECK(id > 0 && ex_int(&x, "contactCenterId") == f.cc_a);
	CHECK(!strcmp(json_string_value(json_object_get(x.json, "processName")), "Sales"));
	ex_end(&x);
	CHECK(id > 0 && fixture_has_process(&f, f.cc_a, id));
	CHECK(!fixture_has_process(&f, f.cc_b, id));
	CHECK(fixture_processes(&f, f.cc_a) == 2);
	fixture_close(&f);
}

/* X-Cmsd-Fault (tests only): the commit fails after the handler's write,
 * which must then be rolled back; a busy store is rerun, then 503. */
static void run_injected_faults(void)
{
	static const struct {
		const char *fault, *code;
		unsigned status;
	} cases[] = {
		{ "store-error", "SYS-1000", 500 },
		{ "store-unavailable", "SYS-1003", 503 },
		{ "store-busy", "SYS-1003", 503 },
	};
	struct fixture f;
	struct exchange x;
	size_t i;

	if (fixture_open(&f))
		return;
	fixture_faults(true);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ex_start(&x, &f, A_ADMIN, "POST", CFG "/cc/%lld/process", (long long)f.cc_a);
		ex_body(&x, "{\"processName\":\"faulty\"}");
		ex_header(&x, "X-Cmsd-Fault", cases[i].fault);
		CHECK(ex_call(&x) == cases[i].status && ex_error(&x, cases[i].status, cases[i].code));
		ex_end(&x);
		CHECK(fixture_processes(&f, f.cc_a) == 1);
	}
	/* off, the header is ignored */
	fixture_faults(false);
	ex_start(&x, &f, A_ADMIN, "POST", CFG "/cc/%lld/process", (long long)f.cc_a);
	ex_body(&x, "{\"processName\":\"fine\"}");
	ex_header(&x, "X-Cmsd-Fault", "store-error");
	CHECK(ex_call(&x) == 201);
	ex_end(&x);
	CHECK(fixture_processes(&f, f.cc_a) == 2);
	fixture_close(&f);
}

/* ---- the transaction, with this file's own routes ---- */

static int calls;        /* how often a handler of this file ran */
static int64_t written;  /* the process its last run created, or 0 */

/* A process named after the attempt, in the request's contact center. */
static int write_process(const struct request *rq, struct reply *rp)
{
	struct process p;
	char name[32];
	int rc;

	calls++;
	written = 0;
	snprintf(name, sizeof(name), "attempt-%d", calls);
	rc = store_process_create(rq->store, rq->ids.cc, name, &p);
	if (rc)
		return reply_store_error(rp, rc, "contactCenter", rq->ids.cc);
	written = p.id;
	return RES_OK;
}

static int busy_always(const struct request *rq, struct reply *rp)
{
	int rc = write_process(rq, rp);

	return rc ? rc : reply_store_error(rp, STORE_RETRY, "process", 0);
}

/* Busy twice, then answers 201; a rerun starts from a reset reply. */
static int busy_twice(const struct request *rq, struct reply *rp)
{
	int rc;

	CHECK(rp->status == 0 && rp->err.code == ERR_NONE && !rp->etag[0]);
	rc = write_process(rq, rp);
	snprintf(rp->etag, sizeof(rp->etag), "\"attempt\"");
	if (rc)
		return rc;
	if (calls < 3)
		return reply_store_error(rp, STORE_RETRY, "process", 0);
	return reply_json(rp, 201, json_pack("{s:I}", "processId", (json_int_t)written));
}

/* Writes, answers, and asks for a rollback (a dry run). */
static int dry(const struct request *rq, struct reply *rp)
{
	int rc = write_process(rq, rp);

	if (rc)
		return rc;
	reply_json(rp, 200, json_pack("{s:b}", "dryRun", 1));
	return RES_ROLLBACK;
}

/* Writes, then fails. */
static int fails(const struct request *rq, struct reply *rp)
{
	int rc = write_process(rq, rp);

	if (rc)
		return rc;
	reply_json(rp, 200, json_object()); /* an error wins over this */
	return error_set(&rp->err, ERR_IN_USE);
}

static int bad_parse(const struct request *rq, struct input *in, struct error *err)
{
	(void)rq;
	(void)in;
	(void)err;
	return RES_FAIL; /* and sets no error: the pipeline says 400 */
}

/* One handler of this file, on a route of its own below A's contact
 * center (the request admitted as A's Administrator on a real route
 * first): what it must answer, how often it must run, and whether its last
 * write must stay. */
struct own_case {
	const struct endpoint *ep;
	int flags;                 /* IN_* | RF_* of the route */
	unsigned status;
	const char *code;          /* the envelope's errorCode; NULL: no error */
	int calls;
	bool kept;                 /* the last run's process is there afterwards */
	void (*more)(const struct exchange *x); /* further checks, or NULL */
};

static void run_own(const struct own_case *c)
{
	const struct route rt = { "POST", CFG "/cc/{contactCenter}/test", c->ep, ROLE_ADMIN,
				  c->flags, "test" };
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	calls = 0;
	written = 0;
	ex_start(&x, &f, A_ADMIN, "POST", CFG "/cc/%lld/process", (long long)f.cc_a);
	ex_body(&x, "{}");
	CHECK(ex_admit(&x));
	x.rq.route = &rt;
	CHECK(ex_call(&x) == c->status);
	CHECK(!c->code || ex_error(&x, c->status, c->code));
	CHECK(calls == c->calls);
	if (c->more)
		c->more(&x);
	ex_end(&x);
	CHECK(!written || fixture_has_process(&f, f.cc_a, written) == c->kept);
	CHECK(fixture_processes(&f, f.cc_a) == 1 + c->kept); /* no other write stayed */
	fixture_close(&f);
}

static void retry_after_1(const struct exchange *x)
{
	CHECK(ex_hdr(x, "Retry-After") && !strcmp(ex_hdr(x, "Retry-After"), "1"));
}

static void txn_retry_exhausted(void)
{
	static const struct endpoint ep[1] = { { NULL, busy_always, NULL } };

	run_own(&(struct own_case){ ep, IN_CC, 503, "SYS-1003", 5, false, retry_after_1 });
}

/* The third attempt's answer, ETag and process; neither earlier one's. */
static void third_attempt(const struct exchange *x)
{
	CHECK(written > 0 && ex_int(x, "processId") == written);
	CHECK(ex_hdr(x, "ETag") && !strcmp(ex_hdr(x, "ETag"), "\"attempt\""));
}

static void txn_retry_then_ok(void)
{
	static const struct endpoint ep[1] = { { NULL, busy_twice, NULL } };

	run_own(&(struct own_case){ ep, IN_CC, 201, NULL, 3, true, third_attempt });
}

static void dry_body(const struct exchange *x)
{
	CHECK(written > 0 && json_is_true(json_object_get(x->json, "dryRun")));
}

static void txn_rollback(void)
{
	static const struct endpoint ep[1] = { { NULL, dry, NULL } };

	run_own(&(struct own_case){ ep, IN_CC, 200, NULL, 1, false, dry_body });
}

static void txn_fail(void)
{
	static const struct endpoint ep[1] = { { NULL, fails, NULL } };

	run_own(&(struct own_case){ ep, IN_CC, 409, "CONF-1005", 1, false, NULL });
}

/* A parse step that fails without saying why still answers 400, and the
 * handler never runs. */
static void txn_parse_fails(void)
{
	static const struct endpoint ep[1] = { { bad_parse, write_process, NULL } };

	run_own(&(struct own_case){ ep, IN_CC, 400, "CONF-1002", 0, false, NULL });
}

/* RF_NO_TXN: the handler runs once, without a transaction (its write
 * stays although it answers an error), and a RES_RETRY is not rerun. */
static void txn_none(void)
{
	static const struct endpoint ep[1] = { { NULL, busy_always, NULL } };

	run_own(&(struct own_case){ ep, RF_NO_TXN, 503, "SYS-1003", 1, true, NULL });
}

/* The access check runs before the handler: a broken chain never calls it. */
static void txn_access_first(void)
{
	static const struct endpoint ep[1] = { { NULL, write_process, NULL } };
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	calls = 0;
	ex_start(&x, &f, A_ADMIN, "GET", CFG "/cc/%lld/process/%lld/lead", (long long)f.cc_a,
		 (long long)f.proc_b);
	CHECK(ex_admit(&x));
	x.rq.route = &(const struct route){ "GET", "", ep, ROLE_AGENT, IN_PROCESS, "test" };
	CHECK(ex_call(&x) == 404 && ex_missing_id(&x, 0, "process", f.proc_b));
	CHECK(calls == 0);
	ex_end(&x);

	/* the same route with its chain whole runs the handler and commits */
	ex_start(&x, &f, A_ADMIN, "GET", CFG "/cc/%lld/process/%lld/lead", (long long)f.cc_a,
		 (long long)f.proc_a);
	CHECK(ex_admit(&x));
	x.rq.route = &(const struct route){ "GET", "", ep, ROLE_AGENT, IN_PROCESS, "test" };
	ex_call(&x);
	CHECK(calls == 1 && written > 0);
	ex_end(&x);
	CHECK(fixture_has_process(&f, f.cc_a, written));
	fixture_close(&f);
}

void suite_request(void)
{
	static const struct unit_test tests[] = {
		{ "admit_no_route", admit_no_route },
		{ "admit_credentials", admit_credentials },
		{ "admit_negotiation", admit_negotiation },
		{ "admit_ids_tenant_role", admit_ids_tenant_role },
		{ "run_parse_fails", run_parse_fails },
		{ "run_access_check", run_access_check },
		{ "run_creates", run_creates },
		{ "run_injected_faults", run_injected_faults },
		{ "txn_retry_exhausted", txn_retry_exhausted },
		{ "txn_retry_then_ok", txn_retry_then_ok },
		{ "txn_rollback", txn_rollback },
		{ "txn_fail", txn_fail },
		{ "txn_parse_fails", txn_parse_fails },
		{ "txn_access_first", txn_access_first },
		{ "txn_none", txn_none },
	};

	unit_run("request", tests, sizeof(tests) / sizeof(tests[0]));
}
