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

/* How many connections the reaper's log lines in `said` say it closed. */
static int closed(const char *said)
{
	const char *p = said;
	int n = 0;

	while (p && (p = strstr(p, "\"msg\":\"closed "))) {
		p += strlen("\"msg\":\"closed ");
		n += (int)strtol(p, NULL, 10);
		if (!strstr(p, "whose request took over 1 s to arrive"))
			return -1;
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
	CHECK(deadline_start(1) == 0);
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

/* NULL watches are fine; stopping twice is fine. */
static void null_and_stop(void)
{
	deadline_close(NULL);
	deadline_arrived(NULL);
	deadline_next(NULL);
	deadline_stop();
	CHECK(deadline_start(1) == 0);
	deadline_stop();
	deadline_stop();
}

void suite_deadline(void)
{
	static const struct unit_test t[] = {
		{ "reaps_slow_requests", reaps_slow_requests },
		{ "null_and_stop", null_and_stop },
	};
	unit_run("deadline", t, sizeof(t) / sizeof(t[0]));
}
