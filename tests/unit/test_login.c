/*
 * test_login.c - the token endpoints of login.c, driven through the
 * pipeline with a real store: a login with the right password answers a
 * token that authenticates, and every wrong one answers the same 401; the
 * body's context and dateExpiry are checked; a logout revokes the token
 * presented and refuses a password.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "unit.h"

void suite_login(void);

#define BASICAUTH "/cms/configuration/basicauth"
#define ADDR "198.51.100.7" /* apart from the other suites' throttle counts */
#define A_AGENT_LOGIN "\"username\":\"a_agent\",\"password\":\"" FIXTURE_PASSWORD "\""

/* A login with JSON body `body`; the answer is left in x. */
static unsigned login(struct exchange *x, const struct fixture *f, const char *body)
{
	ex_start(x, f, NOBODY, "POST", BASICAUTH);
	x->rq.addr = ADDR;
	ex_body(x, "%s", body);
	return ex_call(x);
}

/* A logout presenting Authorization `auth`. */
static unsigned logout(struct exchange *x, const struct fixture *f, const char *auth)
{
	ex_start(x, f, NOBODY, "DELETE", BASICAUTH);
	x->rq.addr = ADDR;
	snprintf(x->auth, sizeof(x->auth), "%s", auth);
	ex_header(x, "Authorization", x->auth);
	return ex_call(x);
}

/* Whether s is a token as auth.h describes it: 43 characters of base64url. */
static bool token_shaped(const char *s)
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				     "0123456789-_";

	return s && strlen(s) == AUTH_TOKEN_LEN && strspn(s, b64url) == AUTH_TOKEN_LEN;
}

/* A login that must fail 401 without a token, like a wrong password. */
static void denied(const struct fixture *f, const char *body)
{
	struct exchange x;

	CHECK(login(&x, f, body) == 401);
	CHECK(ex_error(&x, 401, "AUTH-1001"));
	CHECK(!json_object_get(x.json, "authToken"));
	ex_end(&x);
}

/* A login that must fail 400 naming `field`. */
static void invalid(const struct fixture *f, const char *body, const char *field)
{
	struct exchange x;

	CHECK(login(&x, f, body) == 400);
	CHECK(ex_bad_field(&x, field));
	CHECK(!json_object_get(x.json, "authToken"));
	ex_end(&x);
}

static void issues_token(void)
{
	struct fixture f;
	struct exchange x;
	struct principal who;
	int64_t now = (int64_t)time(NULL), when = 0;

	if (fixture_open(&f))
		return;
	CHECK(login(&x, &f, "{" A_AGENT_LOGIN "}") == 200);
	CHECK(token_shaped(ex_str(&x, "authToken")));
	CHECK(ex_is(&x, "tokenType", "Bearer") && ex_is(&x, "context", "ContactCenter"));
	CHECK(ex_int(&x, "contextId") == f.cc_a && ex_is(&x, "userRole", "Agent"));
	/* a day by default */
	CHECK(ex_str(&x, "expiresAt") && !auth_parse_time(ex_str(&x, "expiresAt"), &when));
	CHECK(when >= now + 86400 && when <= now + 86400 + 5);

	/* the token authenticates as the user, in its contact center */
	CHECK(token_shaped(ex_str(&x, "authToken")) &&
	      fixture_bearer(&f, ex_str(&x, "authToken"), &who) == AUTH_OK);
	CHECK(who.role == ROLE_AGENT && who.cc == f.cc_a && who.via_token);
	CHECK(!strcmp(who.user_id, "a_agent"));
	CHECK(strcmp(ex_str(&x, "authToken"), f.token[A_AGENT]) != 0);
	ex_end(&x);

	/* the system administrator's context is System, without an id */
	CHECK(login(&x, &f, "{\"username\":\"root\",\"password\":\"" FIXTURE_PASSWORD
			    "\",\"context\":\"System\"}") == 200);
	CHECK(ex_is(&x, "context", "System") && ex_is(&x, "userRole", "System"));
	CHECK(!json_object_get(x.json, "contextId"));
	CHECK(token_shaped(ex_str(&x, "authToken")) &&
	      fixture_bearer(&f, ex_str(&x, "authToken"), &who) == AUTH_OK);
	CHECK(who.role == ROLE_SYSTEM && who.cc == 0);
	ex_end(&x);
	fixture_close(&f);
}

static void wrong_credentials(void)
{
	struct fixture f;
	char body[160];

	if (fixture_open(&f))
		return;
	denied(&f, "{\"username\":\"a_agent\",\"password\":\"correct horse battery!\"}");
	denied(&f, "{\"username\":\"nobody\",\"password\":\"" FIXTURE_PASSWORD "\"}");
	/* a context the account does not have fails like a wrong password */
	denied(&f, "{" A_AGENT_LOGIN ",\"context\":\"System\"}");
	snprintf(body, sizeof(body), "{" A_AGENT_LOGIN ",\"contextId\":%lld}", (long long)f.cc_b);
	denied(&f, body);
	denied(&f, "{\"username\":\"root\",\"password\":\"" FIXTURE_PASSWORD
		   "\",\"context\":\"ContactCenter\"}");
	fixture_close(&f);
}

