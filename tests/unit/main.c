/*
 * main.c - runs the suites of tests/unit and prints "N passed, N failed".
 *
 *   unit_tests [SUITE ...]
 *
 * With no argument every suite runs; else only the suites named (see
 * unit_selected() in unit.h).  An argument that selects no suite is counted
 * as one failure, so that a misspelt name cannot pass unnoticed.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "unit.h"

int unit_failed_checks;
static int passed, failed;

/* The suites asked for on the command line, and whether each selected one. */
static char **wanted;
static int nwanted;
static char *used;

int unit_selected(const char *suite)
{
	int i, hit = 0;
	size_t n;

	if (!nwanted)
		return 1;
	for (i = 0; i < nwanted; i++) {
		n = strlen(wanted[i]);
		if (!strncmp(suite, wanted[i], n) && (suite[n] == '\0' || suite[n] == '_')) {
			used[i] = 1;
			hit = 1;
		}
	}
	return hit;
}

void unit_run(const char *suite, const struct unit_test *tests, size_t n)
{
	size_t i;

	if (!unit_selected(suite))
		return;
	for (i = 0; i < n; i++) {
		int before = unit_failed_checks;

		tests[i].fn();
		if (unit_failed_checks == before) {
			passed++;
			printf("ok - unit.%s.%s\n", suite, tests[i].name);
		} else {
			failed++;
			printf("not ok - unit.%s.%s\n", suite, tests[i].name);
		}
		fflush(stdout);
	}
}

void suite_json(void);
void suite_auth(void);
void suite_negotiate(void);
void suite_router(void);
void suite_head(void);
void suite_errors(void);
void suite_config(void);
void suite_cmsurl(void);
void suite_csv(void);
void suite_store(void);
void suite_sqlite_vfs(void);
void suite_strbuf(void);
void suite_throttle(void);
void suite_proxy(void);
void suite_errors_catalog(void);
void suite_config_options(void);
void suite_log(void);
void suite_deadline(void);
void suite_cache(void);
void suite_tls(void);
void suite_reply(void);
void suite_request(void);
void suite_mapping(void);
void suite_writer(void);
void suite_resource(void);
void suite_user(void);
void suite_login(void);
void suite_campaign_user(void);
void suite_campaign_lead(void);
void suite_tenants(void);
void suite_metrics(void);
void suite_static(void);
void suite_health(void);
void suite_cli_opts(void);
void suite_cli_command(void);
void suite_cli_outcome(void);

int main(int argc, char **argv)
{
	int i;

	nwanted = argc - 1;
	wanted = argv + 1;
	used = calloc((size_t)argc, 1);
	if (!used || sodium_init() < 0 || auth_init("min"))
		return 2;
	suite_json();
	suite_auth();
	suite_negotiate();
	suite_router();
	suite_head();
	suite_errors();
	suite_config();
	suite_cmsurl();
	suite_csv();
	suite_store();
	suite_sqlite_vfs();
	suite_strbuf();
	suite_throttle();
	suite_proxy();
	suite_errors_catalog();
	suite_config_options();
	suite_log();
	suite_deadline();
	suite_cache();
	suite_tls();
	suite_reply();
	suite_request();
	suite_mapping();
	suite_writer();
	suite_resource();
	suite_user();
	suite_login();
	suite_campaign_user();
	suite_campaign_lead();
	suite_tenants();
	suite_metrics();
	suite_static();
	suite_health();
	suite_cli_opts();
	suite_cli_command();
	suite_cli_outcome();
	auth_release();
	for (i = 0; i < nwanted; i++)
		if (!used[i]) {
			fprintf(stderr, "unit_tests: no suite is named '%s'\n", wanted[i]);
			failed++;
		}
	free(used);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
