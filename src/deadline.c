/*
 * deadline.c - a whole request must arrive within --timeout seconds.
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

#include "log.h"
#include "xalloc.h"
#include "banned.h"

#define SCAN_MS 200

struct watch {
	int fd;
	ino_t ino;
	int64_t since_ms; /* when the current request began to arrive */
	bool arriving;    /* false while answering */
	bool cut;         /* shut down already */
	struct watch *prev, *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct watch *head;
static pthread_t reaper;
static bool running, stopping;
static int64_t limit_ms;

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Shuts down every connection past its deadline; returns how many.  Lock
 * held. */
static int reap(int64_t now)
{
	struct watch *w;
	struct stat st;
	int cut = 0;

	for (w = head; w; w = w->next) {
		if (!w->arriving || w->cut || now - w->since_ms <= limit_ms)
			continue;
		if (fstat(w->fd, &st) || st.st_ino != w->ino)
			continue;
		shutdown(w->fd, SHUT_RDWR);
		w->cut = true;
		cut++;
	}
	return cut;
}

static void *reaper_main(void *arg)
{
	struct timespec until;
	int cut;

	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += SCAN_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&wake, &lock, &until);
		cut = stopping ? 0 : reap(now_ms());
		if (cut) { /* logged without the lock: stderr may block */
			pthread_mutex_unlock(&lock);
			log_msgf("warn", "closed %d connection%s whose request took over %lld s to arrive",
				 cut, cut == 1 ? "" : "s", (long long)(limit_ms / 1000));
			pthread_mutex_lock(&lock);
		}
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int deadline_start(unsigned seconds)
{
	limit_ms = (int64_t)seconds * 1000;
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
	w->since_ms = now_ms();
	w->arriving = true;
	pthread_mutex_lock(&lock);
	w->next = head;
	if (head)
		head->prev = w;
	head = w;
	pthread_mutex_unlock(&lock);
	return w;
}

void deadline_close(struct watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&lock);
	free(w);
}

void deadline_arrived(struct watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&lock);
	w->arriving = false;
	pthread_mutex_unlock(&lock);
}

void deadline_next(struct watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&lock);
	w->since_ms = now_ms();
	w->arriving = true;
	pthread_mutex_unlock(&lock);
}
