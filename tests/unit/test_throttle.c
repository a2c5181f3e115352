/*
 * test_throttle.c - the failed-login limits (src/throttle.c): per login
 * name, per client address, in a window, and what each outcome of a check
 * gives back; that nobody is refused for what others did, and that a flood
 * of junk names neither refuses real users nor wipes their counters.
 * (test_auth.c holds the test of the tables' separation.)
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
	/* the name is refused from any address that has failed itself... */
	CHECK(attempts("bob", "10.0.0.2", 1, THROTTLE_FAILED) == 1);
	CHECK(throttle_begin("ann", "10.0.0.2") > 0);
	/* ...but not from one that has not (issue 14: nobody is locked out
	 * by others' failures); other names go ahead */
	CHECK(attempts("ann", "10.0.0.3", 1, THROTTLE_OK) == 1);
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

/* Failures of one name from many addresses (a distributed guesser) refuse
 * each of them once the name is at its limit, but a clean address still
 * gets its check; and its first failure makes it dirty at once. */
static void hammered_name(void)
{
	char addr[32];
	int i;

	throttle_init(3, 1000, 300);
	for (i = 0; i < 50; i++) {
		snprintf(addr, sizeof(addr), "10.1.0.%d", i);
		attempts("ann", addr, 2, THROTTLE_FAILED);
	}
	CHECK(throttle_begin("ann", "10.1.0.7") > 0);
	CHECK(throttle_begin("ann", "10.9.9.9") == 0);
	throttle_end("ann", "10.9.9.9", THROTTLE_FAILED);
	CHECK(throttle_begin("ann", "10.9.9.9") > 0);
	CHECK(attempts("ann", "10.9.9.8", 1, THROTTLE_OK) == 1);
	restore();
}

/* issue 14: 20,000 junk names failing from a few addresses took the whole
 * table (half of it, the odd slots); real users were then refused.  Now
 * they go ahead, and a counter with more failures than the junk survives. */
static void junk_flood(void)
{
	char name[32], addr[32];
	int i, ahead = 0;

	throttle_init(3, 1000000, 300);
	CHECK(attempts("victim", "10.2.0.1", 2, THROTTLE_FAILED) == 2);
	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "junk%d", i);
		snprintf(addr, sizeof(addr), "10.3.0.%d", i % 8);
		attempts(name, addr, 1, THROTTLE_FAILED);
	}
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "real%d", i);
		ahead += attempts(name, "10.4.0.1", 1, THROTTLE_OK);
	}
	CHECK(ahead == 20);
	/* the victim's two failures were kept: one more, then refused */
	CHECK(attempts("victim", "10.2.0.1", 5, THROTTLE_FAILED) == 1);
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

/* The hashers' lane (issue 14 point 3): an address, or any address of its
 * network (IPv4 /24, IPv6 /64, IPv4-mapped as IPv4), that has failed or
 * has a check under way is "failed"; a success gives the check back. */
static void failed_lane_by_network(void)
{
	throttle_init(10, 100, 300);
	CHECK(!throttle_addr_failed("10.5.1.7"));
	CHECK(attempts("ann", "10.5.1.7", 1, THROTTLE_FAILED) == 1);
	CHECK(throttle_addr_failed("10.5.1.7"));
	CHECK(throttle_addr_failed("10.5.1.200"));
	CHECK(throttle_addr_failed("::ffff:10.5.1.9"));
	CHECK(!throttle_addr_failed("10.5.2.7"));
	CHECK(!throttle_addr_failed("10.6.1.7"));
	/* a check under way counts; given back by a success */
	CHECK(throttle_begin("bob", "10.7.0.1") == 0);
	CHECK(throttle_addr_failed("10.7.0.99"));
	throttle_end("bob", "10.7.0.1", THROTTLE_OK);
	CHECK(!throttle_addr_failed("10.7.0.99"));
	CHECK(attempts("ann", "2001:db8:1:2::5", 1, THROTTLE_FAILED) == 1);
	CHECK(throttle_addr_failed("2001:db8:1:2:ffff::1"));
	CHECK(!throttle_addr_failed("2001:db8:1:3::5"));
	CHECK(!throttle_addr_failed("not-an-address"));
	restore();
}

void suite_throttle(void)
{
	static const struct unit_test t[] = {
		{ "per_name", per_name },
		{ "hammered_name", hammered_name },
		{ "junk_flood", junk_flood },
		{ "success_clears_the_name", success_clears_the_name },
		{ "void_gives_back", void_gives_back },
		{ "per_address", per_address },
		{ "window_ends", window_ends },
		{ "failed_lane_by_network", failed_lane_by_network },
	};
	unit_run("throttle", t, sizeof(t) / sizeof(t[0]));
}
