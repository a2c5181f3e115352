/*
 * test_deadline.c - the whole-request deadline (src/deadline.c) on socket
 * pairs, no server: a request still arriving after the limit has its socket
 * shut down; one that has arrived, or whose descriptor now names another
 * socket, is left alone.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "helpers.h"
#include "unit.h"

void suite_deadline(void);

/* Whether socket fd has been shut down for reading: a read that does not
 * wait says end of stream instead of "nothing yet". */
static bool is_cut(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

/* Whether bytes still go from a to b. */
static bool carries(int a, int b)
{
	char c = 0;

	return send(a, "x", 1, MSG_NOSIGNAL) == 1 && recv(b, &c, 1, MSG_DONTWAIT) == 1 && c == 'x';
}

/* How many connections the reaper's log lines in `said` say it closed late
 * (over the deadline of 1 s); -1 when a line says otherwise. */
static int closed(const char *said)
{
	const char *p = said;
	int n = 0;

	while (p && (p = strstr(p, "\"msg\":\"closed connections without a whole request\""))) {
		p = strstr(p, "\"late\":");
		if (!p || !strstr(p, "\"timeout_s\":1"))
			return -1;
		p += strlen("\"late\":");
		n += (int)strtol(p, NULL, 10);
	}
	return n;
}

static void reaps_slow_requests(void)
{
	int slow[2], done[2], again[2], reused[2], other[2];
	struct watch *ws, *wd, *wa, *wr;
	struct capture cap;
	int64_t start, cut_at = 0;
	char *said;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, slow) || socketpair(AF_UNIX, SOCK_STREAM, 0, done) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, again) || socketpair(AF_UNIX, SOCK_STREAM, 0, reused) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, other)) {
		CHECK(!"socketpair");
		return;
	}
	capture_begin(&cap, 2);
	CHECK(deadline_start(1, 1000, 1000) == 0);
	start = clock_ms(CLOCK_MONOTONIC);
	ws = deadline_open(slow[0]);
	wd = deadline_open(done[0]);
	wa = deadline_open(again[0]);
	wr = deadline_open(reused[0]);
	deadline_arrived(wd);
	deadline_arrived(wa);
	deadline_next(wa); /* answered: the next request's clock runs */
	/* the number now names another socket: not the one watched */
	CHECK(dup2(other[0], reused[0]) == reused[0]);
	while (clock_ms(CLOCK_MONOTONIC) - start < 3000 && !cut_at) {
		usleep(20000);
		if (is_cut(slow[0]))
			cut_at = clock_ms(CLOCK_MONOTONIC);
	}
	/* the answered one's clock began a moment later: it may fall to the next
	 * scan (every 200 ms), later still on a loaded machine */
	while (clock_ms(CLOCK_MONOTONIC) - start < 5000 && !is_cut(again[0]))
		usleep(20000);
	usleep(500000); /* two more scans, so a wrong cut of the others shows */
	deadline_stop();
	said = capture_end(&cap);

	CHECK(cut_at && cut_at - start >= 1000);
	CHECK(is_cut(slow[1]) || !carries(slow[1], slow[0]));
	CHECK(is_cut(again[0]));
	CHECK(!is_cut(done[0]) && carries(done[1], done[0]) && carries(done[0], done[1]));
	CHECK(!is_cut(reused[0]) && carries(other[1], reused[0]));
	CHECK(closed(said) == 2);
	if (closed(said) != 2)
		fprintf(stderr, "  the reaper said: %s", said ? said : "(nothing)");
	free(said);
	deadline_close(ws);
	deadline_close(wd);
	deadline_close(wa);
	deadline_close(wr);
	close(slow[0]);
	close(slow[1]);
	close(done[0]);
	close(done[1]);
	close(again[0]);
	close(again[1]);
	close(reused[0]);
	close(reused[1]);
	close(other[0]);
	close(other[1]);
}

/*
 * Busy: capacity 8, so over 6 open is busy.  Eight connections still
 * arriving: the two oldest are cut at once (not after the 60 s deadline),
 * the rest only once they have waited over the busy timeout (300 ms) while
 * still busy; one whose request has arrived is never cut; once few enough
 * are open, nothing more is.
 */
static void busy_cuts_oldest_first(void)
{
	int sp[9][2], i;
	struct watch *w[9];
	struct capture cap;
	int64_t start;
	char *said;

	for (i = 0; i < 9; i++)
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp[i])) {
			CHECK(!"socketpair");
			return;
		}
	capture_begin(&cap, 2);
	CHECK(deadline_start(60, 8, 300) == 0);
	start = clock_ms(CLOCK_MONOTONIC);
	w[8] = deadline_open(sp[8][0]);
	deadline_arrived(w[8]); /* being answered: never cut */
	for (i = 0; i < 8; i++) {
		w[i] = deadline_open(sp[i][0]);
		usleep(5000); /* each a little younger than the one before */
	}
	usleep(250000); /* woken at the 7th open; a scan every 200 ms besides */
	CHECK(is_cut(sp[0][0]) && is_cut(sp[1][0]) && is_cut(sp[2][0]));
	CHECK(!is_cut(sp[3][0]) && !is_cut(sp[7][0]));
	/* 6 open now (3 cut, closed below): busy no more, nobody else is cut */
	deadline_close(w[0]);
	deadline_close(w[1]);
	deadline_close(w[2]);
	usleep(600000);
	CHECK(!is_cut(sp[3][0]) && !is_cut(sp[7][0]));
	/* two more: busy again, and those that waited over 300 ms go */
	w[0] = deadline_open(sp[0][1]);
	w[1] = deadline_open(sp[1][1]);
	usleep(300000);
	for (i = 3; i < 8; i++)
		CHECK(is_cut(sp[i][0]));
	CHECK(!is_cut(sp[8][0]) && carries(sp[8][1], sp[8][0]));
	CHECK(clock_ms(CLOCK_MONOTONIC) - start < 5000);
	deadline_stop();
	said = capture_end(&cap);
	CHECK(said && strstr(said, "\"busy\":"));
	free(said);
	for (i = 0; i < 9; i++) {
		if (i > 2 || i < 2)
			deadline_close(w[i]);
		close(sp[i][0]);
		close(sp[i][1]);
	}
}

/* NULL watches are fine; stopping twice is fine. */
static void null_and_stop(void)
{
	deadline_close(NULL);
	deadline_arrived(NULL);
	deadline_next(NULL);
	deadline_stop();
	CHECK(deadline_start(1, 1000, 1000) == 0);
	deadline_stop();
	deadline_stop();
}

void suite_deadline(void)
{
	static const struct unit_test t[] = {
		{ "reaps_slow_requests", reaps_slow_requests },
		{ "busy_cuts_oldest_first", busy_cuts_oldest_first },
		{ "null_and_stop", null_and_stop },
	};
	unit_run("deadline", t, sizeof(t) / sizeof(t[0]));
}