/* The right context is no obstacle. */
static void matching_context(void)
{
	struct fixture f;
	struct exchange x;
	char body[160];

	if (fixture_open(&f))
		return;
	snprintf(body, sizeof(body), "{" A_AGENT_LOGIN ",\"context\":\"ContactCenter\",\"contextId\":%lld}",
		 (long long)f.cc_a);
	CHECK(login(&x, &f, body) == 200 && token_shaped(ex_str(&x, "authToken")));
	ex_end(&x);
	fixture_close(&f);
}

static void bad_body(void)
{
	struct fixture f;
	struct exchange x;
	char body[160], when[32], past[32], far[32];
	int64_t now = (int64_t)time(NULL), t = 0;

	if (fixture_open(&f))
		return;
	auth_format_time(now - 60, past, sizeof(past));
	auth_format_time(now + 366 * 86400, far, sizeof(far));
	snprintf(body, sizeof(body), "{" A_AGENT_LOGIN ",\"dateExpiry\":\"%s\"}", past);
	invalid(&f, body, "dateExpiry");
	snprintf(body, sizeof(body), "{" A_AGENT_LOGIN ",\"dateExpiry\":\"%s\"}", far);
	invalid(&f, body, "dateExpiry");
	invalid(&f, "{" A_AGENT_LOGIN ",\"dateExpiry\":\"next week\"}", "dateExpiry");
	invalid(&f, "{" A_AGENT_LOGIN ",\"dateExpiry\":\"2030-01-01\"}", "dateExpiry");
	invalid(&f, "{" A_AGENT_LOGIN ",\"context\":\"Tenant\"}", "context");
	invalid(&f, "{\"password\":\"" FIXTURE_PASSWORD "\"}", "username");
	invalid(&f, "{\"username\":\"a_agent\"}", "password");

	/* within a year, the token lives as long as asked */
	auth_format_time(now + 7 * 86400, when, sizeof(when));
	snprintf(body, sizeof(body), "{" A_AGENT_LOGIN ",\"dateExpiry\":\"%s\"}", when);
	CHECK(login(&x, &f, body) == 200 && ex_is(&x, "expiresAt", when));
	ex_end(&x);
	CHECK(!auth_parse_time(when, &t) && t == now + 7 * 86400);
	fixture_close(&f);
}

/* A logout revokes the token presented, and no other. */
static void logout_revokes(void)
{
	struct fixture f;
	struct exchange x;
	struct principal who;
	char token[AUTH_TOKEN_LEN + 1] = "", auth[64];

	if (fixture_open(&f))
		return;
	CHECK(login(&x, &f, "{" A_AGENT_LOGIN "}") == 200 && token_shaped(ex_str(&x, "authToken")));
	if (token_shaped(ex_str(&x, "authToken")))
		snprintf(token, sizeof(token), "%s", ex_str(&x, "authToken"));
	ex_end(&x);
	CHECK(fixture_token(&f, token) == STORE_OK);

	snprintf(auth, sizeof(auth), "Bearer %s", token);
	CHECK(logout(&x, &f, auth) == 204 && x.a.len == 0);
	ex_end(&x);
	CHECK(fixture_token(&f, token) == STORE_NOT_FOUND);
	CHECK(fixture_bearer(&f, token, &who) == AUTH_DENIED);
	CHECK(fixture_token(&f, f.token[A_AGENT]) == STORE_OK);

	/* the token is unknown now, so a second logout is not let in */
	CHECK(logout(&x, &f, auth) == 401 && ex_error(&x, 401, "AUTH-1001"));
	ex_end(&x);
	fixture_close(&f);
}

/* A logout with a password has no token to revoke. */
static void logout_password(void)
{
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	/* a_agent:correct horse battery */
	CHECK(logout(&x, &f, "Basic YV9hZ2VudDpjb3JyZWN0IGhvcnNlIGJhdHRlcnk=") == 400);
	CHECK(ex_bad_field(&x, "Authorization"));
	ex_end(&x);
	CHECK(fixture_token(&f, f.token[A_AGENT]) == STORE_OK);
	fixture_close(&f);
}

void suite_login(void)
{
	static const struct unit_test tests[] = {
		{ "issues_token", issues_token },
		{ "wrong_credentials", wrong_credentials },
		{ "matching_context", matching_context },
		{ "bad_body", bad_body },
		{ "logout_revokes", logout_revokes },
		{ "logout_password", logout_password },
	};

	unit_run("login", tests, sizeof(tests) / sizeof(tests[0]));
}
