/*
 * test_http.c - the error catalog and the options (content negotiation is
 * test_negotiate.c, the route table test_router.c).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "config.h"
#include "errors.h"
#include "unit.h"

void suite_errors(void);
void suite_config(void);

static void catalog(void)
{
	struct error e = ERROR_INIT;
	json_t *b;

	error_missing(&e, "campaignUser", "madhur1");
	error_missing_id(&e, "campaign", 42);
	b = error_body(&e);
	CHECK(json_integer_value(json_object_get(b, "statusCode")) == 404);
	CHECK(!strcmp(json_string_value(json_object_get(b, "status")), "Not Found"));
	CHECK(!strcmp(json_string_value(json_object_get(b, "errorCode")), "CONF-1001"));
	CHECK(!strcmp(json_string_value(json_object_get(b, "errorMessage")), "Object doesn't exist"));
	CHECK(json_array_size(json_object_get(b, "details")) == 2);
	CHECK(!strcmp(json_string_value(json_object_get(json_array_get(json_object_get(b, "details"), 1), "id")), "42"));
	json_decref(b);
	error_clear(&e);
	CHECK(error_status(ERR_TOO_LARGE) == 413 && !strcmp(error_code_str(ERR_TOO_LARGE), "HTTP-1413"));
	CHECK(error_status(ERR_BOTH) == 400 && !strcmp(error_code_str(ERR_BOTH), "CONF-1003"));
	CHECK(error_status(ERR_UNAVAILABLE) == 503);
	CHECK(error_status((enum err_code)999) == 500);
	b = error_body(&e); /* no code: internal, no details */
	CHECK(json_integer_value(json_object_get(b, "statusCode")) == 500 && !json_object_get(b, "details"));
	json_decref(b);
}

static void options(void)
{
	struct config c;
	char *ok[] = { "cmsd", "--listen", "0.0.0.0:9", "--threads=3", "--demo", "--db", "sqlite:x.db", NULL };
	char *bad1[] = { "cmsd", "--threads", "0", NULL };
	char *bad2[] = { "cmsd", "--nope", NULL };
	char *bad3[] = { "cmsd", "--tls-cert", "a.pem", NULL };
	char *bad4[] = { "cmsd", "--listen", NULL };

	int saved = dup(2), devnull = open("/dev/null", O_WRONLY);

	/* config_load prints usage on bad options: keep the test output clean */
	dup2(devnull, 2);
	setenv("CMSD_THREADS", "5", 1);
	CHECK(config_load(&c, 1, ok) == 0 && c.threads == 5 && !c.demo);
	CHECK(config_load(&c, 7, ok) == 0);
	CHECK(!strcmp(c.listen, "0.0.0.0:9") && c.threads == 3 && c.demo && !strcmp(c.db, "sqlite:x.db"));
	CHECK(c.body_limit == 1048576);
	unsetenv("CMSD_THREADS");
	CHECK(config_load(&c, 3, bad1) == -1);
	CHECK(config_load(&c, 2, bad2) == -1);
	CHECK(config_load(&c, 3, bad3) == -1);
	CHECK(config_load(&c, 2, bad4) == -1);
	dup2(saved, 2);
	close(saved);
	close(devnull);
}

void suite_errors(void)
{
	static const struct unit_test t[] = { { "catalog", catalog } };
	unit_run("errors", t, sizeof(t) / sizeof(t[0]));
}

void suite_config(void)
{
	static const struct unit_test t[] = { { "options", options } };
	unit_run("config", t, sizeof(t) / sizeof(t[0]));
}
