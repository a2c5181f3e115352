/*
 * test_metrics.c - the counters of metrics.c, read back through the
 * exposition text that GET /metrics serves: requests by route name and
 * status, the latency histogram, store errors and reruns, the gauges, and
 * the text's own form (HELP and TYPE before each family's samples).
 *
 * The counters are the process's own and no suite resets them, so every
 * test compares the text before and after what it does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "metrics.h"
#include "store.h"
#include "unit.h"

void suite_metrics(void);

/* Route rows 0..3: rows 0 and 2 share the name "m_alpha" and so a series. */
static const char *const names[] = { "m_alpha", "m_beta", "m_alpha", "m_gamma" };
#define NNAMES (sizeof(names) / sizeof(names[0]))

/* The value of the sample `series` (name and labels, as written) in text;
 * 0 when absent, as a counter that has not counted yet is left out. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p;

	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return 0;
}

/* The change of `series` between two texts. */
static double delta(const char *before, const char *after, const char *series)
{
	return sample(after, series) - sample(before, series);
}

/* Whether family `name` was declared with `type` in text. */
static bool declared(const char *text, const char *name, const char *type)
{
	char help[96], line[96];

	snprintf(help, sizeof(help), "# HELP %s ", name);
	snprintf(line, sizeof(line), "# TYPE %s %s\n", name, type);
	return strstr(text, help) && strstr(text, line);
}

/* Whether the first name_len bytes of line are family + suffix. */
static bool suffixed(const char *line, size_t name_len, const char *family, const char *suffix)
{
	size_t n = strlen(family);

	return name_len == n + strlen(suffix) && !strncmp(line, family, n) &&
	       !strncmp(line + n, suffix, strlen(suffix));
}

/*
 * Whether every line of text is "# HELP name text", "# TYPE name type" or
 * a sample "name[{labels}] value" of the family last declared (a histogram's
 * with its _bucket, _sum or _count suffix), the value a whole number.
 */
static bool well_formed(const char *text)
{
	char family[96] = "", type[16] = "", line[512];
	const char *p = text, *nl;
	bool ok = true;

	while (ok && (nl = strchr(p, '\n'))) {
		size_t len = (size_t)(nl - p), name_len;
		char *end;

		if (len >= sizeof(line))
			return false;
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		if (!strncmp(line, "# HELP ", 7)) {
			ok = sscanf(line, "# HELP %95s", family) == 1 && strlen(line) > 8 + strlen(family);
			type[0] = '\0';
		} else if (!strncmp(line, "# TYPE ", 7)) {
			char name[96];

			ok = sscanf(line, "# TYPE %95s %15s", name, type) == 2 && !strcmp(name, family) &&
			     (!strcmp(type, "counter") || !strcmp(type, "gauge") ||
			      !strcmp(type, "histogram"));
		} else {
			const char *value = strrchr(line, ' ');

			name_len = strcspn(line, "{ ");
			ok = type[0] && value && !strncmp(line, family, strlen(family));
			if (ok && !strcmp(type, "histogram"))
				ok = suffixed(line, name_len, family, "_bucket") ||
				     suffixed(line, name_len, family, "_sum") ||
				     suffixed(line, name_len, family, "_count");
			else if (ok)
				ok = name_len == strlen(family);
			if (ok && line[name_len] == '{')
				ok = strchr(line, '}') && strchr(line, '}') + 1 == value;
			if (ok) {
				strtod(value + 1, &end);
				ok = *end == '\0' && end > value + 1;
			}
		}
		if (!ok)
			fprintf(stderr, "  malformed: %s\n", line);
	}
	return ok && *p == '\0';
}

static void exposition(void)
{
	time_t t0 = time(NULL);
	char *text;

	metrics_init(names, NNAMES);
	metrics_request(0, 200, 10);
	text = metrics_text();
	CHECK(well_formed(text));
	CHECK(declared(text, "cmsd_http_requests_total", "counter"));
	CHECK(declared(text, "cmsd_http_request_duration_seconds", "histogram"));
	CHECK(declared(text, "cmsd_store_errors_total", "counter"));
	CHECK(declared(text, "cmsd_store_transaction_reruns_total", "counter"));
	CHECK(declared(text, "cmsd_http_open_connections", "gauge"));
	CHECK(declared(text, "cmsd_http_requests_in_flight", "gauge"));
	CHECK(declared(text, "cmsd_start_time_seconds", "gauge"));
	CHECK(sample(text, "cmsd_start_time_seconds") >= (double)t0 &&
	      sample(text, "cmsd_start_time_seconds") <= (double)time(NULL));
	CHECK(strstr(text, "cmsd_http_request_duration_seconds_bucket{route=\"m_alpha\",le=\"+Inf\"}"));
	free(text);
}

