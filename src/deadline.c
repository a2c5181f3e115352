/*
 * deadline.c - a whole request must arrive within --timeout seconds, and a
 * crowd of connections that send nothing whole cannot fill the server.
 *
 * libmicrohttpd's connection timeout counts inactivity only, so a client
 * that sends one byte a second (headers or body) would hold a connection and
 * its memory as long as it liked.  Here every connection is watched from the
 * moment it opens, or its previous answer ended, until its request has fully
 * arrived; a reaper thread shuts down (shutdown(2), never close(2): the
 * descriptor stays libmicrohttpd's) the socket of every request still
 * arriving after the deadline, and libmicrohttpd then closes it as it would
 * a vanished client.
 *
 * Busy: when more than three quarters of the capacity (--max-connections)
 * are open, a connection without a whole request - a slow one, or an idle
 * keep-alive one waiting for its next request - is what gives way, as nginx
 * reuses its idle keep-alive connections when it runs out of them and as
 * HAProxy's "timeout http-request" bounds the wait for a request: the reaper
 * then closes every such connection that has waited over --busy-timeout,
 * and, oldest first, as many more as bring the open ones back under three
 * quarters.  The quarter above stays free for newcomers, who are therefore
 * accepted at once however many addresses the crowd comes from; a request
 * that has arrived (being answered, or a long-poll or stream) is never cut.
 *
 * The connections still arriving are kept on a list in the order their
 * clock started (a clock starts "now", under the lock, at the tail), so the
 * oldest are at its head: a scan every 200 ms, or at once when the server
 * turns busy, looks only at the connections it cuts and at one more, however
 * many are open.
 *
 * Before shutting a socket down the reaper checks that the descriptor still
 * names the socket it watched (its inode), so a number reused by a newer
 * connection is never touched.
 */
#include "deadline.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "xalloc.h"
#include "banned.h"

#define SCAN_MS 200

struct watch {
	int fd;
	ino_t ino;
	int64_t since_ms; /* when the current request began to arrive */
	bool arriving;    /* on the arriving list: false while answering */
	bool cut;         /* shut down (or found gone) already */
	struct watch *prev, *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct watch *head, *tail; /* arriving, oldest first */
static pthread_t reaper;
static bool running, stopping;
static int64_t limit_ms, busy_ms;
static unsigned open_now, cutting, high; /* cutting: cut, not yet closed */
static uint64_t cut_late, cut_busy;

/* Lock held, for this and the list functions below. */
static void unlink_watch(struct watch *w)
{
	if (!w->arriving)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		tail = w->prev;
	w->prev = w->next = NULL;
	w->arriving = false;
}

/* Its clock starts now, at the tail: the list stays in start order. */
static void append_watch(struct watch *w)
{
	w->since_ms = mono_ms();
	w->prev = tail;
	w->next = NULL;
	if (tail)
		tail->next = w;
	else
		head = w;
	tail = w;
	w->arriving = true;
}

/* Takes w off the list and shuts its socket down; false when the number
 * names another socket now (its connection is closing anyway). */
static bool cut(struct watch *w)
{
	struct stat st;

	unlink_watch(w);
	w->cut = true;
	cutting++;
	if (fstat(w->fd, &st) || st.st_ino != w->ino)
		return false;
	shutdown(w->fd, SHUT_RDWR);
	return true;
}

/* One scan: counts the cuts of each kind into *late and *busy. */
static void reap(int64_t now, int *late, int *busy)
{
	unsigned left = open_now - cutting;
	bool crowded = left > high;

	*late = *busy = 0;
	while (head && now - head->since_ms > limit_ms) {
		*late += cut(head);
		left--;
	}
	while (crowded && head && (left > high || now - head->since_ms > busy_ms)) {
		*busy += cut(head);
		left--;
	}
	cut_late += (uint64_t)*late;
	cut_busy += (uint64_t)*busy;
}

static void *reaper_main(void *arg)
{
	struct timespec until;
	int late, busy, log_late = 0, log_busy = 0;
	int64_t now, logged_ms = 0;
	unsigned open;

	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		until = clock_after_ms(CLOCK_REALTIME, SCAN_MS);
		pthread_cond_timedwait(&wake, &lock, &until);
		if (stopping)
			break;
		now = mono_ms();
		reap(now, &late, &busy);
		log_late += late;
		log_busy += busy;
		/* one line for the cuts of a scan period, however often the
		 * busy server woke the reaper in it; logged without the lock:
		 * stderr may block */
		if ((log_late || log_busy) && now - logged_ms >= SCAN_MS) {
			const struct log_field f[] = {
				{ "late", NULL, log_late, 0 },
				{ "busy", NULL, log_busy, 0 },
				{ "open", NULL, (open = open_now), 0 },
				{ "busy_above", NULL, high, 0 },
				{ "timeout_s", NULL, (double)(limit_ms / 1000), 0 },
			};

			log_late = log_busy = 0;
			logged_ms = now;
			pthread_mutex_unlock(&lock);
			log_fields("warn", "closed connections without a whole request", f,
				   sizeof(f) / sizeof(f[0]));
			pthread_mutex_lock(&lock);
		}
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int deadline_start(unsigned seconds, unsigned capacity, unsigned busy)
{
	limit_ms = (int64_t)seconds * 1000;
	busy_ms = busy;
	high = capacity - capacity / 4;
	stopping = false;
	if (pthread_create(&reaper, NULL, reaper_main, NULL)) {
		log_msgf("error", "cannot start the request deadline thread");
		return -1;
	}
	pthread_setname_np(reaper, "cmsd-deadline"); /* seen in top -H, perf */
	running = true;
	return 0;
}

void deadline_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(reaper, NULL);
	running = false;
}

struct watch *deadline_open(int fd)
{
	struct watch *w = xcalloc(1, sizeof(*w));
	struct stat st;

	w->fd = fd;
	w->ino = fstat(fd, &st) ? 0 : st.st_ino;
	pthread_mutex_lock(&lock);
	append_watch(w);
	open_now++;
	if (open_now - cutting > high) /* busy: make room now, not at the next scan */
		pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	return w;
}

void deadline_close(struct watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&lock);
	unlink_watch(w);
	open_now--;
	if (w->cut)
		cutting--;
	pthread_mutex_unlock(&lock);
	free(w);
}

void deadline_arrived(struct watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&lock);
	unlink_watch(w);
	pthread_mutex_unlock(&lock);
}

void deadline_next(struct watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&lock);
	if (!w->cut) {
		unlink_watch(w);
		append_watch(w);
	}
	pthread_mutex_unlock(&lock);
}

void deadline_counts(struct deadline_counts *out)
{
	pthread_mutex_lock(&lock);
	out->late = cut_late;
	out->busy = cut_busy;
	out->open = open_now;
	out->high = high;
	pthread_mutex_unlock(&lock);
}
