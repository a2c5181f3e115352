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

/* Each test file defines a table of its tests and registers it here. */
void unit_run(const char *suite, const struct unit_test *tests, size_t n);

#endif
