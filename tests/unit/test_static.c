/*
 * test_static.c - the files that static.c serves from the table compiled
 * into cmsd (embedded.h), driven through the pipeline without credentials:
 * the console's index for the bare path, each file byte for byte with its
 * Content-Type, the OpenAPI document, and 404 HTTP-1404 for any name the
 * table lacks, however long or however it climbs.
 */
#include <stdio.h>
#include <string.h>

#include "embedded.h"
#include "fixture.h"
#include "unit.h"

void suite_static(void);

/* The table's file `name`, or NULL. */
static const struct embedded_file *embedded(const char *name)
{
	const struct embedded_file *e;

	for (e = embedded_files; e->name; e++)
		if (!strcmp(e->name, name))
			return e;
	return NULL;
}

/* Whether a GET of path, without credentials, answers file `name` of the
 * table, byte for byte, as Content-Type `type`. */
static bool serves(const struct fixture *f, const char *path, const char *name, const char *type)
{
	const struct embedded_file *e = embedded(name);
	struct exchange x;
	bool ok;

	ex_start(&x, f, NOBODY, "GET", "%s", path);
	ok = e && ex_call(&x) == 200 && ex_hdr(&x, "Content-Type") &&
	     !strcmp(ex_hdr(&x, "Content-Type"), type) && x.a.len == e->len && e->len > 0 &&
	     !memcmp(x.a.body, e->data, e->len);
	if (!ok)
		fprintf(stderr, "  GET %s: %u %s, %zu bytes\n", path, x.a.status,
			ex_hdr(&x, "Content-Type") ? ex_hdr(&x, "Content-Type") : "(no type)", x.a.len);
	ex_end(&x);
	return ok;
}

/* Whether a GET of path answers 404 HTTP-1404. */
static bool not_found(const struct fixture *f, const char *path)
{
	struct exchange x;
	bool ok;

	ex_start(&x, f, NOBODY, "GET", "%s", path);
	ok = ex_call(&x) == 404 && ex_error(&x, 404, "HTTP-1404");
	ex_end(&x);
	return ok;
}

static void ui_files(void)
{
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	CHECK(serves(&f, "/cms/ui", "ui/index.html", "text/html; charset=utf-8"));
	CHECK(serves(&f, "/cms/ui/index.html", "ui/index.html", "text/html; charset=utf-8"));
	CHECK(serves(&f, "/cms/ui/app.js", "ui/app.js", "text/javascript; charset=utf-8"));
	CHECK(serves(&f, "/cms/ui/style.css", "ui/style.css", "text/css; charset=utf-8"));
	CHECK(serves(&f, "/cms/ui/favicon.svg", "ui/favicon.svg", "image/svg+xml"));

	/* the index is the console's page */
	ex_start(&x, &f, NOBODY, "GET", "/cms/ui");
	CHECK(ex_call(&x) == 200 && x.a.len > 15 && strstr(x.a.body, "<html"));
	ex_end(&x);
	fixture_close(&f);
}

static void openapi(void)
{
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	CHECK(serves(&f, "/cms/openapi.json", "openapi.json", "application/json"));
	ex_start(&x, &f, NOBODY, "GET", "/cms/openapi.json");
	CHECK(ex_call(&x) == 200 && json_is_object(x.json));
	CHECK(ex_str(&x, "openapi") && !strncmp(ex_str(&x, "openapi"), "3.", 2));
	CHECK(json_is_object(json_object_get(x.json, "paths")));
	ex_end(&x);
	fixture_close(&f);
}

static void unknown_names(void)
{
	struct fixture f;
	char path[224];
	size_t n;

	if (fixture_open(&f))
		return;
	CHECK(not_found(&f, "/cms/ui/nope.js"));
	CHECK(not_found(&f, "/cms/ui/index.htm"));
	CHECK(not_found(&f, "/cms/ui/ui/index.html"));
	/* only the table is looked at: a name cannot climb out of ui/ */
	CHECK(not_found(&f, "/cms/ui/../openapi.json"));
	CHECK(not_found(&f, "/cms/ui/%2e%2e/openapi.json"));
	CHECK(not_found(&f, "/cms/ui/app.js/x"));
	/* names at, and beyond, the longest the handler takes */
	for (n = 120; n < 200; n += 4) {
		snprintf(path, sizeof(path), "/cms/ui/%0*d.js", (int)n - 3, 0);
		CHECK(not_found(&f, path));
	}
	fixture_close(&f);
}

void suite_static(void)
{
	static const struct unit_test tests[] = {
		{ "ui_files", ui_files },
		{ "openapi", openapi },
		{ "unknown_names", unknown_names },
	};

	unit_run("static", tests, sizeof(tests) / sizeof(tests[0]));
}
