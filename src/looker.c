/*
 * looker.c - the shared looks of looker.h.
 *
 * The queue is a list under one lock; the thread takes every look waiting
 * (at most MAX_LOOKS) and asks for them in one statement, then wakes each
 * request.  A look fails as a whole or not at all: on failure (the
 * statement is run again after a reconnect, so the store is down) each
 * request is woken with its look failed, and answers the store's error
 * without asking it again.
 */
#include "looker.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "cache.h"
#include "clock.h"
#include "store_thread.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_LOOKS 256 /* one statement's arrays: a few KiB of text */

struct job {
	struct store_look *lk;
	void (*done)(void *);
	void *ctx;
	struct job *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct job *head, *tail;
	bool stop, running;
	unsigned looking;     /* looks being taken: the thread's, workers' own */
	int64_t began, ended; /* ns (monotonic): the last look's */
	unsigned delay_ms;    /* --look-delay (tests only) */
	pthread_t thread;
	struct store *s;
} L = { .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER };

bool looker_running(void)
{
	return L.running;
}

bool looker_here(void)
{
	int64_t now = mono_ns();
	bool here;

	pthread_mutex_lock(&L.lock);
	here = !L.head && !L.looking && now - L.ended >= L.ended - L.began;
	if (here) {
		L.looking++;
		L.began = now;
	}
	pthread_mutex_unlock(&L.lock);
	return here;
}

void looker_here_done(void)
{
	if (L.delay_ms) { /* tests: the statement took this much longer */
		struct timespec d = { L.delay_ms / 1000, (long)(L.delay_ms % 1000) * 1000000 };

		while (nanosleep(&d, &d) && errno == EINTR)
			; /* the rest of it */
	}
	pthread_mutex_lock(&L.lock);
	L.looking--;
	L.ended = mono_ns();
	pthread_mutex_unlock(&L.lock);
}

void looker_submit(struct store_look *lk, void (*done)(void *), void *ctx)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->lk = lk;
	j->done = done;
	j->ctx = ctx;
	pthread_mutex_lock(&L.lock);
	if (L.tail)
		L.tail->next = j;
	else
		L.head = j;
	L.tail = j;
	pthread_cond_signal(&L.more);
	pthread_mutex_unlock(&L.lock);
}

/* Takes every job queued, at most MAX_LOOKS, into g[]; 0 when stopping
 * with nothing queued. */
static size_t take(struct job **g)
{
	size_t n = 0;

	pthread_mutex_lock(&L.lock);
	while (!L.head && !L.stop)
		pthread_cond_wait(&L.more, &L.lock);
	while (L.head && n < MAX_LOOKS) {
		g[n++] = L.head;
		L.head = L.head->next;
	}
	if (!L.head)
		L.tail = NULL;
	if (n) {
		L.looking++;
		L.began = mono_ns();
	}
	pthread_mutex_unlock(&L.lock);
	return n;
}

static void *looker_main(void *arg)
{
	struct job *g[MAX_LOOKS];
	struct store_look *lks[MAX_LOOKS];
	size_t n, i;

	(void)arg;
	/* one list statement, planned once: it fails here only with the
	 * connection, which the first look then finds again */
	(void)store_plans_once(L.s);
	while ((n = take(g))) {
		for (i = 0; i < n; i++)
			lks[i] = g[i]->lk;
		(void)store_look_many(L.s, lks, n); /* failed: each says so */
		looker_here_done();
		for (i = 0; i < n; i++) {
			g[i]->done(g[i]->ctx);
			free(g[i]);
		}
	}
	return NULL;
}

int looker_start(const char *url, unsigned delay_ms)
{
	if (!cache_enabled() || !store_url_looks_many(url))
		return 0;
	L.stop = false;
	L.delay_ms = delay_ms;
	if (store_thread_start(url, "looker", "cmsd-look", looker_main, &L.thread, &L.s))
		return -1;
	L.running = true;
	return 0;
}

void looker_abandon(void)
{
	struct job *j;

	for (;;) {
		pthread_mutex_lock(&L.lock);
		j = L.head;
		if (j) {
			L.head = j->next;
			if (!L.head)
				L.tail = NULL;
		}
		pthread_mutex_unlock(&L.lock);
		if (!j)
			break;
		j->lk->done = false;
		j->done(j->ctx);
		free(j);
	}
}

void looker_stop(void)
{
	if (!L.running)
		return;
	store_thread_stop(&L.lock, &L.more, &L.stop, L.thread, &L.s);
	L.running = false;
}
