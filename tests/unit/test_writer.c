/*
 * test_writer.c - the group writer's thread (writer.c) on a real SQLite
 * store, driven as http.c drives it (admit, parse, hold, writer_submit),
 * at the moments the black-box tests cannot choose:
 *  - writer_abandon() empties the queue while the thread waits for a group
 *    to fill: the thread must wait again, not end (a later PUT would then
 *    hang for ever, and shutdown with it);
 *  - a PUT that must run alone (--faults) ends a group's wait at once
 *    instead of waiting out --write-wait behind it.
 *
 * How a wait is made to happen: writer_start() sets the mean gap between
 * PUTs to the whole wait W, and the thread waits for a group only while
 * that mean (weight 1/8 a PUT) is under W/2.  Five gaps of almost nothing
 * leave it at 0.51 W: six PUTs at once are run without a wait.  One more
 * PUT soon after brings it to about 0.45 W: its group waits, up to twice
 * the mean after it (0.9 W).  With W = 2 s that is a wait of 1.8 s, which
 * either test ends long before it would end by itself.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fixture.h"
#include "unit.h"
#include "writer.h"

void suite_writer(void);

#define MAPPING "/cms/configuration/voice/campaignLeadUserMapping"
#define WAIT_US 2000000u
#define BURST 6

/* Answers the writer has given back (its done callback), with a way to
 * wait for a count. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
} answers = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

static void on_done(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&answers.lock);
	answers.done++;
	pthread_cond_broadcast(&answers.cond);
	pthread_mutex_unlock(&answers.lock);
}

/* Waits up to ms for `n` answers in all; whether they came. */
static bool answered(int n, int ms)
{
	struct timespec until = clock_after_ms(CLOCK_REALTIME, ms);
	bool ok;

	pthread_mutex_lock(&answers.lock);
	while (answers.done < n &&
	       pthread_cond_timedwait(&answers.cond, &answers.lock, &until) == 0)
		;
	ok = answers.done >= n;
	pthread_mutex_unlock(&answers.lock);
	return ok;
}

