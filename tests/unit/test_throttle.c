/*
 * test_throttle.c - the failed-login limits (src/throttle.c): per login
 * name, per client address, in a window, and what each outcome of a check
 * gives back.  (test_auth.c holds the test of the two tables' separation.)
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "throttle.h"
#include "unit.h"

void suite_throttle(void);

/* n checks of (user, addr) in a row that all go ahead and end `how`; how
 * many went ahead. */
static int attempts(const char *user, const char *addr, int n, enum throttle_outcome how)
{
	int i, ahead = 0;

	for (i = 0; i < n; i++) {
		if (throttle_begin(user, addr))
			break;
		ahead++;
		throttle_end(user, addr, how);
	}
	return ahead;
}

static void restore(void)
{
	throttle_init(10, 100, 300); /* the defaults, as test_auth.c leaves them */
}

static void per_name(void)
{
	unsigned wait;

	throttle_init(3, 1000, 300);
	CHECK(attempts("ann", "10.0.0.1", 3, THROTTLE_FAILED) == 3);
	wait = throttle_begin("ann", "10.0.0.1");
	CHECK(wait > 0 && wait <= 300);
	/* the name is refused from any address; other names go ahead */
	CHECK(throttle_begin("ann", "10.0.0.2") > 0);
	CHECK(attempts("bob", "10.0.0.1", 1, THROTTLE_FAILED) == 1);
	/* a refused check is not counted: the wait does not grow */
	CHECK(throttle_begin("ann", "10.0.0.1") <= wait);
	restore();
}

static void success_clears_the_name(void)
{
	throttle_init(3, 1000, 300);
	CHECK(attempts("ann", "10.0.0.1", 2, THROTTLE_FAILED) == 2);
	CHECK(attempts("ann", "10.0.0.1", 1, THROTTLE_OK) == 1);
	CHECK(attempts("ann", "10.0.0.1", 3, THROTTLE_FAILED) == 3);
	CHECK(throttle_begin("ann", "10.0.0.1") > 0);
	restore();
}

/* A check that did not happen (the store failed) is given back. */
static void void_gives_back(void)
{
	throttle_init(2, 2, 300);
	CHECK(attempts("ann", "10.0.0.1", 20, THROTTLE_VOID) == 20);
	CHECK(attempts("ann", "10.0.0.1", 2, THROTTLE_FAILED) == 2);
	CHECK(throttle_begin("ann", "10.0.0.1") > 0);
	restore();
}

static void per_address(void)
{
	char name[16];
	int i;

	throttle_init(100, 5, 300);
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		CHECK(attempts(name, "192.0.2.1", 1, THROTTLE_FAILED) == 1);
	}
	/* a sixth name from that address is refused; from another it is not */
	CHECK(throttle_begin("user5", "192.0.2.1") > 0);
	CHECK(attempts("user5", "192.0.2.2", 1, THROTTLE_FAILED) == 1);
	/* a success refunds the address's count: logins from one busy address
	 * (a proxy) that succeed never use it up */
	throttle_init(100, 2, 300);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		CHECK(attempts(name, "192.0.2.9", 1, THROTTLE_OK) == 1);
	}
	restore();
}

/* The count ends with its window. */
static void window_ends(void)
{
	time_t start;

	throttle_init(1, 100, 1);
	start = time(NULL);
	CHECK(attempts("ann", "10.0.0.1", 1, THROTTLE_FAILED) == 1);
	if (time(NULL) == start) /* else the window may already be over */
		CHECK(throttle_begin("ann", "10.0.0.1") == 1);
	while (time(NULL) < start + 2)
		usleep(50000);
	CHECK(attempts("ann", "10.0.0.1", 1, THROTTLE_FAILED) == 1);
	restore();
}

void suite_throttle(void)
{
	static const struct unit_test t[] = {
		{ "per_name", per_name },
		{ "success_clears_the_name", success_clears_the_name },
		{ "void_gives_back", void_gives_back },
		{ "per_address", per_address },
		{ "window_ends", window_ends },
	};
	unit_run("throttle", t, sizeof(t) / sizeof(t[0]));
}
