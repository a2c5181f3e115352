/*
 * main.c - runs every suite of tests/unit and prints "N passed, N failed".
 */
#include <sodium.h>
#include <stdio.h>

#include "auth.h"
#include "unit.h"

int unit_failed_checks;
static int passed, failed;

void unit_run(const char *suite, const struct unit_test *tests, size_t n)
{
	size_t i;

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
	}
}

void suite_json(void);
void suite_auth(void);
void suite_http(void);
void suite_router(void);
void suite_errors(void);
void suite_config(void);
void suite_cmsurl(void);
void suite_csv(void);
void suite_cli_opts(void);
void suite_cli_command(void);

int main(void)
{
	if (sodium_init() < 0 || auth_init("min"))
		return 2;
	suite_json();
	suite_auth();
	suite_http();
	suite_router();
	suite_errors();
	suite_config();
	suite_cmsurl();
	suite_csv();
	suite_cli_opts();
	suite_cli_command();
	auth_release();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
