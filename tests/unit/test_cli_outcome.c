/*
 * test_cli_outcome.c - cmsctl's table of request outcomes (src/cli/
 * outcome.c): which HTTP statuses and libcurl codes mean what, and that
 * each outcome's exit code, retry and stop rules are the documented ones
 * (docs/cmsctl.md, "Exit codes").
 */
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli/outcome.h"
#include "unit.h"

void suite_cli_outcome(void);

static void statuses(void)
{
	static const struct {
		long status;
		enum outcome want;
	} rows[] = {
		{ 200, OUTCOME_OK },       { 204, OUTCOME_OK },      { 400, OUTCOME_REFUSED },
		{ 401, OUTCOME_AUTH },     { 403, OUTCOME_DENIED },  { 404, OUTCOME_REFUSED },
		{ 409, OUTCOME_REFUSED },  { 413, OUTCOME_REFUSED }, { 429, OUTCOME_BUSY },
		{ 500, OUTCOME_REFUSED },  { 502, OUTCOME_BUSY },    { 503, OUTCOME_BUSY },
		{ 504, OUTCOME_BUSY },     { 302, OUTCOME_REFUSED },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK(outcome_of_status(rows[i].status) == rows[i].want);
}

static void curl_codes(void)
{
	/* cut off or late: the request may have reached the server */
	CHECK(outcome_of_curl(CURLE_OPERATION_TIMEDOUT) == OUTCOME_CUT);
	CHECK(outcome_of_curl(CURLE_GOT_NOTHING) == OUTCOME_CUT);
	CHECK(outcome_of_curl(CURLE_RECV_ERROR) == OUTCOME_CUT);
	CHECK(outcome_of_curl(CURLE_SEND_ERROR) == OUTCOME_CUT);
	CHECK(outcome_of_curl(CURLE_PARTIAL_FILE) == OUTCOME_CUT);
	/* no exchange at all */
	CHECK(outcome_of_curl(CURLE_COULDNT_CONNECT) == OUTCOME_UNREACHABLE);
	CHECK(outcome_of_curl(CURLE_COULDNT_RESOLVE_HOST) == OUTCOME_UNREACHABLE);
	CHECK(outcome_of_curl(CURLE_SSL_CONNECT_ERROR) == OUTCOME_UNREACHABLE);
	CHECK(outcome_of_curl(CURLE_PEER_FAILED_VERIFICATION) == OUTCOME_UNREACHABLE);
}

static void rules(void)
{
	static const struct {
		enum outcome o;
		int exit_code;
		bool transient, stops;
	} rows[] = {
		{ OUTCOME_OK, EXIT_OK, false, false },
		{ OUTCOME_REFUSED, EXIT_API, false, false },
		{ OUTCOME_BUSY, EXIT_API, true, true },
		{ OUTCOME_DENIED, EXIT_API, false, true },
		{ OUTCOME_AUTH, EXIT_AUTH, false, true },
		{ OUTCOME_CUT, EXIT_NET, true, true },
		{ OUTCOME_UNREACHABLE, EXIT_NET, false, true },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct outcome_info *in = outcome_info(rows[i].o);

		CHECK(in->exit_code == rows[i].exit_code);
		CHECK(in->transient == rows[i].transient);
		CHECK(in->stops_bulk == rows[i].stops);
		CHECK(in->name && (!in->stops_bulk || in->resume)); /* a stop says when to resume */
	}
	CHECK(EXIT_AUTH == 4 && EXIT_NET == 3); /* documented: never renumbered */
}

void suite_cli_outcome(void)
{
	static const struct unit_test t[] = {
		{ "statuses", statuses },
		{ "curl_codes", curl_codes },
		{ "rules", rules },
	};
	unit_run("cli_outcome", t, sizeof(t) / sizeof(t[0]));
}