static void requests_by_route_and_status(void)
{
	char *before, *after;

	metrics_init(names, NNAMES);
	before = metrics_text();
	metrics_request(0, 200, 10);
	metrics_request(2, 200, 10); /* the same name: the same series */
	metrics_request(1, 404, 10);
	metrics_request(1, 418, 10); /* not in the list of codes */
	metrics_request(METRICS_NO_ROUTE, 404, 10);
	after = metrics_text();
	CHECK(well_formed(after));
	CHECK(delta(before, after, "cmsd_http_requests_total{route=\"m_alpha\",code=\"200\"}") == 2);
	CHECK(delta(before, after, "cmsd_http_requests_total{route=\"m_alpha\",code=\"404\"}") == 0);
	CHECK(delta(before, after, "cmsd_http_requests_total{route=\"m_beta\",code=\"404\"}") == 1);
	CHECK(delta(before, after, "cmsd_http_requests_total{route=\"m_beta\",code=\"other\"}") == 1);
	CHECK(delta(before, after, "cmsd_http_requests_total{route=\"none\",code=\"404\"}") == 1);
	CHECK(delta(before, after, "cmsd_http_request_duration_seconds_count{route=\"m_alpha\"}") == 2);
	CHECK(delta(before, after, "cmsd_http_request_duration_seconds_count{route=\"m_beta\"}") == 2);
	free(before);
	free(after);
}

/* The bucket series of route m_gamma with bound le. */
static const char *bucket(char *buf, size_t n, const char *le)
{
	snprintf(buf, n, "cmsd_http_request_duration_seconds_bucket{route=\"m_gamma\",le=\"%s\"}",
		 le);
	return buf;
}

static void histogram_cumulative(void)
{
	/* each bound and how many of the three durations below fall within it */
	static const struct {
		const char *le;
		double n;
	} want[] = {
		{ "0.0005", 0 }, { "0.001", 1 }, { "0.0025", 1 }, { "0.005", 2 }, { "0.01", 2 },
		{ "0.025", 2 }, { "0.05", 2 }, { "0.1", 2 }, { "0.25", 2 }, { "0.5", 2 },
		{ "1", 2 }, { "2.5", 2 }, { "5", 2 }, { "+Inf", 3 },
	};
	char *before, *after, series[160];
	double last = 0, sum;
	size_t i;

	metrics_init(names, NNAMES);
	before = metrics_text();
	metrics_request(3, 200, 700);      /* 0.7 ms */
	metrics_request(3, 201, 5000);     /* 5 ms: on a bound, within it */
	metrics_request(3, 500, 10000000); /* 10 s: beyond every bound */
	after = metrics_text();
	CHECK(well_formed(after));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		bucket(series, sizeof(series), want[i].le);
		CHECK(strstr(after, series) != NULL);
		CHECK(delta(before, after, series) == want[i].n);
		CHECK(sample(after, series) >= last); /* cumulative */
		last = sample(after, series);
	}
	CHECK(sample(after, "cmsd_http_request_duration_seconds_count{route=\"m_gamma\"}") == last);
	CHECK(delta(before, after, "cmsd_http_request_duration_seconds_count{route=\"m_gamma\"}") == 3);
	sum = delta(before, after, "cmsd_http_request_duration_seconds_sum{route=\"m_gamma\"}");
	CHECK(sum > 10.0057 - 1e-6 && sum < 10.0057 + 1e-6);
	free(before);
	free(after);
}

/* The SQLite checkpoints: rounds by who ran them, pages, and how long the
 * writers were held, in a histogram per kind. */