/* The answers given back so far (the writer's thread may be adding one). */
static int answers_now(void)
{
	int n;

	pthread_mutex_lock(&answers.lock);
	n = answers.done;
	pthread_mutex_unlock(&answers.lock);
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* Hands the writer a PUT by A's Supervisor that assigns (or unassigns) A's
 * Agent to the fixture's lead, as http.c does; false (CHECKed) when the
 * pipeline refused it before the writer. */
static bool submit(struct exchange *x, const struct fixture *f, bool assign)
{
	const char *agent = fixture_user_id[A_AGENT];

	ex_start(x, f, A_SUP, "PUT", MAPPING);
	ex_body(x, "{\"leadId\":%lld,\"campaignId\":%lld,\"assignedUserIds\":[%s%s%s],"
		   "\"unassignedUserIds\":[%s%s%s]}",
		(long long)f->lead, (long long)f->campaign, assign ? "\"" : "",
		assign ? agent : "", assign ? "\"" : "", assign ? "" : "\"", assign ? "" : agent,
		assign ? "" : "\"");
	if (!ex_admit(x) || !request_parse(&x->rq, &x->rp)) {
		CHECK(!"the PUT was refused before the writer");
		return false;
	}
	request_hold(&x->rq);
	writer_submit(&x->rq, &x->rp, on_done, NULL);
	return true;
}

/* The answer of x, once the writer gave it back: its status. */
static unsigned finish(struct exchange *x)
{
	reply_finish(&x->rp, x->rq.id, &x->a);
	x->json = answer_json(&x->a);
	return x->a.status;
}

/* The store, the writer on it (W = WAIT_US), and BURST PUTs at once run and
 * answered 200, so that the next PUT's group waits to fill; -1 when any of
 * it failed (CHECKed). */
static int start(struct fixture *f)
{
	struct exchange x[BURST];
	char url[64];
	int i, rc = 0;

	if (fixture_open(f))
		return -1;
	snprintf(url, sizeof(url), "sqlite:%s/x.db", f->dir);
	answers.done = 0;
	if (writer_start(url, 64, WAIT_US)) {
		CHECK(!"writer_start");
		fixture_close(f);
		return -1;
	}
	request_groups(true);
	for (i = 0; i < BURST; i++)
		if (!submit(&x[i], f, i % 2 == 0))
			rc = -1;
	if (!rc && !answered(BURST, 10000)) {
		CHECK(!"the first PUTs were not answered in 10 s");
		rc = -1;
	}
	for (i = 0; i < BURST && !rc; i++) {
		CHECK(finish(&x[i]) == 200);
		ex_end(&x[i]);
	}
	answers.done = 0;
	return rc;
}

static void stop(struct fixture *f)
{
	writer_stop();
	request_groups(false);
	fixture_faults(false);
	fixture_close(f);
}

/* start(), then PUT X (an unassignment), whose group the thread is waiting
 * to fill 100 ms later; -1 when that could not be had (CHECKed).  On a
 * machine so loaded that the first PUTs took most of a second, X's group
 * runs at once (the mean gap was over W/2 by then): then it begins again,
 * up to three times, rather than test what it did not set up. */
static int gathering(struct fixture *f, struct exchange *x)
{
	int attempt;

	for (attempt = 0; attempt < 3; attempt++) {
		if (start(f))
			return -1;
		if (!submit(x, f, false)) {
			stop(f);
			return -1;
		}
		sleep_ms(100); /* the thread is in its timed wait by now */
		if (answers_now() == 0)
			return 0;
		fprintf(stderr, "  X's group did not wait (a slow machine?): again\n");
		answered(1, 5000);
		finish(x);
		ex_end(x);
		stop(f);
	}
	CHECK(!"no group waited to fill in three attempts");
	return -1;
}

/* writer_abandon() while the thread waits for X's group to fill: X is
 * answered 503, and a PUT after the wait would have ended is still run. */
static void abandon_while_gathering(void)
{
	struct fixture f;
	struct exchange x, y;

	if (gathering(&f, &x))
		return;
	writer_abandon();
	CHECK(answers_now() == 1);
	CHECK(finish(&x) == 503 && ex_error(&x, 503, "SYS-1003"));
	ex_end(&x);
	/* past the end of that wait: an old writer had ended its thread there */
	sleep_ms(WAIT_US / 1000 + 300);
	if (!submit(&y, &f, true))
		goto out;
	if (answered(2, 5000)) {
		CHECK(finish(&y) == 200);
		CHECK(fixture_mapped(&f, f.campaign_lead, fixture_user_id[A_AGENT]));
	} else {
		CHECK(!"a PUT after writer_abandon() was not answered in 5 s");
		writer_abandon(); /* y leaves the queue before it leaves the stack */
		CHECK(answers_now() == 2);
	}
	ex_end(&y);
out:
	stop(&f);
}

/* A PUT that runs alone (--faults, no X-Cmsd-Group) queued behind X while
 * X's group waits to fill: both are answered at once, not after the wait. */
static void alone_ends_the_wait(void)
{
	struct fixture f;
	struct exchange x, z;
	int64_t t0, took;

	if (gathering(&f, &x))
		return;
	fixture_faults(true);
	t0 = mono_ns();
	if (!submit(&z, &f, true)) {
		answered(1, 5000);
		finish(&x);
		ex_end(&x);
		goto out;
	}
	if (!answered(2, 5000)) {
		CHECK(!"X and the PUT alone were not answered in 5 s");
		writer_abandon(); /* out of the queue before they leave the stack */
	}
	took = (mono_ns() - t0) / 1000000;
	/* the wait would have lasted about 1.7 s more */
	if (took >= 800)
		fprintf(stderr, "  both answered %lld ms after the PUT alone\n", (long long)took);
	CHECK(took < 800);
	CHECK(finish(&x) == 200);
	CHECK(finish(&z) == 200);
	/* in the order queued: X unassigned, then Z assigned */
	CHECK(fixture_mapped(&f, f.campaign_lead, fixture_user_id[A_AGENT]));
	ex_end(&x);
	ex_end(&z);
out:
	stop(&f);
}

void suite_writer(void)
{
	static const struct unit_test tests[] = {
		{ "abandon while gathering: the thread waits again", abandon_while_gathering },
		{ "a PUT alone ends a group's wait", alone_ends_the_wait },
	};

	unit_run("writer", tests, sizeof(tests) / sizeof(tests[0]));
}
