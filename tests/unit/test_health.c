/*
 * test_health.c - the service's own endpoints of health.c, driven through
 * the pipeline without credentials: /health is 200 while the store
 * answers and 503 without one; /metrics is the exposition of metrics.c as
 * Prometheus text.
 */
#include <string.h>

#include "fixture.h"
#include "unit.h"

void suite_health(void);

static void health(void)
{
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	ex_start(&x, &f, NOBODY, "GET", "/health");
	CHECK(ex_call(&x) == 200 && json_object_size(x.json) == 1 && ex_is(&x, "status", "ok"));
	ex_end(&x);

	/* admitted, then the connection is gone when the handler runs */
	ex_start(&x, &f, NOBODY, "GET", "/health");
	CHECK(ex_admit(&x) && x.rq.store == f.store);
	x.rq.store = NULL;
	CHECK(ex_call(&x) == 503 && ex_error(&x, 503, "SYS-1003"));
	ex_end(&x);

	/* no connection for this thread at all: refused in admission */
	fixture_close(&f);
	ex_start(&x, &f, NOBODY, "GET", "/health");
	CHECK(ex_call(&x) == 503 && ex_error(&x, 503, "SYS-1003"));
	ex_end(&x);
}

static void metrics(void)
{
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	ex_start(&x, &f, NOBODY, "GET", "/metrics");
	CHECK(ex_call(&x) == 200);
	CHECK(ex_hdr(&x, "Content-Type") &&
	      !strcmp(ex_hdr(&x, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8"));
	CHECK(x.a.body && x.a.len == strlen(x.a.body));
	CHECK(x.a.body && !strncmp(x.a.body, "# HELP cmsd_http_requests_total ", 32));
	CHECK(x.a.body && strstr(x.a.body, "\ncmsd_start_time_seconds "));
	ex_end(&x);
	fixture_close(&f);
}

void suite_health(void)
{
	static const struct unit_test tests[] = {
		{ "health", health },
		{ "metrics", metrics },
	};

	unit_run("health", tests, sizeof(tests) / sizeof(tests[0]));
}