static void checkpoints(void)
{
	static const char *const held[] = {
		"cmsd_sqlite_checkpoint_writers_held_seconds_bucket{by=\"thread\",le=\"0.0005\"}",
		"cmsd_sqlite_checkpoint_writers_held_seconds_bucket{by=\"thread\",le=\"0.005\"}",
		"cmsd_sqlite_checkpoint_writers_held_seconds_bucket{by=\"thread\",le=\"+Inf\"}",
		"cmsd_sqlite_checkpoint_writers_held_seconds_count{by=\"writer\"}",
	};
	static const double want[] = { 1, 2, 2, 1 };
	char *before, *after;
	double sum;
	size_t i;

	before = metrics_text();
	metrics_checkpoint(false, 4000, 0);    /* the turn not taken */
	metrics_checkpoint(false, 4100, 3000); /* 3 ms */
	metrics_checkpoint(true, 10000, 20000);
	after = metrics_text();
	CHECK(well_formed(after));
	CHECK(delta(before, after, "cmsd_sqlite_checkpoints_total{by=\"thread\"}") == 2);
	CHECK(delta(before, after, "cmsd_sqlite_checkpoints_total{by=\"writer\"}") == 1);
	CHECK(delta(before, after, "cmsd_sqlite_checkpoint_frames_total") == 18100);
	for (i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
		CHECK(strstr(after, held[i]) != NULL);
		CHECK(delta(before, after, held[i]) == want[i]);
	}
	sum = delta(before, after, "cmsd_sqlite_checkpoint_writers_held_seconds_sum{by=\"writer\"}");
	CHECK(sum > 0.02 - 1e-6 && sum < 0.02 + 1e-6);
	free(before);
	free(after);
}

static void store_errors_and_reruns(void)
{
	struct fixture f;
	struct exchange x;
	char *before, *after;

	before = metrics_text();
	metrics_store_error(STORE_RETRY);
	metrics_store_error(STORE_UNAVAILABLE);
	metrics_store_error(STORE_UNAVAILABLE);
	metrics_store_error(STORE_ERROR);
	metrics_store_error(STORE_NOT_FOUND); /* not a failure of the store */
	metrics_store_error(STORE_EXISTS);
	metrics_store_error(STORE_OK);
	metrics_store_rerun();
	after = metrics_text();
	CHECK(well_formed(after));
	CHECK(delta(before, after, "cmsd_store_errors_total{kind=\"retry\"}") == 1);
	CHECK(delta(before, after, "cmsd_store_errors_total{kind=\"unavailable\"}") == 2);
	CHECK(delta(before, after, "cmsd_store_errors_total{kind=\"error\"}") == 1);
	CHECK(delta(before, after, "cmsd_store_transaction_reruns_total") == 1);
	free(before);
	free(after);

	/* a commit that fails in the pipeline is counted once, and not rerun */
	if (fixture_open(&f))
		return;
	fixture_faults(true);
	before = metrics_text();
	ex_start(&x, &f, A_ADMIN, "POST", "/cms/configuration/cc/%lld/process", (long long)f.cc_a);
	ex_body(&x, "{\"processName\":\"x\"}");
	ex_header(&x, "X-Cmsd-Fault", "store-error");
	CHECK(ex_call(&x) == 500);
	ex_end(&x);
	after = metrics_text();
	CHECK(delta(before, after, "cmsd_store_errors_total{kind=\"error\"}") == 1);
	CHECK(delta(before, after, "cmsd_store_transaction_reruns_total") == 0);
	free(before);
	free(after);
	fixture_faults(false);
	fixture_close(&f);
}

static void gauges(void)
{
	char *before, *after;

	before = metrics_text();
	metrics_connection(1);
	metrics_connection(1);
	metrics_connection(-1);
	metrics_in_flight(1);
	after = metrics_text();
	CHECK(delta(before, after, "cmsd_http_open_connections") == 1);
	CHECK(delta(before, after, "cmsd_http_requests_in_flight") == 1);
	free(after);
	metrics_connection(-1);
	metrics_in_flight(-1);
	after = metrics_text();
	CHECK(delta(before, after, "cmsd_http_open_connections") == 0);
	CHECK(delta(before, after, "cmsd_http_requests_in_flight") == 0);
	free(before);
	free(after);
}

void suite_metrics(void)
{
	static const struct unit_test tests[] = {
		{ "exposition", exposition },
		{ "requests_by_route_and_status", requests_by_route_and_status },
		{ "histogram_cumulative", histogram_cumulative },
		{ "store_errors_and_reruns", store_errors_and_reruns },
		{ "checkpoints", checkpoints },
		{ "gauges", gauges },
	};

	unit_run("metrics", tests, sizeof(tests) / sizeof(tests[0]));
}
