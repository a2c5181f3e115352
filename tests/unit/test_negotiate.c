/*
 * test_negotiate.c - content negotiation: Accept and Content-Type values.
 */
#include "negotiate.h"
#include "unit.h"

void suite_negotiate(void);

static void accept_header(void)
{
	CHECK(negotiate_accepts_json(NULL));
	CHECK(negotiate_accepts_json(""));
	CHECK(negotiate_accepts_json("application/json"));
	CHECK(negotiate_accepts_json("Application/JSON"));
	CHECK(negotiate_accepts_json("*/*"));
	CHECK(negotiate_accepts_json("text/html, application/*;q=0.5"));
	CHECK(negotiate_accepts_json("application/json;q=1"));
	CHECK(negotiate_accepts_json("text/html ,  application/json ; charset=utf-8"));
	CHECK(!negotiate_accepts_json("text/html"));
	CHECK(!negotiate_accepts_json("application/json;q=0"));
	CHECK(!negotiate_accepts_json("application/xml, text/*"));
	CHECK(!negotiate_accepts_json("application/jsonx"));
}

static void content_type(void)
{
	CHECK(negotiate_is_json("application/json"));
	CHECK(negotiate_is_json("application/json; charset=utf-8"));
	CHECK(negotiate_is_json("application/json;charset=\"UTF-8\""));
	CHECK(!negotiate_is_json(NULL));
	CHECK(!negotiate_is_json("text/plain"));
	CHECK(!negotiate_is_json("application/json; charset=latin1"));
	CHECK(!negotiate_is_json("application/jsonp"));
	CHECK(!negotiate_is_json("multipart/form-data"));
}

void suite_negotiate(void)
{
	static const struct unit_test t[] = {
		{ "accept_header", accept_header }, { "content_type", content_type },
	};
	unit_run("negotiate", t, sizeof(t) / sizeof(t[0]));
}
