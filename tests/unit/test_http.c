/*
 * test_http.c - content negotiation, the route table and the error catalog.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "config.h"
#include "errors.h"
#include "http.h"
#include "router.h"
#include "unit.h"

void suite_http(void);
void suite_router(void);
void suite_errors(void);
void suite_config(void);

static void accept_header(void)
{
	CHECK(http_accepts_json(NULL));
	CHECK(http_accepts_json(""));
	CHECK(http_accepts_json("application/json"));
	CHECK(http_accepts_json("Application/JSON"));
	CHECK(http_accepts_json("*/*"));
	CHECK(http_accepts_json("text/html, application/*;q=0.5"));
	CHECK(http_accepts_json("application/json;q=1"));
	CHECK(http_accepts_json("text/html ,  application/json ; charset=utf-8"));
	CHECK(!http_accepts_json("text/html"));
	CHECK(!http_accepts_json("application/json;q=0"));
	CHECK(!http_accepts_json("application/xml, text/*"));
	CHECK(!http_accepts_json("application/jsonx"));
}

static void content_type(void)
{
	CHECK(http_is_json("application/json"));
	CHECK(http_is_json("application/json; charset=utf-8"));
	CHECK(http_is_json("application/json;charset=\"UTF-8\""));
	CHECK(!http_is_json(NULL));
	CHECK(!http_is_json("text/plain"));
	CHECK(!http_is_json("application/json; charset=latin1"));
	CHECK(!http_is_json("application/jsonp"));
	CHECK(!http_is_json("multipart/form-data"));
}

/* Route `path` for `method` into a fresh request; caller frees path. */
static const struct route *route(struct request *r, const char *method, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->path = (char *)path;
	return router_match(r);
}

static void routes(void)
{
	struct request r;
	const struct route *rt;

	rt = route(&r, "PUT", "/cms/configuration/voice/campaignLeadUserMapping");
	CHECK(rt && !strcmp(rt->name, "mapping.put") && rt->role == ROLE_SUPERVISOR);
	rt = route(&r, "GET", "/cms/configuration/cms/configuration/voice/campaignLeadUserMapping");
	CHECK(rt && !strcmp(rt->name, "mapping.get"));
	rt = route(&r, "GET", "/cms/configuration/cc/7/process/8/campaign/9/campaign-user");
	CHECK(rt && r.ids[0] == 7 && r.ids[1] == 8 && r.ids[2] == 9 && (rt->flags & RF_CC));
	rt = route(&r, "DELETE", "/cms/configuration/cc/7/user/anav_agent");
	CHECK(rt && !strcmp(r.str, "anav_agent") && rt->role == ROLE_ADMIN);
	rt = route(&r, "DELETE", "/cms/configuration/cc/7/process/8/campaign/9/campaign-lead/10");
	CHECK(rt && r.ids[3] == 10);
	rt = route(&r, "GET", "/cms/configuration/cc/0");
	CHECK(rt && r.ids[0] == -1); /* cannot exist: every lookup misses */
	rt = route(&r, "GET", "/cms/configuration/cc/99999999999999999999");
	CHECK(rt && r.ids[0] == -1);
	rt = route(&r, "GET", "/cms/configuration/cc/abc");
	CHECK(!rt && r.err.code == ERR_NO_ENDPOINT);
	rt = route(&r, "GET", "/cms/configuration/cc/-1");
	CHECK(!rt && r.err.code == ERR_NO_ENDPOINT);
	rt = route(&r, "GET", "/nope");
	CHECK(!rt && r.err.code == ERR_NO_ENDPOINT);
	rt = route(&r, "GET", "/cms/configuration//cc");
	CHECK(!rt && r.err.code == ERR_NO_ENDPOINT);
	rt = route(&r, "DELETE", "/cms/configuration/voice/campaignLeadUserMapping");
	CHECK(!rt && r.err.code == ERR_METHOD && !strcmp(r.allow, "PUT, GET"));
	rt = route(&r, "PATCH", "/cms/configuration/cc/1/user/x");
	CHECK(!rt && r.err.code == ERR_METHOD && !strcmp(r.allow, "GET, PUT, DELETE"));
	rt = route(&r, "GET", "/health");
	CHECK(rt && rt->role == ROLE_NONE);
}

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

void suite_http(void)
{
	static const struct unit_test t[] = {
		{ "accept_header", accept_header }, { "content_type", content_type },
	};
	unit_run("http", t, sizeof(t) / sizeof(t[0]));
}

void suite_router(void)
{
	static const struct unit_test t[] = { { "routes", routes } };
	unit_run("router", t, sizeof(t) / sizeof(t[0]));
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
