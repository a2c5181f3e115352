/*
 * unit.h - the smallest test harness: CHECK records a failure and goes on;
 * each TEST is one line of output; main() ends with "N passed, N failed".
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>

extern int unit_failed_checks;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__,  \
				__LINE__, #cond);                              \
			unit_failed_checks++;                                  \
		}                                                              \
	} while (0)

typedef void (*unit_fn)(void);

struct unit_test {
	const char *name;
	unit_fn fn;
};

/* Each test file defines a table of its tests and registers it here; the
 * suite runs only when unit_selected() says so. */
void unit_run(const char *suite, const struct unit_test *tests, size_t n);
/* Whether the command line selects `suite`: no arguments select every
 * suite; an argument selects the suite of that name and those named after
 * it and '_' ("store" selects "store" and "store_pg").  A suite that must set
 * something up first asks before doing so. */
int unit_selected(const char *suite);

#endif
